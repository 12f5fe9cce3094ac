import { describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/runtime/log.ts';

/** A logger bound to `fields` and the lines it writes. */
function capture(fields: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = createLogger(fields, 'DEBUG', (line) => lines.push(line));
  return { logger, lines };
}

describe('structured logger', () => {
  it('writes the timestamp, level and message, then the bound fields, then the extra fields', () => {
    // GIVEN a logger bound to a pipeline and a stage with a quote in its name
    const { logger, lines } = capture({ pipeline: 'docs', stage: 'embed "v2"' });
    // WHEN
    logger.warn('Dead-lettered a record', { messageId: 'm-1', receiveCount: 3, error: 'path "a": bad' });
    // THEN
    const line = JSON.parse(lines[0] ?? '');
    expect(Object.keys(line)).toEqual([
      'timestamp',
      'level',
      'message',
      'pipeline',
      'stage',
      'messageId',
      'receiveCount',
      'error',
    ]);
    expect(line).toMatchObject({
      level: 'WARN',
      message: 'Dead-lettered a record',
      stage: 'embed "v2"',
      receiveCount: 3,
      error: 'path "a": bad',
    });
    expect(new Date(line.timestamp).toISOString()).toBe(line.timestamp);
  });

  it('lets an extra field replace a bound field of the same name, where the bound field stood', () => {
    // GIVEN
    const { logger, lines } = capture({ pipeline: 'docs', stage: 'embed' });
    // WHEN
    logger.info('moved', { stage: 'extract', jobId: 'j-1' });
    // THEN
    const line = JSON.parse(lines[0] ?? '');
    expect(Object.keys(line)).toEqual(['timestamp', 'level', 'message', 'pipeline', 'stage', 'jobId']);
    expect(line.stage).toBe('extract');
    expect(lines[0]?.match(/"stage"/g)).toHaveLength(1);
  });

  it('leaves out fields without a value, and writes an Error as its name and message', () => {
    // GIVEN
    const { logger, lines } = capture({ stage: 'embed' });
    // WHEN
    logger.error('failed', { jobId: undefined, error: new TypeError('boom') });
    logger.info('nothing extra', {});
    // THEN
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ stage: 'embed', error: { name: 'TypeError', message: 'boom' } });
    expect(JSON.parse(lines[0] ?? '')).not.toHaveProperty('jobId');
    expect(Object.keys(JSON.parse(lines[1] ?? ''))).toEqual(['timestamp', 'level', 'message', 'stage']);
  });

  it('writes the bound fields as they are when one is an object', () => {
    // GIVEN a bound field that is an object, changed after the logger was made
    const tenant = { id: 't-1' };
    const { logger, lines } = capture({ stage: 'embed', tenant });
    tenant.id = 't-2';
    // WHEN
    logger.info('hello', { jobId: 'j-1' });
    // THEN
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ tenant: { id: 't-2' }, jobId: 'j-1' });
  });
});
