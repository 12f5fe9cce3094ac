import { $ZodAsyncError, type $ZodRawIssue, type $ZodType, util, config as zodConfig } from 'zod/v4/core';

/** A job's data that does not match the schema: each issue as `path: message`. */
export class DataIssues {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    this.issues = issues;
  }
}

// The parse context of a synchronous run. A run that fails may mark its context (zod's compiled parsers flag a
// fallback on it), so the context is replaced after every failure; a run that succeeds leaves it as it was, so valid
// records share one.
let context: { async: false } = { async: false };

/**
 * Parses a job's data: the parsed data, or {@link DataIssues} when it does not match (a promise of either for a schema
 * with async refinements, which a synchronous run refuses). A refinement that throws propagates.
 *
 * It calls the schema's `_zod.run`, zod core's parse protocol (the one `safeParse` calls), and finalizes the issues
 * itself: `safeParse` wraps a failure in a result with accessors and a `$ZodError`, which cost a third of a failed
 * record's handling, and allocates a context per call (bench/consumer.bench.ts, the 1-in-20 failure case).
 */
export function parseData(schema: $ZodType, value: unknown): unknown {
  const runContext = context;
  let result: ReturnType<$ZodType['_zod']['run']>;
  try {
    result = schema._zod.run({ value, issues: [] }, runContext);
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
  if (result.issues.length === 0) return result.value;
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
