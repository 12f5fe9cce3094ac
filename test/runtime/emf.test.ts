import { describe, expect, it } from 'vitest';
import { batchMetricDocuments, joinMs } from '../../functions/runtime/log.ts';

describe('EMF documents', () => {
  it('splits processing times into documents of at most 100 values, counts in the first', () => {
    // GIVEN 250 processing times
    const times = Array.from({ length: 250 }, (_, index) => index / 10);
    // WHEN
    const documents = batchMetricDocuments(
      { records: 250, succeeded: 240, retried: 6, deadLettered: 3, skipped: 1, processingTimesMs: times },
      { pipeline: 'docs', stage: 'embed "v2"' },
      1_000,
    ).map((text) => JSON.parse(text));
    // THEN
    expect(documents).toHaveLength(3);
    expect(documents.map((document) => document.ProcessingTime.length)).toEqual([100, 100, 50]);
    expect(documents.flatMap((document) => document.ProcessingTime)).toEqual(times);
    expect(documents[0]).toMatchObject({
      Records: 250,
      Succeeded: 240,
      Retried: 6,
      DeadLettered: 3,
      Skipped: 1,
      Stage: 'embed "v2"',
    });
    expect(documents[1].Records).toBeUndefined();
    expect(documents[0]._aws).toEqual({
      Timestamp: 1_000,
      CloudWatchMetrics: [
        {
          Namespace: 'sluice',
          Dimensions: [['Pipeline', 'Stage']],
          Metrics: [
            { Name: 'Records', Unit: 'Count' },
            { Name: 'Succeeded', Unit: 'Count' },
            { Name: 'Retried', Unit: 'Count' },
            { Name: 'DeadLettered', Unit: 'Count' },
            { Name: 'Skipped', Unit: 'Count' },
            { Name: 'ProcessingTime', Unit: 'Milliseconds' },
          ],
        },
      ],
    });
    expect(documents[2]._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'ProcessingTime', Unit: 'Milliseconds' }]);
  });

  it('writes counts alone when no record was processed', () => {
    const [document] = batchMetricDocuments(
      { records: 2, succeeded: 0, retried: 0, deadLettered: 2, skipped: 0, processingTimesMs: [] },
      { pipeline: 'p', stage: 's' },
    ).map((text) => JSON.parse(text));
    expect(document.ProcessingTime).toBeUndefined();
    expect(document._aws.CloudWatchMetrics[0].Metrics).toHaveLength(5);
  });

  it('writes processing times as the text Array.prototype.join gives them', () => {
    // GIVEN times to the microsecond (as the runtime rounds them) from 0 to 15 minutes, and values that are not
    const micros = [0, 1, 9, 10, 100, 999, 1_000, 1_001, 1_500, 12_345, 999_999, 900_000_000];
    for (let index = 0; index < 2_000; index++) micros.push(Math.floor(Math.random() * 10 ** (1 + (index % 9))));
    const times = [...micros.map((value) => value / 1000), 0.0005, 1e-7, 1.23456, -0.001, -0, Number.NaN, 1e21];
    // WHEN
    const text = joinMs(times);
    // THEN
    expect(text).toBe(times.join(','));
  });
});
