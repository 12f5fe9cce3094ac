import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { batchMetricDocuments } from '../../functions/runtime/log.ts';
import { DurableQueue } from '../../lib/constructs/durable-queue.ts';
import { Pipeline } from '../../lib/constructs/pipeline.ts';
import { PipelineMonitoring } from '../../lib/constructs/pipeline-monitoring.ts';
import { STAGE_WIDGET_TITLES } from '../../lib/constructs/pipeline-monitoring-dashboard.ts';
import { definePipeline, RUNTIME_METRICS } from '../../lib/definition/index.ts';
import { ExampleStack } from '../../lib/example/example-stack.ts';
import { examplePipeline } from '../../lib/example/pipeline.ts';
import { ECHO_ENTRY, testStack } from '../helpers/stacks.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** A query of an alarm's `Metrics` (metric math alarms), as CloudFormation takes it. */
interface MetricQuery {
  readonly Expression?: string;
  readonly MetricStat: {
    readonly Metric: { readonly Namespace: string; readonly MetricName: string; readonly Dimensions?: unknown };
    readonly Stat: string;
  };
}
/** A widget of the dashboard body (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html). */
interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly metrics: unknown[][];
    readonly annotations: { readonly horizontal: unknown[] };
  };
}

// GIVEN the example app's stack (two stages, an ingress with access logs)
/** The example pipeline's stages (scan, extract, chunk, embed, index), in order. */
const STAGES = examplePipeline.stages;
const template = Template.fromStack(new ExampleStack(new App({ context: NO_BUNDLING }), 'Example'));
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
  (resource) => resource.Properties as Record<string, unknown>,
);
const alarmsDescribed = (pattern: RegExp) => alarms.filter((alarm) => pattern.test(String(alarm.AlarmDescription)));
/** The metrics (namespace, name, statistic) an alarm reads, whether a plain metric or metric math. */
const metricsOf = (alarm: Record<string, unknown>) => {
  if (alarm.MetricName) return [`${alarm.Namespace}/${alarm.MetricName}:${alarm.Statistic}`];
  return (alarm.Metrics as MetricQuery[])
    .filter((query) => query.MetricStat)
    .map(
      (query) => `${query.MetricStat.Metric.Namespace}/${query.MetricStat.Metric.MetricName}:${query.MetricStat.Stat}`,
    )
    .sort();
};
const expressionOf = (alarm: Record<string, unknown>) =>
  (alarm.Metrics as MetricQuery[]).find((query) => query.Expression)?.Expression as string;

/** The dashboard body with every CloudFormation token replaced by a readable placeholder, parsed. */
function dashboardBody(): { widgets: Widget[] } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const join = dashboard?.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  const text = join
    .map((part) => (typeof part === 'string' ? part : `TOKEN(${JSON.stringify(part).replace(/"/g, "'")})`))
    .join('');
  return JSON.parse(text);
}

