import { METRIC_DIMENSIONS, METRICS_NAMESPACE, RUNTIME_METRICS } from '../../lib/definition/metrics.ts';

/**
 * Structured JSON logs and CloudWatch embedded metric format (EMF) documents, written to stdout where Lambda sends
 * them to CloudWatch Logs. One log line per event; one EMF document per batch.
 */

/** Log levels in increasing severity. `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls) filters them. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields every line of a logger carries. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where log lines go; tests pass their own to read them. */
export type LogSink = (line: string) => void;

/** A structured logger bound to some fields (stage, job id, correlation id). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: LogFields): Logger;
}

const stdout: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** A logger writing JSON lines to `sink` (stdout by default) at `level` and above. */
export function createLogger(
  fields: LogFields = {},
  level: LogLevel = levelFromEnvironment(),
  sink: LogSink = stdout,
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const bound = boundFieldsJson(fields);
  const write = (lineLevel: LogLevel, message: string, extra?: LogFields) => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) {
      return;
    }
    if (bound !== undefined && !bound.needsMerge(extra)) {
      // The same line as below, without merging the fields into a new object first: only `extra` is serialized.
      sink(
        `{"timestamp":"${isoNow()}","level":"${lineLevel}","message":${JSON.stringify(message)}${bound.json}${fieldsJson(extra)}}`,
      );
      return;
    }
    const line = { timestamp: isoNow(), level: lineLevel, message, ...fields, ...extra };
    // A replacer takes JSON.stringify off its fast path (a third of a line's cost): use it only for a line with an Error.
    sink(hasError(extra) || hasError(fields) ? JSON.stringify(line, errorReplacer) : JSON.stringify(line));
  };
  return {
    debug: (message, extra) => write('DEBUG', message, extra),
    info: (message, extra) => write('INFO', message, extra),
    warn: (message, extra) => write('WARN', message, extra),
    error: (message, extra) => write('ERROR', message, extra),
    child: (more) => createLogger({ ...fields, ...more }, level, sink),
  };
}

/** The keys every line starts with; bound fields or extra fields of these names take the merging path. */
const LINE_KEYS = ['timestamp', 'level', 'message'];

/**
 * A logger's bound fields serialized once (`,"stage":"embed"`), when that gives the same lines as merging them into
 * each line: every value is a primitive (nothing to mutate later, no Error) and no key is one of the line's own. A
 * line whose extra fields name a bound or line key merges instead, so the later value wins where the key first stood.
 */
function boundFieldsJson(fields: LogFields): { json: string; needsMerge(extra?: LogFields): boolean } | undefined {
  const keys = new Set(LINE_KEYS);
  for (const key in fields) {
    const value = fields[key];
    if (keys.has(key) || (value !== null && typeof value === 'object') || typeof value === 'function') return undefined;
    if (typeof value === 'bigint' || typeof value === 'symbol') return undefined;
    keys.add(key);
  }
  return {
    json: fieldsJson(fields),
    needsMerge(extra) {
      // An Error as the extra fields themselves is spread (own enumerable properties), not replaced by the replacer.
      if (extra instanceof Error) return true;
      for (const key in extra) {
        if (keys.has(key)) return true;
      }
      return false;
    },
  };
}

/** Fields as they continue a JSON object: `,"key":value…`, or nothing when none serializes. */
function fieldsJson(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  // A replacer takes JSON.stringify off its fast path (a third of a line's cost): use it only for a line with an Error.
  const json = hasError(fields) ? JSON.stringify(fields, errorReplacer) : JSON.stringify(fields);
  return json.length > 2 ? `,${json.slice(1, -1)}` : '';
}

let lastMs = 0;
let lastIso = '';

/** The time as ISO 8601, formatted once per millisecond: lines of one batch share most of their timestamps. */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

function levelFromEnvironment(): LogLevel {
  const value = process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(value ?? '') ? (value as LogLevel) : 'INFO';
}

/** Whether a field holds an Error, or an object or array that may hold one (which the replacer turns into name and message). */
function hasError(values: LogFields | undefined): boolean {
  if (values === undefined) return false;
  for (const key in values) {
    const value = values[key];
    if (typeof value === 'object' && value !== null) return true;
  }
  return false;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  return value;
}

/** Counts and per-record processing times of one batch. */
export interface BatchMetrics {
  readonly records: number;
  readonly succeeded: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** Duplicates skipped by idempotency. */
  readonly skipped: number;
  /** Milliseconds each record whose handler ran took, from its start to its outcome. */
  readonly processingTimesMs: readonly number[];
}

/** CloudWatch takes at most 100 values per metric in one EMF document. */
const EMF_MAX_VALUES = 100;

/**
 * EMF documents for one batch, in the `sluice` namespace with `Pipeline` and `Stage` dimensions. Processing times go
 * as value arrays so CloudWatch can compute p50 and p99; more than 100 of them are split across documents.
 */
