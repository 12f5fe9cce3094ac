import { type Duration, Token } from 'aws-cdk-lib';
import type { Range } from '../definition/index.ts';

/** A duration in seconds, or `undefined` when it is absent or not known until deployment (a token). */
export function knownSeconds(duration: Duration | undefined): number | undefined {
  if (duration === undefined) {
    return undefined;
  }
  const value = duration.toSeconds({ integral: false });
  return Token.isUnresolved(value) ? undefined : value;
}

/** A number, or `undefined` when it is absent or a token. */
export function knownNumber(value: number | undefined): number | undefined {
  return value === undefined || Token.isUnresolved(value) ? undefined : value;
}

/** Adds `field must be an integer between min and max unit, but value was provided` when a known value is out of range. */
export function checkRange(
  problems: string[],
  field: string,
  value: number | undefined,
  range: Range,
  unit = '',
): void {
  const known = knownNumber(value);
  if (known === undefined) {
    return;
  }
  if (!Number.isInteger(known) || known < range.min || known > range.max) {
    problems.push(
      `${field} must be an integer between ${range.min} and ${range.max}${unit}, but ${known} was provided`,
    );
  }
}