describe('PipelineMonitoring alarms', () => {
  it('alarms when the time to drain (visible ÷ net drain rate) is over each stage’s age SLO', () => {
    const timeToDrain = alarmsDescribed(/take longer than the age SLO/);
    expect(timeToDrain.map((alarm) => alarm.Threshold).sort()).toEqual(
      STAGES.map((stage) => stage.flow.ageSloSeconds).sort(),
    );
    for (const alarm of timeToDrain) {
      expect(metricsOf(alarm)).toEqual([
        'AWS/SQS/ApproximateNumberOfMessagesVisible:Maximum',
        'AWS/SQS/NumberOfMessagesDeleted:Sum',
        'AWS/SQS/NumberOfMessagesSent:Sum',
      ]);
      // visible ÷ max(out − in, ε) per second, 0 when the backlog clears within the SLO at the current out rate
      expect(expressionOf(alarm)).toMatch(/^IF\(visible <= \(FILL\(deleted, 0\) \/ 60\) \* (20|30), 0, /);
      expect(expressionOf(alarm)).toContain('visible / ((FILL(deleted, 0) - FILL(sent, 0)) / 60)');
      expect(alarm).toMatchObject({ TreatMissingData: 'notBreaching', EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    }
  });

  it('alarms on a stall: messages waiting and none deleted in 5 periods out of 5', () => {
    const stalls = alarmsDescribed(/none was deleted/);
    expect(stalls).toHaveLength(STAGES.length);
    for (const alarm of stalls) {
      expect(expressionOf(alarm)).toBe('IF(visible > 0 AND FILL(deleted, 0) == 0, 1, 0)');
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when a dead letter is older than 3 days', () => {
    const ages = alarmsDescribed(/dead-lettered message is older/);
    expect(ages).toHaveLength(STAGES.length);
    for (const alarm of ages) {
      expect(metricsOf(alarm)).toEqual(['AWS/SQS/ApproximateAgeOfOldestMessage:Maximum']);
      expect(alarm).toMatchObject({ Threshold: 3 * 86_400, TreatMissingData: 'notBreaching' });
    }
  });

  it('alarms on consumer errors and throttles from Lambda’s metrics', () => {
    expect(alarmsDescribed(/failed as a whole/).map(metricsOf)).toEqual(STAGES.map(() => ['AWS/Lambda/Errors:Sum']));
    expect(alarmsDescribed(/Lambda throttled the consumer/).map(metricsOf)).toEqual(
      STAGES.map(() => ['AWS/Lambda/Throttles:Sum']),
    );
  });

  it('alarms on the breaker from the runtime’s BreakerOpen EMF count, per pipeline and stage', () => {
    const breakers = alarmsDescribed(/circuit breaker is open/);
    expect(breakers.map(metricsOf)).toEqual(STAGES.map(() => ['sluice/BreakerOpen:Sum']));
    const dimensions = breakers.map((alarm) => (alarm.Metrics as MetricQuery[])[0]?.MetricStat.Metric.Dimensions);
    expect(dimensions).toEqual(
      STAGES.map((stage) => [
        { Name: 'Pipeline', Value: 'documents' },
        { Name: 'Stage', Value: stage.name },
      ]),
    );
    expect(breakers[0]).toMatchObject({ Threshold: 0, TreatMissingData: 'notBreaching' });
  });

  it('alarms on the ingress’s 429 and 503 rates from access-log metric filters over the stage’s Count', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        Match.objectLike({ MetricNamespace: 'sluice/ingress/documents', MetricName: 'Status429', DefaultValue: 0 }),
      ],
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status = "503" }',
      MetricTransformations: [Match.objectLike({ MetricName: 'Status503' })],
    });
    const throttled = alarmsDescribed(/throttled \(429\)/);
    const shed = alarmsDescribed(/shed \(503\)/);
    expect(throttled.map(metricsOf)).toEqual([['AWS/ApiGateway/Count:Sum', 'sluice/ingress/documents/Status429:Sum']]);
    expect(shed.map(metricsOf)).toEqual([['AWS/ApiGateway/Count:Sum', 'sluice/ingress/documents/Status503:Sum']]);
    expect(throttled[0]).toMatchObject({ Threshold: 5, TreatMissingData: 'notBreaching' });
    expect(shed[0]).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching' });
  });

  it('treats missing data as not breaching on every alarm, so idle queues never flap', () => {
    expect(alarms.length).toBeGreaterThan(15);
    for (const alarm of alarms) expect(alarm.TreatMissingData).toBe('notBreaching');
  });

  it('has one pipeline composite alarm over the stage composites and the ingress alarms, notifying the topic', () => {
    const composites = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')).map(
      (resource) => resource.Properties,
    );
    expect(composites).toHaveLength(STAGES.length + 1);
    const notifying = composites.filter((composite) => composite.AlarmActions);
    expect(notifying).toHaveLength(1);
    const rule = JSON.stringify(notifying[0].AlarmRule);
    // one composite per stage and two ingress alarms
    expect(rule.match(/ALARM\(/g)).toHaveLength(STAGES.length + 2);
    expect(notifying[0].OKActions).toEqual(notifying[0].AlarmActions);
    // each stage composite names its six monitoring alarms and the three QueueAlarms
    for (const stage of composites.filter((composite) => !composite.AlarmActions)) {
      expect(JSON.stringify(stage.AlarmRule).match(/ALARM\(/g)).toHaveLength(9);
    }
  });
});

