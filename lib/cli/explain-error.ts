import { LocalRuntimeError } from '../local/errors.ts';

/** A system error as Node reports it (`listen EADDRINUSE`, `connect ECONNREFUSED`, a fetch's cause). */
interface SystemError {
  readonly code?: string;
  readonly port?: number;
  readonly address?: string;
  readonly hostname?: string;
  readonly message: string;
  readonly cause?: unknown;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * One line that says what happened and what to do, for the failures a user can fix (a busy port, an endpoint that
 * does not answer, an error the local runtime already explains); `undefined` for anything else.
 */
export function explainError(error: unknown): string | undefined {
  if (error instanceof LocalRuntimeError) return error.message;
  const system = systemErrorOf(error);
  if (!system) return undefined;
  if (system.code === 'EADDRINUSE') {
    const where = system.port === undefined ? 'the port' : `port ${system.port}`;
    return `${where} is already in use: stop what listens there or pass --port with another port (--port 0 picks a free one)`;
  }
  if (system.code === 'EACCES' && system.port !== undefined) {
    return `port ${system.port} needs privileges this user does not have: pass --port with a port above 1023`;
  }
  if (system.code && UNREACHABLE.has(system.code)) {
    const where = system.address
      ? `${system.address}${system.port === undefined ? '' : `:${system.port}`}`
      : (system.hostname ?? 'the endpoint');
    return `cannot reach ${where} (${system.code}): check that it is running and the URL is right`;
  }
  return undefined;
}

function systemErrorOf(error: unknown): SystemError | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    const candidate = current as SystemError;
    if (typeof candidate.code === 'string') return candidate;
    current = candidate.cause;
  }
  return undefined;
}
