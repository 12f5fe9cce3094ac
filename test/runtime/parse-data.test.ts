import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { compile } from 'zod/v4/core';
import { DataIssues, dataParser, hasKnownInternals, parseData } from '../../functions/runtime/parse-data.ts';

const Order = z.strictObject({ orderId: z.string().min(1), quantity: z.int().min(1).max(100) });
const compiled = compile(Order, { strict: true });

describe('parseData', () => {
  it('returns the parsed data of a valid record', () => {
    expect(parseData(compiled, { orderId: 'a', quantity: 2 })).toEqual({ orderId: 'a', quantity: 2 });
  });

  it('lists each issue of an invalid record as path: message', () => {
    // WHEN
    const result = parseData(compiled, { orderId: '', quantity: 500, extra: true });
    // THEN
    expect(result).toBeInstanceOf(DataIssues);
    const issues = (result as DataIssues).issues;
    expect(issues).toEqual(
      expect.arrayContaining([expect.stringMatching(/^orderId: /), expect.stringMatching(/^quantity: .*100/)]),
    );
    expect(issues.some((issue) => issue.startsWith('(root): '))).toBe(true);
  });

  it('parses valid records the same after an invalid one', () => {
    // GIVEN a failed parse (zod's compiled parser marks the run's context when it falls back)
    parseData(compiled, { orderId: 7 });
    // WHEN / THEN the next valid record still parses, and the next invalid one still lists its issue
    expect(parseData(compiled, { orderId: 'b', quantity: 1 })).toEqual({ orderId: 'b', quantity: 1 });
    expect((parseData(compiled, { orderId: 'c', quantity: 0 }) as DataIssues).issues).toEqual([
      expect.stringMatching(/^quantity: /),
    ]);
  });

  it('parses a schema with an async refinement asynchronously', async () => {
    // GIVEN a schema a synchronous parse refuses
    const Checked = Order.refine(async (order) => order.orderId !== 'blocked', { message: 'order is blocked' });
    // WHEN / THEN
    await expect(parseData(Checked, { orderId: 'a', quantity: 1 })).resolves.toEqual({ orderId: 'a', quantity: 1 });
    const blocked = await parseData(Checked, { orderId: 'blocked', quantity: 1 });
    expect((blocked as DataIssues).issues).toEqual(['(root): order is blocked']);
  });
});

describe('dataParser', () => {
  it('takes the fast path for a schema of this zod version', () => {
    // GIVEN / WHEN / THEN
    expect(hasKnownInternals(compiled)).toBe(true);
    expect((dataParser(compiled)({ orderId: 'a', quantity: 0 }) as DataIssues).issues).toEqual([
      expect.stringMatching(/^quantity: /),
    ]);
  });

  it('falls back to the schema’s own Standard Schema validate for a schema of another zod minor', () => {
    // GIVEN a schema whose internals report another minor version (as one built by another zod 4.x would)
    const other = z.strictObject({ orderId: z.string().min(1), items: z.array(z.int().min(1)) });
    (other._zod as { version: object }).version = { ...other._zod.version, minor: other._zod.version.minor + 1 };
    const validate = vi.spyOn(other['~standard'], 'validate');
    const parse = dataParser(other);
    // WHEN
    const valid = parse({ orderId: 'a', items: [1] });
    const invalid = parse({ orderId: '', items: [1, 0], extra: 1 });
    // THEN the public interface ran, with the same `path: message` issues as the fast path
    expect(hasKnownInternals(other)).toBe(false);
    expect(validate).toHaveBeenCalledTimes(2);
    expect(valid).toEqual({ orderId: 'a', items: [1] });
    expect((invalid as DataIssues).issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^orderId: /),
        expect.stringMatching(/^items\.1: /),
        expect.stringMatching(/^\(root\): /),
      ]),
    );
  });

  it('falls back when the internals have no run function', async () => {
    // GIVEN a schema-like object with an unexpected internal shape but a Standard Schema validate
    const odd = {
      _zod: { version: { major: 4, minor: 0, patch: 0 } },
      '~standard': {
        version: 1,
        vendor: 'zod',
        validate: async (value: unknown) =>
          typeof value === 'string' ? { value } : { issues: [{ message: 'expected a string', path: [{ key: 'id' }] }] },
      },
    } as unknown as Parameters<typeof dataParser>[0];
    // WHEN / THEN (an async validate comes back as a promise)
    const parse = dataParser(odd);
    await expect(parse('x')).resolves.toBe('x');
    expect(((await parse(1)) as DataIssues).issues).toEqual(['id: expected a string']);
  });

  it('fails if the schema has neither zod 4 internals nor a Standard Schema validate', () => {
    expect(() => dataParser({} as Parameters<typeof dataParser>[0])).toThrow(/zod 4 .*Standard Schema/);
  });
});