describe('PipelineMonitoring dashboard', () => {
  const body = dashboardBody();
  const graphs = body.widgets.filter((widget) => widget.type === 'metric');
  /** Each graph's metrics as `namespace/name` (or the expression), in the order of its lines. */
  const linesOf = (widget: Widget) =>
    (widget.properties.metrics as unknown[][]).map((line) => {
      const options = line[line.length - 1] as Record<string, unknown>;
      if (options && typeof options === 'object' && 'expression' in options) return `= ${options.expression}`;
      return `${line[0]}/${line[1]}${options && typeof options === 'object' && options.stat ? `:${options.stat}` : ''}`;
    });

  it('has a row of the same ten graphs for each stage, in pipeline order', () => {
    const titles = graphs.map((widget) => widget.properties.title);
    const stageTitles = titles.filter((title) =>
      (STAGE_WIDGET_TITLES as readonly (string | undefined)[]).includes(title),
    );
    expect(stageTitles).toEqual(STAGES.flatMap(() => [...STAGE_WIDGET_TITLES]));
    const headings = body.widgets
      .filter((widget) => widget.type === 'text')
      .map((widget) => widget.properties.markdown);
    expect(headings).toEqual(['# sluice pipeline documents', ...STAGES.map((stage) => `## stage ${stage.name}`)]);
  });

  it('reads the right metric in each graph of a stage row', () => {
    const firstRow = graphs
      .filter((widget) => (STAGE_WIDGET_TITLES as readonly (string | undefined)[]).includes(widget.properties.title))
      .slice(0, 10);
    const byTitle = Object.fromEntries(firstRow.map((widget) => [widget.properties.title, linesOf(widget)]));
    expect(byTitle.depth).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible:Maximum',
      'AWS/SQS/ApproximateNumberOfMessagesNotVisible:Maximum',
    ]);
    expect(byTitle['oldest age']).toEqual(['AWS/SQS/ApproximateAgeOfOldestMessage:Maximum']);
    expect(byTitle['in vs out']).toEqual(['AWS/SQS/NumberOfMessagesSent:Sum', 'AWS/SQS/NumberOfMessagesDeleted:Sum']);
    expect(byTitle['time to drain']?.[0]).toMatch(/^= IF\(visible <= /);
    // Deferred carries a Reason dimension (one series per reason): found by SEARCH
    expect(byTitle['retries and deferrals']).toEqual([
      `sluice/${RUNTIME_METRICS.retried}:Sum`,
      `= SEARCH('{sluice,Pipeline,Reason,Stage} MetricName="Deferred" Pipeline="documents" Stage="scan"', 'Sum', 60)`,
    ]);
    expect(byTitle['dead letters']).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible:Maximum',
      'sluice/DeadLettered:Sum',
    ]);
    expect(byTitle['consumer latency']).toEqual(['sluice/ProcessingTime:p50', 'sluice/ProcessingTime:p99']);
    expect(byTitle['downstream errors']?.[0]).toBe(
      '= IF(records > 0, 100 * (FILL(retried, 0) + FILL(dead, 0)) / records, 0)',
    );
    expect(byTitle.concurrency).toEqual(['AWS/Lambda/ConcurrentExecutions:Maximum', 'AWS/Lambda/Throttles:Sum']);
    expect(byTitle.shed).toEqual(['sluice/BreakerOpen:Sum', 'sluice/LimiterWait:Sum', 'AWS/Lambda/Errors:Sum']);
  });

  it('scopes every runtime metric of a row to its pipeline and stage', () => {
    for (const widget of graphs) {
      for (const line of widget.properties.metrics as unknown[][]) {
        if (line[0] !== 'sluice') continue;
        expect(line.slice(2, 6)).toEqual([
          'Pipeline',
          'documents',
          'Stage',
          expect.stringMatching(/^(scan|extract|chunk|embed|index)$/),
        ]);
      }
    }
  });

  it('draws the age SLO on the oldest-age graph', () => {
    const age = graphs.find((widget) => widget.properties.title === 'oldest age');
    expect(age?.properties.annotations.horizontal).toEqual([
      expect.objectContaining({ value: 20, label: 'age SLO 20 s' }),
    ]);
  });

  it('shows the ingress’s requests, 429s and 503s and their rates', () => {
    const requests = graphs.find((widget) => widget.properties.title === 'ingress requests');
    expect(linesOf(requests as never)).toEqual([
      'AWS/ApiGateway/Count:Sum',
      'sluice/ingress/documents/Status429:Sum',
      'sluice/ingress/documents/Status503:Sum',
    ]);
    const rates = graphs.find((widget) => widget.properties.title === 'ingress 429 / 503 rate');
    expect(linesOf(rates as never).filter((line) => line.startsWith('='))).toEqual([
      '= IF(requests > 0, 100 * FILL(throttled, 0) / requests, 0)',
      '= IF(requests > 0, 100 * FILL(unavailable, 0) / requests, 0)',
    ]);
  });
});