export function batchMetricDocuments(
  metrics: BatchMetrics,
  dimensions: { pipeline: string; stage: string },
  now = Date.now(),
): string[] {
  const documents: string[] = [];
  const times = metrics.processingTimesMs;
  // Written as text rather than JSON.stringify of a nested object: this runs once per batch on the hot path, and only
  // the numbers change. The dimension values are the only strings that need escaping.
  const dimensionFields = `${PIPELINE_KEY}${JSON.stringify(dimensions.pipeline)},${STAGE_KEY}${JSON.stringify(dimensions.stage)}`;
  const chunks = Math.max(1, Math.ceil(times.length / EMF_MAX_VALUES));
  for (let chunk = 0; chunk < chunks; chunk++) {
    const first = chunk === 0;
    const values = chunks === 1 ? times : times.slice(chunk * EMF_MAX_VALUES, (chunk + 1) * EMF_MAX_VALUES);
    const definitions = first ? (values.length > 0 ? COUNTS_AND_TIMES : COUNTS_ONLY) : TIMES_ONLY;
    const counts = first
      ? `${COUNT_KEYS.records}${metrics.records}${COUNT_KEYS.succeeded}${metrics.succeeded}${COUNT_KEYS.retried}${metrics.retried}${COUNT_KEYS.deadLettered}${metrics.deadLettered}${COUNT_KEYS.skipped}${metrics.skipped}`
      : '';
    const processing = values.length > 0 ? `${PROCESSING_TIME_KEY}[${joinMs(values)}]` : '';
    documents.push(
      `{"_aws":{"Timestamp":${now},"CloudWatchMetrics":${definitions}},${dimensionFields}${counts}${processing}}`,
    );
  }
  return documents;
}

/** `.001` to `.999` (trailing zeros dropped) by thousandths, and '' for none: the fractions of a millisecond value. */
const THOUSANDTHS = Array.from({ length: 1000 }, (_, thousandths) =>
  thousandths === 0 ? '' : `.${String(thousandths).padStart(3, '0').replace(/0+$/, '')}`,
);

/**
 * Milliseconds as JSON numbers, joined by commas: the text `values.join(',')` gives. A value to the microsecond (as
 * the runtime rounds them) is written from its whole milliseconds and a table of fractions, which costs a third of
 * formatting a fractional double; any other value is formatted as usual.
 */
export function joinMs(values: readonly number[]): string {
  let text = '';
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as number;
    const micros = Math.round(value * 1000);
    let formatted: string;
    if (micros / 1000 === value && micros >= 0 && micros < 1e15) {
      const whole = Math.floor(micros / 1000);
      formatted = `${whole}${THOUSANDTHS[micros - whole * 1000]}`;
    } else {
      formatted = String(value);
    }
    text = index === 0 ? formatted : `${text},${formatted}`;
  }
  return text;
}

// The document's keys, from lib/definition/metrics.ts (which the alarms and `sluice status` read), made once.
const PIPELINE_KEY = `"${METRIC_DIMENSIONS.pipeline}":`;
const STAGE_KEY = `"${METRIC_DIMENSIONS.stage}":`;
const PROCESSING_TIME_KEY = `,"${RUNTIME_METRICS.processingTime}":`;
const COUNT_KEYS = {
  records: `,"${RUNTIME_METRICS.records}":`,
  succeeded: `,"${RUNTIME_METRICS.succeeded}":`,
  retried: `,"${RUNTIME_METRICS.retried}":`,
  deadLettered: `,"${RUNTIME_METRICS.deadLettered}":`,
  skipped: `,"${RUNTIME_METRICS.skipped}":`,
};
const COUNT_DEFINITIONS = [
  RUNTIME_METRICS.records,
  RUNTIME_METRICS.succeeded,
  RUNTIME_METRICS.retried,
  RUNTIME_METRICS.deadLettered,
  RUNTIME_METRICS.skipped,
].map((Name) => ({ Name, Unit: 'Count' }));
const TIME_DEFINITION = { Name: RUNTIME_METRICS.processingTime, Unit: 'Milliseconds' };
const cloudWatchMetrics = (definitions: readonly object[]) =>
  JSON.stringify([
    {
      Namespace: METRICS_NAMESPACE,
      Dimensions: [[METRIC_DIMENSIONS.pipeline, METRIC_DIMENSIONS.stage]],
      Metrics: definitions,
    },
  ]);
const COUNTS_AND_TIMES = cloudWatchMetrics([...COUNT_DEFINITIONS, TIME_DEFINITION]);
const COUNTS_ONLY = cloudWatchMetrics(COUNT_DEFINITIONS);
const TIMES_ONLY = cloudWatchMetrics([TIME_DEFINITION]);
