import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE, RUNTIME_METRICS } from '../definition/index.ts';
import type { PipelineResources, StageResources } from './resources.ts';
import { type PipelineSnapshot, type StageSnapshot, stageSnapshot } from './snapshot.ts';
import { type Judgement, judge, judgePipeline, type TrendPoint } from './verdict.ts';

/**
 * `sluice status` on AWS: the queues' current depth from `GetQueueAttributes` (real time), and the trend from
 * CloudWatch `GetMetricData` over the last minutes at one-minute periods — SQS metrics
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html)
 * and the runtime's EMF counts. A query's `Id` starts with a lower-case letter, one request holds at most 500 queries
 * and results come newest first by default, paged with `NextToken`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html).
 * An inactive queue reports nothing to CloudWatch; its missing points read as 0.
 */

/** GetMetricData takes at most 500 queries in one request. */
export const MAX_QUERIES_PER_REQUEST = 500;
/** Minutes of history a verdict on AWS looks at (5 one-minute points). */
export const AWS_WINDOW_MINUTES = 5;
/** Minutes queried: the window plus CloudWatch's few minutes of delay. */
export const AWS_QUERY_MINUTES = 15;

const SQS_SERIES = {
  visible: ['ApproximateNumberOfMessagesVisible', 'Maximum'],
  notVisible: ['ApproximateNumberOfMessagesNotVisible', 'Maximum'],
  age: ['ApproximateAgeOfOldestMessage', 'Maximum'],
  sent: ['NumberOfMessagesSent', 'Sum'],
  deleted: ['NumberOfMessagesDeleted', 'Sum'],
} as const;
const RUNTIME_SERIES = {
  records: RUNTIME_METRICS.records,
  retried: RUNTIME_METRICS.retried,
  dead: RUNTIME_METRICS.deadLettered,
} as const;
/** The series read per stage. */
export type SeriesName = keyof typeof SQS_SERIES | keyof typeof RUNTIME_SERIES;

/** The query id of a stage's series (`s<index>_<series>`). */
export function queryId(stageIndex: number, series: SeriesName): string {
  return `s${stageIndex}_${series}`;
}

/** The GetMetricData requests for every stage of `resources`, ending at `now`. */
export function buildMetricDataRequests(
  resources: PipelineResources,
  now: Date,
  minutes = AWS_QUERY_MINUTES,
): GetMetricDataCommandInput[] {
  const queries: MetricDataQuery[] = [];
  resources.stages.forEach((stage, index) => {
    for (const [series, [metricName, stat]] of Object.entries(SQS_SERIES)) {
      queries.push({
        Id: queryId(index, series as SeriesName),
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SQS',
            MetricName: metricName,
            Dimensions: [{ Name: 'QueueName', Value: stage.queueName }],
          },
          Period: 60,
          Stat: stat,
        },
        ReturnData: true,
      });
    }
    for (const [series, metricName] of Object.entries(RUNTIME_SERIES)) {
      queries.push({
        Id: queryId(index, series as SeriesName),
        MetricStat: {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: metricName,
            Dimensions: [
              { Name: METRIC_DIMENSIONS.pipeline, Value: resources.pipeline },
              { Name: METRIC_DIMENSIONS.stage, Value: stage.stage },
            ],
          },
          Period: 60,
          Stat: 'Sum',
        },
        ReturnData: true,
      });
    }
  });
  // Whole minutes, so every period is complete and the same minute lines up across series.
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const start = new Date(end.getTime() - minutes * 60_000);
  const requests: GetMetricDataCommandInput[] = [];
  for (let offset = 0; offset < queries.length; offset += MAX_QUERIES_PER_REQUEST) {
    requests.push({
      MetricDataQueries: queries.slice(offset, offset + MAX_QUERIES_PER_REQUEST),
      StartTime: start,
      EndTime: end,
      ScanBy: 'TimestampAscending',
    });
  }
  return requests;
}

/** A series by query id: epoch milliseconds → value. */
export type SeriesById = Map<string, Map<number, number>>;

/** Gathers results (several pages, any order) by id; a result that is not `Complete` keeps what it has. */
export function collectResults(pages: readonly (readonly MetricDataResult[])[]): SeriesById {
  const byId: SeriesById = new Map();
  for (const results of pages) {
    for (const result of results) {
      if (!result.Id) continue;
      const series = byId.get(result.Id) ?? new Map<number, number>();
      (result.Timestamps ?? []).forEach((timestamp, index) => {
        const value = result.Values?.[index];
        if (value !== undefined) series.set(new Date(timestamp).getTime(), value);
      });
      byId.set(result.Id, series);
    }
  }
  return byId;
}

