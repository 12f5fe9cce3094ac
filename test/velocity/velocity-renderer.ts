import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * API Gateway's mapping-template engine for tests: Apache Velocity 1.7 (Debian's `velocity` package) with `$input`,
 * `$util` and `$context` as AWS documents them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html),
 * in one long-running JVM (`VelocityRenderer.java`, compiled with javac on first use) that renders many templates over
 * stdin/stdout.
 */

const JARS = [
  '/usr/share/java/velocity.jar',
  '/usr/share/java/commons-collections3.jar',
  '/usr/share/java/commons-lang.jar',
] as const;
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'VelocityRenderer.java');

/** What a template sees: the payload, the method request's parameters, `$context` and stage variables. */
export interface TemplateInput {
  /** `$input.body` (and what `$input.json` / `$input.path` read). */
  readonly body?: string;
  readonly path?: Readonly<Record<string, string>>;
  readonly querystring?: Readonly<Record<string, string>>;
  readonly header?: Readonly<Record<string, string>>;
  /** `$context` (e.g. `requestId`, `authorizer.lane`); `responseOverride` is added by the renderer. */
  readonly context?: Readonly<Record<string, unknown>>;
  readonly stageVariables?: Readonly<Record<string, string>>;
  /**
   * Make `$input.params(x)` of an absent parameter null instead of "" (the reference does not say which API Gateway
   * returns; templates must hold either way).
   */
  readonly missingParamsAreNull?: boolean;
}

/** A rendered template: its text, and the status and headers it overrode (`$context.responseOverride`). */
export interface Rendered {
  readonly output: string;
  readonly status: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** Thrown when the template does not render (a parse error, or an override applied twice). */
export class TemplateRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

/** The running engine. */
export interface VelocityEngine {
  render(template: string, input?: TemplateInput): Promise<Rendered>;
  stop(): Promise<void>;
}

function classesDirectory(): string {
  const missing = JARS.filter((jar) => !existsSync(jar));
  if (missing.length > 0) {
    throw new Error(
      `Apache Velocity 1.7 is not installed (${missing.join(', ')} missing): run 'apt-get install -y velocity'`,
    );
  }
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const directory = join(process.cwd(), 'node_modules', '.cache', 'sluice-velocity', hash);
  if (!existsSync(directory)) {
    // Test files run in parallel: compile aside, then move into place in one rename.
    mkdirSync(dirname(directory), { recursive: true });
    const scratch = mkdtempSync(`${directory}-`);
    execFileSync('javac', ['-nowarn', '-d', scratch, '-cp', JARS.join(':'), SOURCE], { stdio: 'pipe' });
    try {
      renameSync(scratch, directory);
    } catch {
      rmSync(scratch, { recursive: true, force: true }); // another file compiled it first
    }
  }
  return directory;
}

/** Starts one JVM running Velocity 1.7; render as many templates as needed, then `stop()`. */
export function startVelocity(): VelocityEngine {
  const classes = classesDirectory();
  const child: ChildProcessWithoutNullStreams = spawn(
    'java',
    ['-Xss4m', '-cp', [classes, ...JARS].join(':'), 'VelocityRenderer'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  child.on('exit', (code) => {
    for (const pending of waiting.splice(0)) {
      pending.reject(new Error(`the Velocity process exited (${code}): ${stderr}`));
    }
  });
  return {
    render(template, input = {}) {
      const line = new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
      child.stdin.write(`${JSON.stringify({ template, ...input })}\n`);
      return line.then((text) => {
        const answer = JSON.parse(text) as Rendered & { error?: string };
        if (answer.error !== undefined) throw new TemplateRenderError(answer.error);
        return answer;
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/**
 * A gateway response template: not run by Velocity, only simple substitution of `$context.…` and `$stageVariables.…`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseTemplates.html).
 * An unknown variable becomes the empty string.
 */
export function substituteGatewayResponse(template: string, input: Pick<TemplateInput, 'context' | 'stageVariables'>) {
  return template.replace(/\$(context|stageVariables)((?:\.[A-Za-z0-9_]+)+)/g, (_match, root: string, path: string) => {
    let value: unknown = root === 'context' ? input.context : input.stageVariables;
    for (const key of path.slice(1).split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
    return value === undefined || value === null ? '' : String(value);
  });
}
