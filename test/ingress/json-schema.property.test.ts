import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type $ZodType, safeParse } from 'zod/v4/core';
import { ChunkJob, DocumentJob } from '../../functions/examples/schemas.ts';
import { requestJsonSchema, UnrepresentableSchemaError } from '../../lib/definition/json-schema.ts';

/**
 * zod and the draft-04 JSON schema generated from it must agree: every body one accepts the other accepts, on valid
 * bodies and on mutated ones. Strings stay in the Basic Multilingual Plane (see `requestJsonSchema`'s limits).
 */

// Both packages are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

const bmpChar = fc.integer({ min: 0x20, max: 0xd7ff }).map((code) => String.fromCharCode(code));
const text = (options: { minLength?: number; maxLength?: number }) => fc.string({ unit: bmpChar, ...options });
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** A schema using most of what request bodies use: bounds, integers, exclusive bounds, enums, arrays, nesting, null. */
const Order = z.strictObject({
  id: z.string().min(1).max(20),
  count: z.int().min(0).max(1000),
  ratio: z.number().gt(0).lte(1),
  kind: z.enum(['standard', 'express']),
  tags: z.array(z.string().max(5)).max(3),
  code: z.string().regex(/^[A-Z]{3}$/),
  shipping: z.strictObject({ gift: z.boolean(), note: z.string().max(10).nullable() }).optional(),
});

const validOrder = fc.record(
  {
    id: text({ minLength: 1, maxLength: 20 }),
    count: fc.integer({ min: 0, max: 1000 }),
    ratio: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
    kind: fc.constantFrom('standard', 'express'),
    tags: fc.array(text({ maxLength: 5 }), { maxLength: 3 }),
    code: fc.stringMatching(/^[A-Z]{3}$/),
    shipping: fc.record({ gift: fc.boolean(), note: fc.option(text({ maxLength: 10 }), { nil: null }) }),
  },
  { requiredKeys: ['id', 'count', 'ratio', 'kind', 'tags', 'code'] },
);

const validDocument = fc.record(
  {
    documentId: text({ minLength: 1, maxLength: 128 }),
    source: fc.webUrl({ validSchemes: ['https', 'http'] }).filter((url) => url.length <= 2048),
    contentType: fc.constantFrom('text/plain', 'text/markdown', 'text/html', 'application/pdf'),
    title: text({ maxLength: 512 }),
  },
  { requiredKeys: ['documentId', 'source', 'contentType'] },
);

const validChunk = fc.record({
  documentId: text({ minLength: 1, maxLength: 128 }),
  chunkIndex: fc.integer({ min: 0, max: 9999 }),
  text: text({ minLength: 1, maxLength: 300 }),
});

/** A valid body with one field replaced by a value of a different kind, removed, or an unknown field added. */
function mutated(
  valid: fc.Arbitrary<Record<string, unknown>>,
  replacements: fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('replace', 'remove', 'add'), replacements)
    .map(([body, index, how, value]) => {
      const keys = Object.keys(body);
      const key = keys[index % keys.length] as string;
      const copy: Record<string, unknown> = { ...body };
      if (how === 'replace') copy[key] = value;
      if (how === 'remove') delete copy[key];
      if (how === 'add') copy[`extra${index}`] = value;
      return copy;
    });
}

/** Replacement values: other JSON kinds, plus out-of-range values of the right kinds. */
const replacements = fc.oneof(
  anyJson,
  fc.integer({ min: -5, max: 20_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text({ maxLength: 30 }),
  fc.constantFrom('', 'A1C', 'ABCD', 'abc', 'overnight', 2.5, -1, 0, 1001, null, [], {}),
);

function agree(schema: $ZodType): (body: unknown) => void {
  const validate = ajv.compile(requestJsonSchema(schema).schema as object);
  return (body) => {
    const byZod = safeParse(schema, body).success;
    const byJsonSchema = validate(body) === true;
    expect({ body, byJsonSchema }).toEqual({ body, byJsonSchema: byZod });
  };
}

describe('zod and the generated JSON schema agree', () => {
  it('accept every valid body (Order)', () => {
    const check = agree(Order);
    fc.assert(
      fc.property(validOrder, (body) => {
        expect(Order.safeParse(body).success).toBe(true);
        check(body);
      }),
      { numRuns: 300 },
    );
  });

  it('agree on mutated bodies (Order)', () => {
    const check = agree(Order);
    let rejected = 0;
    fc.assert(
      fc.property(mutated(validOrder, replacements), (body) => {
        if (!Order.safeParse(body).success) rejected += 1;
        check(body);
      }),
      { numRuns: 1000 },
    );
    // The mutations must actually produce invalid bodies, or the agreement above says little.
    expect(rejected).toBeGreaterThan(500);
  });

  it('agree on arbitrary JSON values', () => {
    const check = agree(Order);
    fc.assert(fc.property(anyJson, check), { numRuns: 300 });
  });

  it('agree on valid and mutated document jobs', () => {
    const check = agree(DocumentJob);
    fc.assert(
      fc.property(validDocument, (body) => {
        expect(DocumentJob.safeParse(body).success).toBe(true);
        check(body);
      }),
      { numRuns: 200 },
    );
    const documentReplacements = fc.oneof(
      anyJson.filter((value) => typeof value !== 'string'),
      fc.constantFrom('', 'not a url', 'text/rtf', 'x'.repeat(129)),
    );
    fc.assert(fc.property(mutated(validDocument, documentReplacements), check), { numRuns: 500 });
  });

  it('agree on valid and mutated chunk jobs', () => {
    const check = agree(ChunkJob);
    fc.assert(fc.property(validChunk, check), { numRuns: 200 });
    fc.assert(fc.property(mutated(validChunk, replacements), check), { numRuns: 500 });
  });
});

describe('requestJsonSchema', () => {
  it('targets draft-04 and forbids unknown fields of a strict object', () => {
    const { schema } = requestJsonSchema(ChunkJob, { title: 'ChunkJob' });

    expect(schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'ChunkJob',
      additionalProperties: false,
      required: ['documentId', 'chunkIndex', 'text'],
    });
  });

  it('lists a format API Gateway may not check', () => {
    const { limits } = requestJsonSchema(DocumentJob);

    expect(limits).toContainEqual(expect.stringMatching(/^source: format 'uri' may not be checked by API Gateway/));
  });

  it('fails if the schema has a type JSON cannot carry', () => {
    expect(() => requestJsonSchema(z.object({ at: z.date() }))).toThrow(
      /cannot be expressed as a draft-04 JSON schema for API Gateway/,
    );
    expect(() => requestJsonSchema(z.object({ at: z.date() }))).toThrow(UnrepresentableSchemaError);
  });
});
