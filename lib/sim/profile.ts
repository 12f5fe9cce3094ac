import { ProfileError } from './errors.ts';

/**
 * Arrival profiles: the offered request rate as a function of simulated time. Producers are open-loop (a rejected
 * request is not sent again), like `sluice load`.
 */

/** A piecewise-constant rate: `ratePerSecond` from `atSeconds` until the next point. */
export interface RatePoint {
  readonly atSeconds: number;
  readonly ratePerSecond: number;
}

/** How requests arrive. */
export type ArrivalProfile =
  | { readonly kind: 'constant'; readonly ratePerSecond: number }
  /** Linear from `fromPerSecond` to `toPerSecond` over the whole run. */
  | { readonly kind: 'ramp'; readonly fromPerSecond: number; readonly toPerSecond: number }
  /** `basePerSecond`, and `burstPerSecond` from `startSeconds` for `lengthSeconds`. */
  | {
      readonly kind: 'burst';
      readonly basePerSecond: number;
      readonly burstPerSecond: number;
      readonly startSeconds: number;
      readonly lengthSeconds: number;
    }
  /** A sine around `meanPerSecond`: mean × (1 + amplitude × sin(2π t / period − π/2)), lowest at t = 0. */
  | {
      readonly kind: 'diurnal';
      readonly meanPerSecond: number;
      readonly amplitude: number;
      readonly periodSeconds: number;
    }
  /** Steps (a CSV of `seconds,rate`, or phases such as the demo's). */
  | { readonly kind: 'steps'; readonly points: readonly RatePoint[] };

/** The offered rate (requests per second) at simulated time `t` of a run lasting `durationSeconds`. */
export function rateAt(profile: ArrivalProfile, t: number, durationSeconds: number): number {
  switch (profile.kind) {
    case 'constant':
      return profile.ratePerSecond;
    case 'ramp': {
      const share = durationSeconds > 0 ? Math.min(1, Math.max(0, t / durationSeconds)) : 1;
      return profile.fromPerSecond + (profile.toPerSecond - profile.fromPerSecond) * share;
    }
    case 'burst':
      return t >= profile.startSeconds && t < profile.startSeconds + profile.lengthSeconds
        ? profile.burstPerSecond
        : profile.basePerSecond;
    case 'diurnal':
      return Math.max(
        0,
        profile.meanPerSecond *
          (1 + profile.amplitude * Math.sin((2 * Math.PI * t) / profile.periodSeconds - Math.PI / 2)),
      );
    case 'steps': {
      let rate = 0;
      for (const point of profile.points) {
        if (point.atSeconds > t) break;
        rate = point.ratePerSecond;
      }
      return rate;
    }
  }
}

/** The sluice demo's arrivals: 2.5 × capacity for `overloadSeconds`, then 0.5 × capacity (see `lib/local/demo.ts`). */
export function demoProfile(capacityPerSecond: number, overloadSeconds: number): ArrivalProfile {
  return {
    kind: 'steps',
    points: [
      { atSeconds: 0, ratePerSecond: capacityPerSecond * 2.5 },
      { atSeconds: overloadSeconds, ratePerSecond: capacityPerSecond * 0.5 },
    ],
  };
}

/**
 * Parses a profile given on the command line: `constant`, `ramp`, `burst`, `diurnal` with optional `:key=value,…`
 * parameters, or the text of a CSV (`seconds,rate` per line, header optional) for `csv`. `rate` is `--rate`.
 *
 * - `ramp[:from=R]` — from R (default 0) to `rate`;
 * - `burst[:base=R,start=S,length=S]` — `rate` for `length` s (default 60) from `start` (default a third of the run),
 *   `base` (default `rate` / 5) otherwise;
 * - `diurnal[:amplitude=A,period=S]` — mean `rate`, amplitude 0–1 (default 0.8), period (default the run).
 */
export function parseProfile(
  spec: string,
  rate: number,
  durationSeconds: number,
  readCsv: (path: string) => string = () => {
    throw new ProfileError('csv profiles need a file reader');
  },
): ArrivalProfile {
  const [name = '', rest = ''] = splitOnce(spec, ':');
  if (name === 'csv') {
    if (!rest) throw new ProfileError('--profile csv needs a file: csv:PATH (lines of seconds,rate)');
    return parseRateCsv(readCsv(rest), rest);
  }
  const params = parseParams(rest, name);
  const take = (key: string, fallback: number, min: number, max: number): number => {
    const raw = params.get(key);
    params.delete(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new ProfileError(
        `--profile ${name}: ${key} must be a number between ${min} and ${max}, but '${raw}' was provided`,
      );
    }
    return value;
  };
  let profile: ArrivalProfile;
  switch (name) {
    case 'constant':
      profile = { kind: 'constant', ratePerSecond: rate };
      break;
    case 'ramp':
      profile = { kind: 'ramp', fromPerSecond: take('from', 0, 0, 10_000_000), toPerSecond: rate };
      break;
    case 'burst':
      profile = {
        kind: 'burst',
        basePerSecond: take('base', rate / 5, 0, 10_000_000),
        burstPerSecond: rate,
        startSeconds: take('start', Math.floor(durationSeconds / 3), 0, 10_000_000),
        lengthSeconds: take('length', Math.min(60, durationSeconds), 0.001, 10_000_000),
      };
      break;
    case 'diurnal':
      profile = {
        kind: 'diurnal',
        meanPerSecond: rate,
        amplitude: take('amplitude', 0.8, 0, 1),
        periodSeconds: take('period', durationSeconds, 1, 10_000_000),
      };
      break;
    default:
      throw new ProfileError(
        `--profile must be one of constant, ramp, burst, diurnal, csv:PATH, but '${spec}' was provided`,
      );
  }
  const unknown = [...params.keys()];
  if (unknown.length > 0) {
    throw new ProfileError(`--profile ${name} has no parameter ${unknown.map((key) => `'${key}'`).join(', ')}`);
  }
  return profile;
}

/** A CSV of `seconds,rate` lines (a header line and blank lines are skipped) as a step profile. */
export function parseRateCsv(text: string, label = 'csv'): ArrivalProfile {
  const points: RatePoint[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [first = '', second = ''] = trimmed.split(',').map((cell) => cell.trim());
    const atSeconds = Number(first);
    const ratePerSecond = Number(second);
    if (index === 0 && !Number.isFinite(atSeconds)) return; // header
    if (!Number.isFinite(atSeconds) || atSeconds < 0 || !Number.isFinite(ratePerSecond) || ratePerSecond < 0) {
      throw new ProfileError(
        `${label} line ${index + 1} must be 'seconds,rate' with two numbers of at least 0, but '${trimmed}' was provided`,
      );
    }
    const last = points.at(-1);
    if (last && atSeconds <= last.atSeconds) {
      throw new ProfileError(
        `${label} line ${index + 1}: seconds must increase from line to line, but ${atSeconds} follows ${last.atSeconds}`,
      );
    }
    points.push({ atSeconds, ratePerSecond });
  });
  if (points.length === 0) throw new ProfileError(`${label} holds no 'seconds,rate' line`);
  return { kind: 'steps', points };
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

function parseParams(text: string, name: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!text) return params;
  for (const pair of text.split(',')) {
    const [key, value] = splitOnce(pair, '=');
    if (!key || value === '') {
      throw new ProfileError(`--profile ${name}: parameters are key=value pairs, but '${pair}' was provided`);
    }
    params.set(key.trim(), value.trim());
  }
  return params;
}
