import { Annotations, Duration, NestedStack, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  type JsonSchema,
  type Pipeline as PipelineDefinition,
  PRESSURE_ENV,
  type ResolvedStage,
} from '../definition/index.ts';
import { AlarmTopic } from './alarm-topic.ts';
import { ControlTable } from './control-table.ts';
import { InvalidPropsError } from './errors.ts';
import { JobTables } from './job-tables.ts';
import { PipelineIngress } from './pipeline-ingress.ts';
import { PipelineMonitoring } from './pipeline-monitoring.ts';
import { PipelineValve } from './pipeline-valve.ts';
import { Stage } from './stage.ts';

/** Stages above which a pipeline puts each stage in a nested stack (about 14 resources a stage; 500 per stack). */
export const NESTED_STACKS_ABOVE_STAGES = 20;

/** Props of a {@link Pipeline}. */
export interface PipelineProps {
  /** The pipeline, from `definePipeline`: the same definition the local runtime and the simulator read. */
  readonly definition: PipelineDefinition;
  /**
   * Where every stage's alarms notify.
   * @default - a new KMS-encrypted, TLS-only topic shared by all stages
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Put each stage in its own nested stack, keeping every template under CloudFormation's 500 resources.
   * @default - true when the pipeline has more than 20 stages
   */
  readonly nestedStacks?: boolean;
  /**
   * Removal policy of the job and idempotency tables.
   * @default RemovalPolicy.RETAIN
   */
  readonly tablesRemovalPolicy?: RemovalPolicy;
  /**
   * Draft-04 JSON schema of the ingress's request bodies (`requestJsonSchema(zodSchema).schema`); required when the
   * definition has an `ingress` section.
   * @default - none
   */
  readonly requestSchema?: JsonSchema;
  /**
   * The accept handler's source file, when the ingress's integration is `function`.
   * @default - none
   */
  readonly acceptEntry?: string;
}

/**
 * Every stage of a pipeline definition, wired in order: each stage's consumer may send to the next stage's queue,
 * all alarms go to one topic, and the job and idempotency tables exist when the definition turns them on.
 *
 * @example
 * const definition = definePipeline({ name: 'uploads', stages: [{ name: 'scan', consumer: { entry: 'functions/scan.ts' } }] });
 * new Pipeline(this, 'Uploads', { definition });
 */