/** Current attributes of a stage's queues (GetQueueAttributes). */
export interface QueueNow {
  readonly visible: number;
  readonly inFlight: number;
  readonly deadLettered: number;
}

/** The snapshot from the CloudWatch series and the queues' current attributes. */
export function awsSnapshot(
  resources: PipelineResources,
  series: SeriesById,
  now: readonly QueueNow[],
  at: number,
): PipelineSnapshot {
  const judgements: Judgement[] = [];
  const stages: StageSnapshot[] = resources.stages.map((stage, index) => {
    const get = (name: SeriesName) => series.get(queryId(index, name)) ?? new Map<number, number>();
    const minutes = [...new Set([...get('visible').keys(), ...get('sent').keys(), ...get('deleted').keys()])]
      .sort((a, b) => a - b)
      .slice(-AWS_WINDOW_MINUTES);
    const value = (name: SeriesName, minute: number) => get(name).get(minute) ?? 0;
    const points: TrendPoint[] = minutes.map((minute) => ({
      at: minute,
      backlog: value('visible', minute) + value('notVisible', minute),
      inPerSecond: value('sent', minute) / 60,
      outPerSecond: value('deleted', minute) / 60,
    }));
    const current = now[index] ?? { visible: 0, inFlight: 0, deadLettered: 0 };
    const total = (name: SeriesName) => minutes.reduce((sum, minute) => sum + value(name, minute), 0);
    const perMinute = (name: SeriesName) => (minutes.length === 0 ? 0 : Math.round(total(name) / minutes.length));
    const latestAge = minutes.length === 0 ? 0 : value('age', minutes[minutes.length - 1] as number);
    const judgement = judge(points, latestAge, stage.ageSloSeconds);
    judgements.push(judgement);
    const records = total('records');
    return stageSnapshot(
      {
        pipeline: resources.pipeline,
        stage: stage.stage,
        queue_depth: current.visible,
        in_flight: current.inFlight,
        oldest_job_age_seconds: latestAge,
        jobs_received_per_minute: perMinute('sent'),
        jobs_completed_per_minute: perMinute('deleted'),
        retry_rate: perMinute('retried'),
        dead_letter_count: current.deadLettered,
        downstream_error_rate:
          records > 0 ? Math.round(((total('retried') + total('dead')) / records) * 1000) / 1000 : null,
        age_slo_seconds: stage.ageSloSeconds,
      },
      judgement,
    );
  });
  const pipeline = judgePipeline(judgements);
  return {
    pipeline: resources.pipeline,
    at,
    verdict: pipeline.verdict,
    estimated_drain_seconds: pipeline.estimatedDrainSeconds,
    stages,
  };
}

/** Reads both sources and builds the snapshot. */
export async function readAwsSnapshot(
  clients: { readonly sqs: SQSClient; readonly cloudWatch: CloudWatchClient },
  resources: PipelineResources,
  now = new Date(),
): Promise<PipelineSnapshot> {
  const pages: MetricDataResult[][] = [];
  for (const request of buildMetricDataRequests(resources, now)) {
    let nextToken: string | undefined;
    do {
      const page = await clients.cloudWatch.send(
        new GetMetricDataCommand({ ...request, ...(nextToken ? { NextToken: nextToken } : {}) }),
      );
      pages.push(page.MetricDataResults ?? []);
      nextToken = page.NextToken;
    } while (nextToken);
  }
  const current = await Promise.all(resources.stages.map((stage) => queueNow(clients.sqs, stage)));
  return awsSnapshot(resources, collectResults(pages), current, now.getTime());
}

/** A stage's queues right now. */
export async function queueNow(sqs: SQSClient, stage: StageResources): Promise<QueueNow> {
  const attributes = async (queueUrl: string) =>
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
    ).Attributes ?? {};
  const [queue, dlq] = await Promise.all([attributes(stage.queueUrl), attributes(stage.deadLetterQueueUrl)]);
  return {
    visible: Number(queue.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(queue.ApproximateNumberOfMessagesNotVisible ?? 0),
    deadLettered: Number(dlq.ApproximateNumberOfMessages ?? 0) + Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
