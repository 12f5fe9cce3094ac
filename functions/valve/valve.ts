import { decideValve, type ValveBreakerView, type ValveDecision } from './decide.ts';

/**
 * One pass of the valve over a pipeline's stages, and the loop that repeats it. The reads (breaker, next depth) and
 * the switch (an event source mapping, or the local poller) are ports, so the deployed valve and the local runtime
 * run the same code.
 */

/** A stage the valve watches. */
export interface ValveStage {
  readonly stage: string;
  /** The stage's breaker settings' `openSeconds`, when it has a breaker. */
  readonly openSeconds?: number;
  /** The next stage's queue and hard depth limit, when the stage has a next stage. */
  readonly nextQueueUrl?: string;
  readonly nextDepthLimit?: number;
}

/** What the valve reads and switches. */
export interface ValvePorts {
  /** The stage's breaker. */
  readBreaker(stage: string): Promise<ValveBreakerView>;
  /** A queue's depth: waiting, in flight and delayed. */
  readDepth(queueUrl: string): Promise<number>;
  /** Whether the stage's event source polls now. */
  isEnabled(stage: string): Promise<boolean>;
  /** Turns the stage's event source on or off. */
  setEnabled(stage: string, enabled: boolean, decision: ValveDecision): Promise<void>;
}

/** What one pass decided for one stage. */
export interface ValveStep {
  readonly stage: string;
  readonly decision: ValveDecision;
  /** Whether the pass switched the event source. */
  readonly switched: boolean;
}

/**
 * Reads every watched stage's breaker and next depth, decides, and switches the event sources whose state differs.
 * A stage whose reads fail is left as it is (and reported by the rejection of `onError`), so one unreadable stage
 * does not stop the others.
 */
export async function valvePass(
  stages: readonly ValveStage[],
  ports: ValvePorts,
  nowMs: number,
  onError: (stage: string, error: unknown) => void = () => undefined,
): Promise<ValveStep[]> {
  const steps = await Promise.all(
    stages.map(async (stage): Promise<ValveStep | undefined> => {
      try {
        const [breaker, nextDepth, enabled] = await Promise.all([
          stage.openSeconds === undefined ? undefined : ports.readBreaker(stage.stage),
          stage.nextQueueUrl === undefined ? undefined : ports.readDepth(stage.nextQueueUrl),
          ports.isEnabled(stage.stage),
        ]);
        const decision = decideValve({
          enabled,
          nowMs,
          ...(breaker === undefined ? {} : { breaker, openSeconds: stage.openSeconds }),
          ...(nextDepth === undefined ? {} : { nextDepth, nextDepthLimit: stage.nextDepthLimit }),
        });
        const switched = decision.enabled !== enabled;
        if (switched) await ports.setEnabled(stage.stage, decision.enabled, decision);
        return { stage: stage.stage, decision, switched };
      } catch (error) {
        onError(stage.stage, error);
        return undefined;
      }
    }),
  );
  return steps.filter((step): step is ValveStep => step !== undefined);
}

/** Options of {@link runValve}. */
export interface RunValveOptions {
  readonly stages: readonly ValveStage[];
  readonly ports: ValvePorts;
  /** Milliseconds between passes. */
  readonly intervalMs: number;
  /** Stop after this many milliseconds (the deployed valve runs ~50 s of its 1-minute schedule). */
  readonly durationMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Stop early when this returns true (the local runtime's stop). */
  readonly stopped?: () => boolean;
  readonly onStep?: (step: ValveStep) => void;
  readonly onError?: (stage: string, error: unknown) => void;
}

/** Runs passes every `intervalMs` for `durationMs`; returns the number of switches made. */
export async function runValve(options: RunValveOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const endsAt = now() + options.durationMs;
  let switches = 0;
  while (now() < endsAt && !options.stopped?.()) {
    const startedAt = now();
    for (const step of await valvePass(options.stages, options.ports, startedAt, options.onError)) {
      if (step.switched) switches++;
      options.onStep?.(step);
    }
    const wait = Math.min(options.intervalMs - (now() - startedAt), endsAt - now());
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return switches;
}
