import type { CloudWatchClient, GetMetricDataCommand, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  AWS_QUERY_MINUTES,
  awsSnapshot,
  buildMetricDataRequests,
  collectResults,
  MAX_QUERIES_PER_REQUEST,
  readAwsSnapshot,
} from '../../lib/ops/aws-status.ts';
import { type PipelineResources, resourcesFromOutputs } from '../../lib/ops/resources.ts';
import { localSqsClient, uniqueName } from '../helpers/engines.ts';

const RESOURCES: PipelineResources = {
  pipeline: 'documents',
  stages: [
    {
      stage: 'extract',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Example-extract',
      queueName: 'Example-extract',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Example-extract-dlq',
      deadLetterQueueName: 'Example-extract-dlq',
      functionName: 'Example-extract-fn',
      ageSloSeconds: 120,
    },
  ],
};
const NOW = new Date('2026-11-25T12:00:30Z');
const minute = (offset: number) => new Date(Date.parse('2026-11-25T12:00:00Z') + offset * 60_000);

/**
 * A GetMetricData response as AWS's API reference shapes it
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html): one MetricDataResult per
 * query Id, Timestamps and Values in step, StatusCode Complete, NextToken when more pages follow.
 */
function recorded(series: Record<string, number[]>, minutes: number[], nextToken?: string): GetMetricDataCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    MetricDataResults: Object.entries(series).map(([id, values]) => ({
      Id: id,
      Label: id,
      Timestamps: minutes.map(minute),
      Values: values,
      StatusCode: 'Complete',
    })),
    Messages: [],
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

describe('GetMetricData requests', () => {
  it('ask for each stage’s SQS series by queue name and the runtime’s counts by pipeline and stage, at one-minute periods', () => {
    // WHEN
    const [request, ...more] = buildMetricDataRequests(RESOURCES, NOW);
    // THEN
    expect(more).toHaveLength(0);
    const byId = Object.fromEntries((request?.MetricDataQueries ?? []).map((query) => [query.Id, query.MetricStat]));
    expect(Object.keys(byId)).toEqual([
      's0_visible',
      's0_notVisible',
      's0_age',
      's0_sent',
      's0_deleted',
      's0_records',
      's0_retried',
      's0_dead',
    ]);
    expect(byId.s0_visible).toEqual({
      Metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: 'Example-extract' }],
      },
      Period: 60,
      Stat: 'Maximum',
    });
    expect(byId.s0_deleted?.Stat).toBe('Sum');
    expect(byId.s0_retried).toEqual({
      Metric: {
        Namespace: 'sluice',
        MetricName: 'Retried',
        Dimensions: [
          { Name: 'Pipeline', Value: 'documents' },
          { Name: 'Stage', Value: 'extract' },
        ],
      },
      Period: 60,
      Stat: 'Sum',
    });
    // whole minutes, the last AWS_QUERY_MINUTES of them, oldest first
    expect(request?.EndTime).toEqual(new Date('2026-11-25T12:00:00Z'));
    expect(request?.StartTime).toEqual(new Date(Date.parse('2026-11-25T12:00:00Z') - AWS_QUERY_MINUTES * 60_000));
    expect(request?.ScanBy).toBe('TimestampAscending');
  });

  it('split into requests of at most 500 queries', () => {
    // GIVEN 70 stages (8 queries each: 560)
    const stages = Array.from({ length: 70 }, (_, index) => ({ ...RESOURCES.stages[0], stage: `s${index}` }));
    const requests = buildMetricDataRequests({ ...RESOURCES, stages: stages as never }, NOW);
    expect(requests.map((request) => request.MetricDataQueries?.length)).toEqual([MAX_QUERIES_PER_REQUEST, 60]);
    const ids = requests.flatMap((request) => request.MetricDataQueries?.map((query) => query.Id));
    expect(new Set(ids).size).toBe(560);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
  });
});

