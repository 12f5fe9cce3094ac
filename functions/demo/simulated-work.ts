import * as z from 'zod/mini';
import { consumer } from '../runtime/index.ts';

/** Milliseconds one unit of simulated work takes; the demo pipeline's `recordProcessingMs` says the same. */
export const WORK_MS = Number(process.env.SLUICE_DEMO_WORK_MS ?? 50);

/**
 * The demo stage: each job is `WORK_MS` of waiting (an external call, say), so the stage's capacity is exactly what the
 * pipeline definition derives from its concurrency: maxConcurrency × 1000 / WORK_MS jobs a second.
 */
export const handler = consumer({
  schema: z.strictObject({ n: z.int() }),
  handler: async () => {
    await new Promise((resolve) => setTimeout(resolve, WORK_MS));
  },
});
