import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddingService, EmbeddingServiceError, type EmbeddingServiceOptions } from './embedding-service.ts';

/**
 * The stand-in embedding service over HTTP, and its client. `POST /embed` with `{ "texts": [...] }` answers
 * `{ "vectors": [...] }`, or 400/429/503 with `{ "error": "..." }`, as a hosted embedding API does.
 */

/** Environment variable holding the stand-in server's URL; without it the client calls an in-process instance. */
export const EMBEDDINGS_URL_ENV = 'EXAMPLE_EMBEDDINGS_URL';

/** A running stand-in server. */
export interface EmbeddingServer {
  readonly url: string;
  readonly service: EmbeddingService;
  stop(): Promise<void>;
}

/** Serves a new {@link EmbeddingService} on a free port of 127.0.0.1. */
export async function startEmbeddingServer(options: EmbeddingServiceOptions = {}): Promise<EmbeddingServer> {
  const service = new EmbeddingService(options);
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      let texts: unknown;
      try {
        texts = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { texts?: unknown }).texts;
      } catch {
        answer(400, { error: 'the body must be JSON: { "texts": [...] }' });
        return;
      }
      if (request.url !== '/embed' || !Array.isArray(texts)) {
        answer(400, { error: 'POST /embed with { "texts": [...] }' });
        return;
      }
      service.embed(texts.map(String)).then(
        (vectors) => answer(200, { vectors }),
        (error: unknown) =>
          answer(error instanceof EmbeddingServiceError ? error.status : 500, { error: (error as Error).message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Calls the embedding service: over HTTP when `url` is given, else an in-process {@link EmbeddingService}. */
export function embeddingClient(url: string | undefined): (texts: readonly string[]) => Promise<number[][]> {
  if (!url) {
    const service = new EmbeddingService();
    return (texts) => service.embed(texts);
  }
  return async (texts) => {
    const response = await fetch(`${url}/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts }),
    });
    const body = (await response.json()) as { vectors?: number[][]; error?: string };
    if (!response.ok || !body.vectors) {
      const status = response.status === 429 || response.status === 400 ? response.status : 503;
      throw new EmbeddingServiceError(status, body.error ?? `the embedding service answered ${response.status}`);
    }
    return body.vectors;
  };
}
