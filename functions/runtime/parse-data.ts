import { $ZodAsyncError, type $ZodRawIssue, type $ZodType, util, version, config as zodConfig } from 'zod/v4/core';

/** A job's data that does not match the schema: each issue as `path: message`. */
export class DataIssues {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    this.issues = issues;
  }
}

/**
 * A schema's data parser: the parsed data, or {@link DataIssues} when it does not match (a promise of either for a
 * schema with async refinements). A refinement that throws propagates.
 */
export type DataParser = (value: unknown) => unknown;

/**
 * The parser of a user's schema. zod documents `_zod` as internals (https://zod.dev/packages/core) and points library
 * authors that take user schemas to the Standard Schema interface (https://zod.dev/library-authors), which every zod 4
 * schema implements as `~standard`. The fast path calls `_zod.run` (the parse protocol zod's own `safeParse` calls)
 * and finalizes the issues with this zod's `util.finalizeIssue`; it is taken only for a schema built by this zod's
 * major.minor (`_zod.version`) whose `run` is a function. Any other schema — another zod 4.x minor than sluice's,
 * a shape this code does not know — goes through its own `~standard.validate`, which runs in the schema's own zod.
 */
export function dataParser(schema: $ZodType): DataParser {
  if (hasKnownInternals(schema)) {
    return (value) => parseData(schema, value);
  }
  const standard = (schema as { '~standard'?: StandardProps })['~standard'];
  if (standard === undefined || typeof standard.validate !== 'function') {
    throw new TypeError(
      'schema must be a zod 4 (or zod/mini) schema: it has neither zod 4 internals nor a Standard Schema validate',
    );
  }
  return (value) => {
    const result = standard.validate(value);
    return result instanceof Promise ? result.then(standardOutcome) : standardOutcome(result);
  };
}

/** Whether `schema` has the internals of this zod's major.minor, which the fast path relies on. */
export function hasKnownInternals(schema: $ZodType): boolean {
  const internals = (schema as { _zod?: { run?: unknown; version?: { major?: unknown; minor?: unknown } } })._zod;
  return (
    internals !== undefined &&
    typeof internals.run === 'function' &&
    internals.version?.major === version.major &&
    internals.version?.minor === version.minor
  );
}

/** The Standard Schema v1 interface (https://standardschema.dev), as far as the fallback uses it. */
interface StandardProps {
  validate(value: unknown): StandardResult | Promise<StandardResult>;
}
type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: readonly {
        readonly message: string;
        readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[];
      }[];
    };

function standardOutcome(result: StandardResult): unknown {
  if (result.issues === undefined) return result.value;
  return new DataIssues(
    result.issues.map((issue) => {
      const path = (issue.path ?? []).map((segment) =>
        typeof segment === 'object' && segment !== null ? String(segment.key) : String(segment),
      );
      return `${path.length > 0 ? path.join('.') : '(root)'}: ${issue.message}`;
    }),
  );
}

// The parse context and payload of a synchronous run. A run that fails may mark its context (zod's compiled parsers
// flag a fallback on it) and fills its payload's issues, so both are replaced after every failure; a run that succeeds
// leaves them as they were (the payload's value aside), so valid records share them and allocate neither.
let context: { async: false } = { async: false };
let spare: { value: unknown; issues: $ZodRawIssue[] } | undefined;

/**
 * Parses a job's data with a schema of this zod's version (see {@link dataParser}): the parsed data, or
 * {@link DataIssues} when it does not match (a promise of either for a schema with async refinements, which a
 * synchronous run refuses). A refinement that throws propagates.
 *
 * It calls the schema's `_zod.run`, zod core's parse protocol (the one `safeParse` calls), and finalizes the issues
 * itself: `safeParse` wraps a failure in a result with accessors and a `$ZodError`, which cost a third of a failed
 * record's handling, and allocates a context and a payload per call (bench/consumer.bench.ts, the 1-in-20 failure
 * case).
 */
export function parseData(schema: $ZodType, value: unknown): unknown {
  const runContext = context;
  // Taken out while it runs: a refinement that parses another job's data meanwhile gets a payload of its own.
  const payload = spare ?? { value, issues: [] };
  spare = undefined;
  payload.value = value;
  let result: ReturnType<$ZodType['_zod']['run']>;
  try {
    result = schema._zod.run(payload, runContext);
  } catch (error) {
    context = { async: false };
    if (error instanceof $ZodAsyncError) return parseDataAsync(schema, value);
    throw error;
  }
  if (result instanceof Promise) {
    context = { async: false };
    return result.then((settled) =>
      settled.issues.length === 0 ? settled.value : issuesOf(settled.issues, runContext),
    );
  }
  if (result.issues.length === 0) {
    const parsed = result.value;
    if (result === payload) {
      payload.value = undefined;
      spare = payload;
    }
    return parsed;
  }
  context = { async: false };
  return issuesOf(result.issues, runContext);
}

async function parseDataAsync(schema: $ZodType, value: unknown): Promise<unknown> {
  const asyncContext = { async: true };
  const result = await schema._zod.run({ value, issues: [] }, asyncContext);
  return result.issues.length === 0 ? result.value : issuesOf(result.issues, asyncContext);
}

function issuesOf(raw: readonly $ZodRawIssue[], runContext: { async: boolean }): DataIssues {
  const config = zodConfig();
  return new DataIssues(
    raw.map((rawIssue) => {
      const issue = util.finalizeIssue(rawIssue, runContext, config);
      return `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`;
    }),
  );
}
