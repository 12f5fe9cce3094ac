import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { lazyClients } from '../../functions/runtime/aws-clients.ts';
import { DEFERRAL_ATTRIBUTES } from '../../functions/runtime/deferral.ts';
import { consumer } from '../../functions/runtime/index.ts';
import { createLogger } from '../../functions/runtime/log.ts';
import { TenantBulkhead, tenantKey } from '../../functions/runtime/tenant-bulkhead.ts';
import { CONTROL_TABLE } from '../../lib/definition/index.ts';
import { localDynamoClient, localSqsClient, uniqueName } from '../helpers/engines.ts';
import {
  createQueuePair,
  createTable,
  fakeContext,
  job,
  receive,
  receiveEvent,
  sendBodies,
} from '../helpers/runtime-fixture.ts';

const Document = z.strictObject({ tenantId: z.string(), documentId: z.string() });

let sqs: SQSClient;
let dynamo: DynamoDBClient;
let controlTable: string;
beforeAll(async () => {
  sqs = localSqsClient();
  dynamo = localDynamoClient();
  controlTable = await createTable(dynamo, CONTROL_TABLE);
});

describe('tenant bulkhead', () => {
  it("caps one noisy tenant's in-flight records across two containers and defers the excess; a quiet tenant runs", async () => {
    // GIVEN two containers of a stage capping each tenant at 2 records in flight
    const queue = await createQueuePair(sqs);
    const pipeline = uniqueName('docs');
    const ran: string[] = [];
    const inFlight = { noisy: 0, quiet: 0 };
    const most = { noisy: 0, quiet: 0 };
    let open: () => void = () => undefined;
    // Admitted records hold their slot until 2 noisy and 2 quiet run at once, so the admissions overlap.
    const allStarted = new Promise<void>((resolve) => {
      open = resolve;
    });
    const container = () =>
      consumer({
        schema: Document,
        stage: 'extract',
        pipeline,
        queueUrl: queue.queueUrl,
        clients: { sqs, dynamo },
        recordConcurrency: 10,
        pressure: {
          controlTableName: controlTable,
          tenant: { key: 'tenantId', maxInFlight: 2 },
          deferral: { baseSeconds: 60, maxSeconds: 60 },
        },
        logSink: () => undefined,
        handler: async (document) => {
          const tenant = document.tenantId as 'noisy' | 'quiet';
          ran.push(tenant);
          most[tenant] = Math.max(most[tenant], ++inFlight[tenant]);
          if (inFlight.noisy >= 2 && inFlight.quiet >= 2) open();
          await allStarted;
          inFlight[tenant]--;
        },
      });
    const [a, b] = [container(), container()];
    // 8 records of the noisy tenant and 2 of a quiet one, split between the containers
    const bodies = (tenantId: string, count: number) =>
      Array.from({ length: count }, (_, index) => job({ tenantId, documentId: `${tenantId}-${index}` }));
    await sendBodies(sqs, queue.queueUrl, [...bodies('noisy', 5), ...bodies('quiet', 1)]);
    const eventA = await receiveEvent(sqs, queue, 6);
    await sendBodies(sqs, queue.queueUrl, [...bodies('noisy', 3), ...bodies('quiet', 1)]);
    const eventB = await receiveEvent(sqs, queue, 4);

    // WHEN both run at once
    const [resultA, resultB] = await Promise.all([a(eventA, fakeContext()), b(eventB, fakeContext())]);

    // THEN never more than 2 noisy records ran at once, the quiet tenant ran both of its own; nothing failed
    expect(resultA.batchItemFailures).toEqual([]);
    expect(resultB.batchItemFailures).toEqual([]);
    expect(most.noisy).toBe(2);
    expect(ran.filter((tenant) => tenant === 'quiet')).toHaveLength(2);
    // AND every noisy record that did not run was deferred (sent again, with a 60 s delay) rather than failed; a
    // record admitted after the first two finished may have run, the cap is on records at once
    const noisyRan = ran.filter((tenant) => tenant === 'noisy').length;
    expect(noisyRan).toBeLessThan(8);
    const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessagesDelayed).toBe(String(8 - noisyRan));
    // AND every slot was given back
    const item = await dynamo.send(
      new GetItemCommand({
        TableName: controlTable,
        Key: { pk: { S: tenantKey(pipeline, 'extract', 'noisy') } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.leases?.M).toEqual({});
  });

  it('defers with reason tenant-cap and frees the slots of a crashed container once their lease expires', async () => {
    // GIVEN a tenant whose 2 slots are held by a container that crashed: one lease expired, one still running
    const pipeline = uniqueName('docs');
    const now = 5_000_000;
    await dynamo.send(
      new PutItemCommand({
        TableName: controlTable,
        Item: {
          pk: { S: tenantKey(pipeline, 'extract', 'acme') },
          leases: { M: { crashed: { N: String(now - 1) }, running: { N: String(now + 60_000) } } },
        },
      }),
    );
    const bulkhead = new TenantBulkhead({
      clients: lazyClients({ dynamo }),
      tableName: controlTable,
      pipeline,
      stage: 'extract',
      settings: { key: 'tenantId', maxInFlight: 2 },
      clock: () => now,
      logger: createLogger({}, 'ERROR', () => undefined),
    });
    // WHEN a record of that tenant asks for a slot
    const lease = await bulkhead.acquire('acme', 30_000);
    // THEN it gets the expired one's place, and the next one is refused
    expect(lease?.tenant).toBe('acme');
    expect(await bulkhead.acquire('acme', 30_000)).toBeUndefined();

    // AND through the consumer, the refused record is deferred for tenant-cap
    const queue = await createQueuePair(sqs);
    const run = consumer({
      schema: Document,
      stage: 'extract',
      pipeline,
      queueUrl: queue.queueUrl,
      clients: { sqs, dynamo },
      pressure: {
        controlTableName: controlTable,
        tenant: { key: 'tenantId', maxInFlight: 2 },
        deferral: { baseSeconds: 0, maxSeconds: 0 },
        clock: () => now,
      },
      logSink: () => undefined,
      handler: () => undefined,
    });
    await sendBodies(sqs, queue.queueUrl, [job({ tenantId: 'acme', documentId: 'd' })]);
    expect((await run(await receiveEvent(sqs, queue, 1), fakeContext())).batchItemFailures).toEqual([]);
    const [held] = await receive(sqs, queue.queueUrl, 1);
    expect(held?.MessageAttributes?.[DEFERRAL_ATTRIBUTES.reason]?.StringValue).toBe('tenant-cap');
    expect(held?.Attributes?.ApproximateReceiveCount).toBe('1');
  });

  it('fails if the bulkhead is misconfigured', () => {
    expect(() =>
      consumer({
        schema: Document,
        handler: () => undefined,
        pressure: { controlTableName: 't', tenant: { key: '', maxInFlight: 0 } },
      }),
    ).toThrow(
      /tenant.key must name a field of the job's data, but ""[\s\S]*tenant.maxInFlight must be an integer of at least 1, but 0/,
    );
  });
});
