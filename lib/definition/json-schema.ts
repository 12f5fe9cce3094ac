import * as z from 'zod';
import type { $ZodType } from 'zod/v4/core';

/**
 * The JSON schema of a request body, generated from the stage's zod schema so there is one source of truth.
 *
 * API Gateway request models are JSON Schema draft-04. The schema describes the *input* side of the zod schema (a
 * field with a default is optional). What draft-04 cannot say is left out and listed in `RequestSchema.limits`:
 * API Gateway lets such a body through and the consumer's zod parse (or the accept function's, in function mode)
 * rejects it with the zod message.
 */

/** A JSON schema document. */
export type JsonSchema = { readonly [key: string]: unknown };

/** A generated request schema and what it cannot check. */
export interface RequestSchema {
  readonly schema: JsonSchema;
  /** Differences between the JSON schema and zod that a body can fall into. */
  readonly limits: readonly string[];
}

/** Thrown when a zod schema cannot become a JSON schema at all (a transform, a recursive type, a function...). */
export class UnrepresentableSchemaError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`The request schema cannot be expressed as a draft-04 JSON schema for API Gateway: ${reason}`, options);
    this.name = 'UnrepresentableSchemaError';
  }
}

/** Differences that apply to every generated schema. */
const GENERAL_LIMITS = [
  'string lengths: JSON schema counts code points, zod counts UTF-16 units, so they differ for characters outside the Basic Multilingual Plane (e.g. emoji)',
];

/**
 * The draft-04 JSON schema of request bodies that `schema` accepts.
 *
 * @example
 * const { schema } = requestJsonSchema(DocumentJob);
 * new apigateway.Model(this, 'Model', { restApi, schema: schema as apigateway.JsonSchema });
 */
export function requestJsonSchema(schema: $ZodType, options: { readonly title?: string } = {}): RequestSchema {
  let generated: Record<string, unknown>;
  try {
    generated = z.toJSONSchema(schema, {
      target: 'draft-04',
      io: 'input',
      unrepresentable: 'throw',
      cycles: 'throw',
      reused: 'inline',
    }) as Record<string, unknown>;
  } catch (error) {
    throw new UnrepresentableSchemaError((error as Error).message, { cause: error });
  }
  const limits = [...GENERAL_LIMITS];
  collectLimits(generated, '', limits);
  return {
    schema: options.title === undefined ? generated : { ...generated, title: options.title },
    limits: [...new Set(limits)],
  };
}

function collectLimits(node: unknown, path: string, limits: string[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const [index, item] of node.entries()) collectLimits(item, `${path}[${index}]`, limits);
    return;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.format === 'string' && record.pattern === undefined) {
    limits.push(
      `${path || '(body)'}: format '${record.format}' may not be checked by API Gateway; zod checks it in the consumer`,
    );
  }
  for (const [key, value] of Object.entries(record)) {
    if (key === 'properties' && value !== null && typeof value === 'object') {
      for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
        collectLimits(child, path ? `${path}.${name}` : name, limits);
      }
    } else if (key !== 'enum' && key !== 'required') {
      collectLimits(value, path, limits);
    }
  }
}
