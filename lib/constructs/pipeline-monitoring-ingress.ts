import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * 429 and 503 rates of a pipeline's ingress.
 *
 * API Gateway's own `4XXError` and `5XXError` metrics count every 4xx and 5xx together
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html), so they
 * cannot tell a throttled producer (429, from a usage plan or the stage throttle) from a shed one (503, the depth
 * check) or a bad request (400). The runtime's and authorizer's EMF metrics cannot either: a 429 from a usage plan is
 * answered before the authorizer runs, and the 503 of a direct SQS integration never reaches our code. The one place
 * that sees every response's status is the stage's access log (JSON, `status` field:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), so two log metric filters count
 * `status = "429"` and `status = "503"` (pattern syntax:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html); divided by the stage's
 * `Count` they are rates.
 */

/** Props of {@link IngressMetrics}. */
export interface IngressMetricsProps {
  readonly pipelineName: string;
  /** The ingress API; its deployment stage's `Count` is the denominator. */
  readonly api: apigateway.RestApi;
  /** The API stage's access log group (JSON lines with a `status` field). */
  readonly accessLogGroup: logs.ILogGroup;
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
}

/** Namespace of the ingress's status counts: one per pipeline, as the filters cannot add dimensions of their own. */
export function ingressNamespace(pipelineName: string): string {
  return `sluice/ingress/${pipelineName}`;
}

/** The metric filters and the metrics built on them. */
export class IngressMetrics extends Construct {
  readonly throttledFilter: logs.MetricFilter;
  readonly unavailableFilter: logs.MetricFilter;
  private readonly props: IngressMetricsProps;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: IngressMetricsProps) {
    super(scope, id);
    this.props = props;
    this.period = props.period ?? Duration.minutes(1);
    const filter = (filterId: string, status: string) =>
      new logs.MetricFilter(this, filterId, {
        logGroup: props.accessLogGroup,
        filterPattern: logs.FilterPattern.stringValue('$.status', '=', status),
        metricNamespace: ingressNamespace(props.pipelineName),
        metricName: `Status${status}`,
        metricValue: '1',
        // Lines that do not match publish 0, so a rate over a busy minute without 429s reads 0, not missing.
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
    this.throttledFilter = filter('Throttled', '429');
    this.unavailableFilter = filter('Unavailable', '503');
  }

  /** Requests answered 429 (throttled), Sum. */
  throttled(): cloudwatch.Metric {
    return this.throttledFilter.metric({ period: this.period, statistic: 'Sum', label: '429 throttled' });
  }

  /** Requests answered 503 (shed or unavailable), Sum. */
  unavailable(): cloudwatch.Metric {
    return this.unavailableFilter.metric({ period: this.period, statistic: 'Sum', label: '503 shed' });
  }

  /** Every request the stage answered (`Count`, Sum). */
  requests(): cloudwatch.Metric {
    return this.props.api.deploymentStage.metricCount({ period: this.period, statistic: 'Sum', label: 'requests' });
  }

  /** Percent of requests answered 429. */
  throttledRate(): cloudwatch.MathExpression {
    return this.rate('throttled', this.throttled(), '429 rate (%)');
  }

  /** Percent of requests answered 503. */
  unavailableRate(): cloudwatch.MathExpression {
    return this.rate('unavailable', this.unavailable(), '503 rate (%)');
  }

  private rate(id: string, count: cloudwatch.Metric, label: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `IF(requests > 0, 100 * FILL(${id}, 0) / requests, 0)`,
      usingMetrics: { [id]: count, requests: this.requests() },
      period: this.period,
      label,
    });
  }
}
