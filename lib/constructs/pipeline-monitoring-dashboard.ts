import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { RUNTIME_METRICS } from '../definition/index.ts';
import type { IngressMetrics } from './pipeline-monitoring-ingress.ts';
import type { StageMetrics } from './pipeline-monitoring-metrics.ts';

/** Props of {@link PipelineDashboard}. */
export interface PipelineDashboardProps {
  readonly pipelineName: string;
  readonly stages: readonly StageMetrics[];
  /** @default - no ingress row */
  readonly ingress?: IngressMetrics;
  /** Alarms shown as a status row at the top. @default - none */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /** @default - `sluice-<pipeline>` */
  readonly dashboardName?: string;
}

/** Titles of a stage row's graphs, in order (tests and people look them up by title). */
export const STAGE_WIDGET_TITLES = [
  'depth',
  'oldest age',
  'in vs out',
  'time to drain',
  'retries and deferrals',
  'dead letters',
  'consumer latency',
  'downstream errors',
  'concurrency',
  'shed',
] as const;

const WIDTH = 6;
const HEIGHT = 5;

/**
 * A CloudWatch dashboard per pipeline: an alarm status row, the ingress's outcomes, then one row per stage with depth,
 * oldest age against the SLO, in vs out, time to drain, retries, dead letters, consumer latency p50/p99 and
 * downstream error rate (from the runtime's EMF metrics), concurrency and shed counts.
 */
export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `sluice-${props.pipelineName}`,
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: `# sluice pipeline ${props.pipelineName}`, width: 24, height: 1 }),
    );
    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms: [...props.alarms], width: 24, height: 3 }),
      );
    }
    if (props.ingress) {
      const ingress = props.ingress;
      this.dashboard.addWidgets(
        graph('ingress requests', [ingress.requests(), ingress.throttled(), ingress.unavailable()], 12),
        graph('ingress 429 / 503 rate', [ingress.throttledRate(), ingress.unavailableRate()], 12),
      );
    }
    for (const stage of props.stages) {
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## stage ${stage.stage.name}`, width: 24, height: 1 }),
      );
      this.dashboard.addWidgets(...stageWidgets(stage));
    }
  }
}

/** The graphs of one stage's row, titled as {@link STAGE_WIDGET_TITLES}. */
export function stageWidgets(stage: StageMetrics): cloudwatch.GraphWidget[] {
  const slo = stage.stage.ageSlo.toSeconds();
  const sloLine = { value: slo, label: `age SLO ${slo} s`, color: '#d62728' };
  const widgets: Record<(typeof STAGE_WIDGET_TITLES)[number], cloudwatch.GraphWidget> = {
    depth: graph('depth', [stage.visible(), stage.inFlight()]),
    'oldest age': graph('oldest age', [stage.oldestAge()], WIDTH, [sloLine]),
    'in vs out': graph('in vs out', [stage.sent(), stage.deleted()]),
    'time to drain': graph('time to drain', [stage.timeToDrainSeconds(stage.stage.ageSlo)], WIDTH, [sloLine]),
    'retries and deferrals': graph('retries and deferrals', [
      stage.runtime(RUNTIME_METRICS.retried, 'Sum', 'retried'),
      stage.deferredByReason(),
    ]),
    'dead letters': graph('dead letters', [
      stage.deadLetterVisible(),
      stage.runtime(RUNTIME_METRICS.deadLettered, 'Sum', 'dead-lettered now'),
    ]),
    'consumer latency': graph('consumer latency', [
      stage.runtime(RUNTIME_METRICS.processingTime, 'p50', 'p50 (ms)'),
      stage.runtime(RUNTIME_METRICS.processingTime, 'p99', 'p99 (ms)'),
    ]),
    'downstream errors': graph('downstream errors', [stage.downstreamErrorRate()]),
    concurrency: graph('concurrency', [stage.concurrency(), stage.throttles()]),
    shed: graph('shed', [
      stage.runtime(RUNTIME_METRICS.breakerOpen, 'Sum', 'breaker open'),
      stage.runtime(RUNTIME_METRICS.limiterWait, 'Sum', 'limiter waits'),
      stage.errors(),
    ]),
  };
  return STAGE_WIDGET_TITLES.map((title) => widgets[title]);
}

function graph(
  title: string,
  metrics: cloudwatch.IMetric[],
  width = WIDTH,
  horizontal: cloudwatch.HorizontalAnnotation[] = [],
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left: metrics,
    width,
    height: HEIGHT,
    ...(horizontal.length > 0 ? { leftAnnotations: horizontal } : {}),
  });
}
