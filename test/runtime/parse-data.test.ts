import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { compile } from 'zod/v4/core';
import { DataIssues, parseData } from '../../functions/runtime/parse-data.ts';

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
