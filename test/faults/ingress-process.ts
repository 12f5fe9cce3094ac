import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DocumentJob } from '../../functions/examples/schemas.ts';
import { downstreamAdmissionOf } from '../../lib/definition/index.ts';
import { LOCAL_CREDENTIALS } from '../../lib/local/engines.ts';
import { startIngressServer } from '../../lib/local/ingress-server.ts';
import { provisionPipeline } from '../../lib/local/provision.ts';
import { type FaultPipelineOptions, faultPipeline } from './fault-pipeline.ts';

/**
 * The fault pipeline's ingress in a process of its own, so a fault can SIGKILL it mid-load (requests in flight, sends
 * half done) and start it again on the same port. It is started with what `startLocalPipeline` gives its ingress
 * (lanes, overflow queue, downstream admission, tenant key, job table, the example's DocumentJob schema). Reads its
 * setup from FAULT_INGRESS (JSON) and prints `ready`.
 */
const setup = JSON.parse(process.env.FAULT_INGRESS as string) as FaultPipelineOptions & {
  readonly sqsEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly region: string;
  readonly prefix: string;
  readonly port: number;
};
const sqs = new SQSClient({
  endpoint: setup.sqsEndpoint,
  region: setup.region,
  credentials: LOCAL_CREDENTIALS,
  useQueueUrlAsEndpoint: false,
});
const dynamo = new DynamoDBClient({
  endpoint: setup.dynamoEndpoint,
  region: setup.region,
  credentials: LOCAL_CREDENTIALS,
});
const pipeline = faultPipeline(setup);
// Provisioning again finds the queues and tables the test created and reuses them.
const provisioned = await provisionPipeline(pipeline, { sqs, dynamo, prefix: setup.prefix });
const first = provisioned.stages.get(pipeline.ingress?.stage ?? '');
if (!first) throw new Error('the fault pipeline has no ingress stage');
await startIngressServer({
  sqs,
  dynamo,
  stage: first,
  ...(pipeline.tenantKey === undefined ? {} : { tenantKey: pipeline.tenantKey }),
  downstream: downstreamAdmissionOf(pipeline.stages, first.stage.name).map((admission) => ({
    admission,
    queueUrl: (provisioned.stages.get(admission.stage) as { queueUrl: string }).queueUrl,
  })),
  ...(pipeline.ingress ? { ingress: pipeline.ingress } : {}),
  ...(provisioned.ingress?.lowLane ? { lowLaneQueueUrl: provisioned.ingress.lowLane.queueUrl } : {}),
  ...(provisioned.ingress?.overflowQueueUrl ? { overflowQueueUrl: provisioned.ingress.overflowQueueUrl } : {}),
  ...(provisioned.jobTableName ? { jobTableName: provisioned.jobTableName } : {}),
  schema: DocumentJob,
  depthCacheTtlSeconds: 0.2,
  port: setup.port,
});
process.stdout.write('ready\n');