describe('GetMetricData responses', () => {
  it('judge a stage whose backlog grows as falling behind, with no time to drain', () => {
    // GIVEN five minutes where 6000 a minute arrive, 3000 leave and the backlog grows by 3000 a minute
    const minutes = [-5, -4, -3, -2, -1];
    const series = collectResults([
      recorded(
        {
          s0_visible: [3000, 6000, 9000, 12000, 15000],
          s0_notVisible: [100, 100, 100, 100, 100],
          s0_age: [30, 60, 90, 120, 150],
          s0_sent: [6000, 6000, 6000, 6000, 6000],
          s0_deleted: [3000, 3000, 3000, 3000, 3000],
          s0_records: [3000, 3000, 3000, 3000, 3000],
          s0_retried: [30, 30, 30, 30, 30],
          s0_dead: [0, 0, 0, 0, 3],
        },
        minutes,
      ).MetricDataResults ?? [],
    ]);
    // WHEN
    const snapshot = awsSnapshot(RESOURCES, series, [{ visible: 15500, inFlight: 90, deadLettered: 3 }], NOW.getTime());
    // THEN
    expect(snapshot.stages[0]).toEqual({
      pipeline: 'documents',
      stage: 'extract',
      queue_depth: 15500,
      in_flight: 90,
      oldest_job_age_seconds: 150,
      jobs_received_per_minute: 6000,
      jobs_completed_per_minute: 3000,
      retry_rate: 30,
      dead_letter_count: 3,
      downstream_error_rate: 0.01,
      verdict: 'falling_behind',
      estimated_drain_seconds: null,
      age_slo_seconds: 120,
    });
    expect(snapshot.verdict).toBe('falling_behind');
  });

  it('judge a shrinking backlog as recovering, with the time to drain at the observed slope', () => {
    // GIVEN the backlog falls by 1200 a minute (20 a second) from 6000
    const series = collectResults([
      recorded(
        {
          s0_visible: [10800, 9600, 8400, 7200, 6000],
          s0_notVisible: [0, 0, 0, 0, 0],
          s0_age: [300, 280, 260, 240, 220],
          s0_sent: [1800, 1800, 1800, 1800, 1800],
          s0_deleted: [3000, 3000, 3000, 3000, 3000],
        },
        [-5, -4, -3, -2, -1],
      ).MetricDataResults ?? [],
    ]);
    const snapshot = awsSnapshot(RESOURCES, series, [{ visible: 6000, inFlight: 0, deadLettered: 0 }], NOW.getTime());
    // THEN (backlog averaged over the last three minutes: 7200; 7200 / 20 per second = 360 s)
    expect(snapshot.stages[0]?.verdict).toBe('recovering');
    expect(snapshot.stages[0]?.estimated_drain_seconds).toBe(360);
    expect(snapshot.stages[0]?.downstream_error_rate).toBeNull();
  });

  it('read an idle queue that reports nothing (SQS emits no metrics for inactive queues) as healthy', () => {
    const series = collectResults([recorded({}, []).MetricDataResults ?? []]);
    const snapshot = awsSnapshot(RESOURCES, series, [{ visible: 0, inFlight: 0, deadLettered: 0 }], NOW.getTime());
    expect(snapshot.stages[0]).toMatchObject({
      verdict: 'healthy',
      estimated_drain_seconds: 0,
      jobs_received_per_minute: 0,
    });
    expect(snapshot).toMatchObject({ verdict: 'healthy', estimated_drain_seconds: 0 });
  });

  it('follow NextToken across pages and merge a series split between them', async () => {
    // GIVEN a CloudWatch that answers in two pages, and a real (embedded) SQS queue with 2 messages
    const sqs = localSqsClient();
    const name = uniqueName('status');
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
    const deadLetterQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` })))
      .QueueUrl as string;
    for (const body of ['a', 'b']) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const pages = [
      recorded({ s0_visible: [0, 0], s0_sent: [60, 60], s0_deleted: [60, 60] }, [-5, -4], 'page-2'),
      recorded({ s0_visible: [0, 0, 2], s0_sent: [60, 60, 62], s0_deleted: [60, 60, 60] }, [-3, -2, -1]),
    ];
    const tokens: Array<string | undefined> = [];
    const cloudWatch = {
      send: async (command: GetMetricDataCommand) => {
        tokens.push(command.input.NextToken);
        return pages[tokens.length - 1];
      },
    } as unknown as CloudWatchClient;
    // WHEN
    const snapshot = await readAwsSnapshot(
      { sqs, cloudWatch },
      {
        ...RESOURCES,
        stages: [{ ...(RESOURCES.stages[0] as PipelineResources['stages'][number]), queueUrl, deadLetterQueueUrl }],
      },
      NOW,
    );
    sqs.destroy();
    // THEN
    expect(tokens).toEqual([undefined, 'page-2']);
    expect(snapshot.stages[0]).toMatchObject({
      queue_depth: 2,
      in_flight: 0,
      jobs_received_per_minute: 60,
      jobs_completed_per_minute: 60,
      verdict: 'healthy',
    });
  });
});

describe('stack outputs', () => {
  it('give the pipeline’s stages in order, with the job table', () => {
    // GIVEN outputs as DescribeStacks returns them (Stacks[0].Outputs), written by PipelineMonitoring
    const stage = (name: string) => ({
      OutputKey: `DocumentsMonitoringStage${name}`,
      Description: `sluice:stage documents/${name}`,
      OutputValue: JSON.stringify({
        kind: 'stage',
        pipeline: 'documents',
        stage: name,
        queueUrl: `https://sqs/q-${name}`,
        queueArn: `arn:q-${name}`,
        queueName: `q-${name}`,
        deadLetterQueueUrl: `https://sqs/d-${name}`,
        deadLetterQueueArn: `arn:d-${name}`,
        deadLetterQueueName: `d-${name}`,
        functionName: `f-${name}`,
        ageSloSeconds: 60,
      }),
    });
    const outputs = [
      stage('embed'),
      { OutputKey: 'Other', OutputValue: 'x' },
      stage('extract'),
      {
        OutputKey: 'DocumentsMonitoringPipeline',
        Description: 'sluice:pipeline documents',
        OutputValue: JSON.stringify({
          kind: 'pipeline',
          pipeline: 'documents',
          stages: ['extract', 'embed'],
          jobTable: 'jobs',
        }),
      },
    ];
    // WHEN
    const resources = resourcesFromOutputs('Example', outputs);
    // THEN
    expect(resources.stages.map((candidate) => candidate.stage)).toEqual(['extract', 'embed']);
    expect(resources.jobTable).toBe('jobs');
    expect(resources.stages[0]).toMatchObject({ queueName: 'q-extract', functionName: 'f-extract', ageSloSeconds: 60 });
  });

  it('fails if the stack has no sluice outputs, saying what to deploy', () => {
    expect(() => resourcesFromOutputs('Bare', [{ OutputKey: 'Url', OutputValue: 'x' }])).toThrow(
      /stack Bare has no sluice outputs; deploy it with a Pipeline/,
    );
  });
});