export class Pipeline extends Construct {
  readonly definition: PipelineDefinition;
  readonly alarmTopic: sns.ITopic;
  readonly tables?: JobTables;
  /** The control table of the limiters, breakers and bulkheads, when the definition needs one. */
  readonly controlTable?: ControlTable;
  /** The valve that pauses stages whose breaker is open or whose next stage is full, when any stage has either. */
  readonly valve?: PipelineValve;
  /** The HTTP ingress (API, low lane, overflow and drainer), when the definition has an `ingress` section. */
  readonly ingress?: PipelineIngress;
  /** Alarms (one composite notifying `alarmTopic`), dashboard and the stack outputs `sluice status --stack` reads. */
  readonly monitoring: PipelineMonitoring;
  private readonly stagesByName = new Map<string, Stage>();

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { definition } = props;
    this.definition = definition;
    // The consumers check the batch payload themselves; the other warnings are about values the definition changed.
    for (const warning of definition.warnings.filter((candidate) => candidate.id !== 'batchPayloadOverLimit')) {
      Annotations.of(this).addWarningV2(`sluice:${warning.id}`, warning.message);
    }
    this.alarmTopic =
      props.alarmTopic ?? new AlarmTopic(this, 'AlarmTopic', { displayName: `sluice ${definition.name} alarms` }).topic;
    if (definition.jobs.enabled || definition.idempotency.enabled) {
      this.tables = new JobTables(this, 'Tables', {
        jobs: definition.jobs.enabled,
        idempotency: definition.idempotency.enabled,
        ...(props.tablesRemovalPolicy === undefined ? {} : { removalPolicy: props.tablesRemovalPolicy }),
      });
    }
    if (definition.controlTable) {
      this.controlTable = new ControlTable(this, 'Control');
    }
    const nested = props.nestedStacks ?? definition.stages.length > NESTED_STACKS_ABOVE_STAGES;
    const byName = new Map(definition.stages.map((stage) => [stage.name, stage]));
    // A stage needs its next stage's queue, so the next stage is built first (the definition has no cycles).
    const build = (stage: ResolvedStage): Stage => {
      const existing = this.stagesByName.get(stage.name);
      if (existing) {
        return existing;
      }
      const nextStage = stage.next === undefined ? undefined : byName.get(stage.next);
      const next = nextStage ? build(nextStage) : undefined;
      const scope = nested
        ? new NestedStack(this, `${stage.name}-stack`, { description: `sluice stage ${stage.name}` })
        : this;
      const built = new Stage(scope, stage.name, {
        stage,
        pipelineName: definition.name,
        alarmTopic: this.alarmTopic,
        ...(next === undefined || nextStage === undefined
          ? {}
          : { next: next.queue, nextDepthLimit: nextStage.flow.depthLimit }),
        ...(this.tables === undefined ? {} : { tables: this.tables }),
        ...(this.controlTable === undefined ? {} : { controlTable: this.controlTable }),
        ...(definition.tenantKey === undefined ? {} : { tenantKey: definition.tenantKey }),
      });
      this.stagesByName.set(stage.name, built);
      return built;
    };
    for (const stage of definition.stages) {
      build(stage);
    }
    const watched = definition.stages.filter((stage) => stage.breaker !== undefined || stage.next !== undefined);
    if (watched.length > 0) {
      this.valve = new PipelineValve(this, 'Valve', {
        pipelineName: definition.name,
        ...(this.controlTable === undefined ? {} : { controlTable: this.controlTable }),
        stages: watched.map((stage) => {
          const next = stage.next === undefined ? undefined : byName.get(stage.next);
          return {
            stage: stage.name,
            consumer: this.stage(stage.name).consumer,
            ...(stage.breaker === undefined ? {} : { breakerOpen: Duration.seconds(stage.breaker.openSeconds) }),
            ...(next === undefined
              ? {}
              : { next: { queue: this.stage(next.name).queue, depthLimit: next.flow.depthLimit } }),
          };
        }),
      });
    }
    if (definition.ingress) {
      if (!props.requestSchema) {
        throw new InvalidPropsError('Pipeline', this.node.path, [
          'requestSchema is required when the definition has an ingress section (use requestJsonSchema(yourZodSchema).schema), but none was provided',
        ]);
      }
      const stageDefinition = byName.get(definition.ingress.stage) as ResolvedStage;
      this.ingress = new PipelineIngress(this, 'Ingress', {
        ingress: definition.ingress,
        stageDefinition,
        stage: this.stage(stageDefinition.name),
        pipelineName: definition.name,
        requestSchema: props.requestSchema,
        ...(props.acceptEntry === undefined ? {} : { acceptEntry: props.acceptEntry }),
        ...(stageDefinition.next === undefined ? {} : { next: this.stage(stageDefinition.next).queue }),
        ...(this.tables === undefined ? {} : { tables: this.tables }),
        alarmTopic: this.alarmTopic,
      });
      if (definition.tenantKey !== undefined) {
        this.ingress.api.acceptFunction?.function.addEnvironment(PRESSURE_ENV.tenantKey, definition.tenantKey);
      }
      // Whole-pipeline admission: the authorizer also reads the depth of every stage after the ingress stage.
      const authorizer = this.ingress.api.authorizerFunction.function;
      const downstream = definition.ingress.downstream.map((entry) => this.stage(entry.stage).queue.queue);
      if (downstream.length > 0) {
        authorizer.addEnvironment(
          PRESSURE_ENV.downstreamQueueUrls,
          Stack.of(this).toJsonString(downstream.map((queue) => queue.queueUrl)),
        );
        for (const queue of downstream) queue.grant(authorizer, 'sqs:GetQueueAttributes');
      }
    }
    this.monitoring = this.monitor(definition, nested);
  }

  private monitor(definition: PipelineDefinition, nested: boolean): PipelineMonitoring {
    const accessLogGroup = this.ingress?.api.node.tryFindChild('AccessLogs') as logs.ILogGroup | undefined;
    return new PipelineMonitoring(this, 'Monitoring', {
      pipelineName: definition.name,
      topic: this.alarmTopic,
      stages: definition.stages.map((resolved) => {
        const stage = this.stage(resolved.name);
        return {
          name: resolved.name,
          queue: stage.queue,
          function: stage.consumer.function,
          ageSlo: Duration.seconds(resolved.flow.ageSloSeconds),
          existingAlarms: [stage.alarms.ageOfOldestMessageAlarm, stage.alarms.deadLetterQueueAlarm].concat(
            stage.alarms.depthAlarm ? [stage.alarms.depthAlarm] : [],
          ),
          ...(nested ? { alarmScope: stage } : {}),
        };
      }),
      ...(this.ingress && accessLogGroup ? { ingress: { api: this.ingress.api.api, accessLogGroup } } : {}),
      ...(this.tables?.jobTable ? { jobTable: this.tables.jobTable } : {}),
    });
  }

  /** The stages in the definition's order. */
  get stages(): readonly Stage[] {
    return this.definition.stages.map((stage) => this.stage(stage.name));
  }

  /** The stage called `name`; throws naming the stages there are. */
  stage(name: string): Stage {
    const stage = this.stagesByName.get(name);
    if (!stage) {
      throw new Error(
        `Pipeline ${this.definition.name} has no stage '${name}'; its stages are: ${this.definition.stages.map((candidate) => candidate.name).join(', ')}`,
      );
    }
    return stage;
  }
}
