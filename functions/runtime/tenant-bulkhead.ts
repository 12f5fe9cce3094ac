import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CONTROL_TABLE } from '../../lib/definition/tables.ts';
import type { AwsClients } from './aws-clients.ts';
import type { Logger } from './log.ts';

/**
 * A tenant bulkhead: at most `maxInFlight` records of one tenant run at once in a stage, across all its containers,
 * so one noisy tenant cannot take every slot. The excess is deferred (no retry budget spent).
 *
 * Slots are leases in one control table item per tenant (`tenant#<pipeline>#<stage>#<tenant>`): a map from lease id to
 * the epoch ms it expires at. Taking a slot is one conditional `UpdateItem` that adds a lease only while the map holds
 * fewer than `maxInFlight` (`size(leases) < :max`, evaluated atomically with the write:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html); giving it
 * back removes the lease. A lease lasts as long as the invocation can (its remaining time plus a second), so a
 * container that crashes or times out holding slots leaks them only until then: a full map with expired leases is
 * cleaned (each removal conditional on the lease being unchanged) before the next take.
 */

const { partitionKey, ttlAttribute } = CONTROL_TABLE;

/** The stage's bulkhead settings, as the definition resolves them (SLUICE_TENANT). */
export interface TenantSettings {
  /** Top-level field of the job's data naming the tenant. */
  readonly key: string;
  readonly maxInFlight: number;
}

/** A held slot; give it back with {@link TenantBulkhead.release}. */
export interface TenantLease {
  readonly tenant: string;
  readonly id: string;
}

/** The control table key of a tenant's slots in a stage. */
export function tenantKey(pipeline: string, stage: string, tenant: string): string {
  return `tenant#${pipeline}#${stage}#${tenant}`;
}

/** Everything a {@link TenantBulkhead} needs. */
export interface TenantBulkheadOptions {
  readonly clients: AwsClients;
  readonly tableName: string;
  readonly pipeline: string;
  readonly stage: string;
  readonly settings: TenantSettings;
  readonly clock: () => number;
  readonly logger: Logger;
}

/** Per-tenant in-flight caps on the control table; see the module comment. */
export class TenantBulkhead {
  readonly settings: TenantSettings;
  private readonly options: TenantBulkheadOptions;

  constructor(options: TenantBulkheadOptions) {
    this.options = options;
    this.settings = options.settings;
  }

  /** The tenant of a job's data, or `undefined` when the field is missing (such records are not capped). */
  tenantOf(data: unknown): string | undefined {
    const value = (data as Record<string, unknown> | null | undefined)?.[this.settings.key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  }

  /** Takes a slot for `tenant` for `leaseMs`, or returns `undefined` when the tenant is at its cap. */
  async acquire(tenant: string, leaseMs: number): Promise<TenantLease | undefined> {
    const { UpdateItemCommand, PutItemCommand, ConditionalCheckFailedException } = await import(
      '@aws-sdk/client-dynamodb'
    );
    const dynamo = await this.options.clients.dynamo();
    const key = { [partitionKey]: { S: tenantKey(this.options.pipeline, this.options.stage, tenant) } };
    const id = randomUUID();
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.options.clock();
      const expiresAtMs = now + Math.max(1_000, leaseMs);
      try {
        await dynamo.send(
          new UpdateItemCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression: 'SET leases.#id = :expires, #ttl = :ttl',
            ConditionExpression: 'attribute_exists(leases) AND size(leases) < :max',
            ExpressionAttributeNames: { '#id': id, '#ttl': ttlAttribute },
            ExpressionAttributeValues: {
              ':expires': { N: String(expiresAtMs) },
              ':max': { N: String(this.settings.maxInFlight) },
              ':ttl': { N: String(Math.ceil(expiresAtMs / 1000) + 3_600) },
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { tenant, id };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const leases = error.Item?.leases?.M;
        if (leases === undefined) {
          // First record of this tenant (or the item expired): create the empty map, unless another container did.
          await dynamo
            .send(
              new PutItemCommand({
                TableName: this.options.tableName,
                Item: { ...key, leases: { M: {} }, [ttlAttribute]: { N: String(Math.ceil(now / 1000) + 3_600) } },
                ConditionExpression: 'attribute_not_exists(#key)',
                ExpressionAttributeNames: { '#key': partitionKey },
              }),
            )
            .catch((putError: unknown) => {
              if (!(putError instanceof ConditionalCheckFailedException)) throw putError;
            });
          continue;
        }
        const expired = Object.entries(leases).filter(([, value]) => Number(value.N) < now);
        if (expired.length === 0) {
          return undefined;
        }
        await this.removeExpired(key, expired);
      }
    }
    return undefined;
  }

  /** Gives a slot back. Best effort: a slot that cannot be given back frees itself when its lease expires. */
  async release(lease: TenantLease): Promise<void> {
    const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamo = await this.options.clients.dynamo();
    try {
      await dynamo.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { [partitionKey]: { S: tenantKey(this.options.pipeline, this.options.stage, lease.tenant) } },
          UpdateExpression: 'REMOVE leases.#id',
          ExpressionAttributeNames: { '#id': lease.id },
        }),
      );
    } catch (error) {
      this.options.logger.warn('Could not give back a tenant slot; it frees itself when its lease expires', {
        tenant: lease.tenant,
        error,
      });
    }
  }

  /** Removes leases whose holders crashed, each only if it still holds the expiry that was read. */
  private async removeExpired(key: Record<string, AttributeValue>, expired: [string, AttributeValue][]): Promise<void> {
    const { UpdateItemCommand, ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
    const dynamo = await this.options.clients.dynamo();
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const conditions: string[] = [];
    expired.forEach(([id, value], index) => {
      names[`#l${index}`] = id;
      values[`:v${index}`] = value;
      conditions.push(`leases.#l${index} = :v${index}`);
    });
    try {
      await dynamo.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: key,
          UpdateExpression: `REMOVE ${expired.map((_, index) => `leases.#l${index}`).join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      this.options.logger.warn('Freed tenant slots whose holders did not give them back before their lease expired', {
        slots: expired.length,
      });
    } catch (error) {
      // Another container cleaned (or a holder released) first: the next take sees the fresh map.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
