import { describe, expect, it } from 'vitest';
import { backoffSeconds, defaultClassify, PermanentError, TransientError } from '../../functions/runtime/index.ts';

describe('backoffSeconds', () => {
  it('grows exponentially up to the cap when the jitter draw is at its top', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5].map((count) => backoffSeconds(count, { baseSeconds: 2, maxSeconds: 20 }, top))).toEqual([
      2, 4, 8, 16, 20,
    ]);
  });

  it('is at least 1 second when the jitter draw is 0', () => {
    expect(backoffSeconds(7, {}, () => 0)).toBe(1);
  });

  it('stays within [1, min(max, base × 2^(n−1))] for every draw', () => {
    for (let receiveCount = 1; receiveCount <= 40; receiveCount++) {
      for (let draw = 0; draw < 50; draw++) {
        const seconds = backoffSeconds(receiveCount, { baseSeconds: 3, maxSeconds: 600 });
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(seconds).toBeLessThanOrEqual(Math.min(600, 3 * 2 ** (receiveCount - 1)));
      }
    }
  });

  it('never exceeds SQS 12-hour visibility limit', () => {
    expect(backoffSeconds(100, { baseSeconds: 60, maxSeconds: 1_000_000 }, () => 0.999_999)).toBe(43_200);
  });
});

describe('defaultClassify', () => {
  it('classifies sluice errors by class', () => {
    expect(defaultClassify(new PermanentError('x'))).toBe('permanent');
    expect(defaultClassify(new TransientError('x'))).toBe('transient');
  });

  it('treats AWS throttling and 5xx as transient and other 4xx as permanent', () => {
    const aws = (name: string, status: number) =>
      Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(defaultClassify(aws('ThrottlingException', 400))).toBe('transient');
    expect(defaultClassify(aws('InternalFailure', 500))).toBe('transient');
    expect(defaultClassify(aws('ValidationException', 400))).toBe('permanent');
  });

  it('treats unknown errors as transient', () => {
    expect(defaultClassify(new Error('?'))).toBe('transient');
    expect(defaultClassify('a string')).toBe('transient');
  });
});