describe('metric names shared with the runtime', () => {
  it('are the names the runtime’s EMF documents carry', () => {
    // GIVEN an EMF document the runtime writes for a batch
    const [document] = batchMetricDocuments(
      { records: 2, succeeded: 1, retried: 1, deadLettered: 0, skipped: 0, processingTimesMs: [3, 4] },
      { pipeline: 'p', stage: 's' },
    );
    const parsed = JSON.parse(document as string);
    const directive = parsed._aws.CloudWatchMetrics[0];
    // THEN the namespace, dimensions and names the dashboard reads are the ones written
    expect(directive.Namespace).toBe('sluice');
    expect(directive.Dimensions).toEqual([['Pipeline', 'Stage']]);
    const written = directive.Metrics.map((metric: { Name: string }) => metric.Name);
    for (const name of [
      RUNTIME_METRICS.records,
      RUNTIME_METRICS.retried,
      RUNTIME_METRICS.deadLettered,
      RUNTIME_METRICS.processingTime,
    ]) {
      expect(written).toContain(name);
    }
  });
});

describe('PipelineMonitoring alone', () => {
  it('writes one stack output per stage and one for the pipeline, as JSON', () => {
    // GIVEN monitoring of one queue and function, without a pipeline
    const stack = testStack();
    const queue = new DurableQueue(stack, 'Jobs');
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    new PipelineMonitoring(stack, 'Monitoring', {
      pipelineName: 'uploads',
      stages: [{ name: 'scan', queue, function: fn, ageSlo: Duration.minutes(2) }],
    });
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<
      string,
      { Description: string; Value: unknown }
    >;
    // THEN
    expect(
      Object.values(outputs)
        .map((output) => output.Description)
        .sort(),
    ).toEqual(['sluice:pipeline uploads', 'sluice:stage uploads/scan']);
    // the stage's output is a JSON object naming its queues (by token) and its age SLO, as `sluice status --stack` reads it
    const stageOutput = Object.values(outputs).find((output) => output.Description.startsWith('sluice:stage'));
    const text = JSON.stringify(stageOutput?.Value);
    for (const field of ['kind', 'queueUrl', 'queueName', 'deadLetterQueueUrl', 'deadLetterQueueArn', 'functionName']) {
      expect(text).toContain(`\\"${field}\\":`);
    }
    expect(text).toContain('\\"ageSloSeconds\\":120');
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('fails if given no stage', () => {
    const stack = testStack();
    expect(() => new PipelineMonitoring(stack, 'Monitoring', { pipelineName: 'x', stages: [] })).toThrow(
      /stages must name at least one stage, but none was provided/,
    );
  });

  it('fails if datapointsToAlarm is above evaluationPeriods', () => {
    const stack = testStack();
    const queue = new DurableQueue(stack, 'Jobs');
    const fn = lambda.Function.fromFunctionName(stack, 'Fn', 'scan');
    expect(
      () =>
        new PipelineMonitoring(stack, 'Monitoring', {
          pipelineName: 'x',
          stages: [{ name: 's', queue, function: fn, ageSlo: Duration.minutes(1) }],
          evaluationPeriods: 3,
          datapointsToAlarm: 4,
        }),
    ).toThrow(/datapointsToAlarm must be an integer between 1 and 3, but 4 was provided/);
  });

  it('keeps a nested stage’s alarms in its nested stack', () => {
    // GIVEN a pipeline of 21 stages (nested stacks)
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Big');
    const definition = definePipeline({
      name: 'big',
      stages: Array.from({ length: 21 }, (_, index) => ({ name: `s${index}`, consumer: { entry: ECHO_ENTRY } })),
    });
    new Pipeline(stack, 'Big', { definition });
    const parent = Template.fromStack(stack);
    // THEN the parent holds the pipeline composite and the dashboard, not 21 × 6 alarms
    parent.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    parent.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    parent.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});
