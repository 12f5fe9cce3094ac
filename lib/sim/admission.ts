import type { AdmissionSettings, Priority } from '../definition/index.ts';

/**
 * The ingress's admission decision, as `decideAdmission` in functions/authorizer/decide.ts makes it (the simulator may
 * not import Lambda code; test/sim/admission.test.ts checks both agree on generated inputs). Only the outcome matters
 * here, not the Retry-After.
 */

/** What happens to a request. */
export type AdmissionOutcome =
  | 'queue'
  | 'overflow'
  | 'shed-low-priority'
  | 'over-hard-limit'
  | 'overflow-full'
  | 'downstream-over-limit';

/** A stage after the ingress stage as whole-pipeline admission weighs it (`ingress.downstream` of the definition). */
export interface DownstreamView {
  readonly stage: string;
  readonly depthLimit: number;
  readonly ageSloSeconds: number;
  readonly drainRatePerSecond: number;
}

/** The stages after the ingress stage that the admission settings carry, when the definition resolves them. */
export function downstreamOf(settings: AdmissionSettings): readonly DownstreamView[] {
  const downstream = (settings as { downstream?: readonly DownstreamView[] }).downstream;
  return Array.isArray(downstream) ? downstream : [];
}

/**
 * Pressure of a downstream stage: the larger of depth ÷ depth limit and expected wait (depth ÷ drain rate, Little's
 * law) ÷ age SLO; 1 means at its limit.
 */
export function stagePressure(stage: DownstreamView, depth: number): number {
  const byDepth = depth / stage.depthLimit;
  const sloDepth = stage.ageSloSeconds * stage.drainRatePerSecond;
  return Math.max(byDepth, sloDepth > 0 ? depth / sloDepth : byDepth);
}

/** What the decision looks at. */
export interface AdmissionView {
  /** Messages in every lane of the accept stage (waiting, in flight, delayed). */
  readonly depth: number;
  /** Messages in the request's lane. */
  readonly laneDepth: number;
  readonly overflowDepth: number;
  readonly lane: Priority;
  /** Depth of each stage of `downstreamOf(settings)`, in order (whole-pipeline admission). */
  readonly downstreamDepths?: readonly number[];
}

/** The decision for one request (and, in the counted model, for every request deciding on the same reading). */
export function admissionOutcome(view: AdmissionView, settings: AdmissionSettings): AdmissionOutcome {
  // Whole pipeline first: any stage after the ingress at its pressure limit rejects, whatever the lane or policy.
  const downstream = downstreamOf(settings);
  for (let index = 0; index < downstream.length; index++) {
    if (stagePressure(downstream[index] as DownstreamView, view.downstreamDepths?.[index] ?? 0) >= 1) {
      return 'downstream-over-limit';
    }
  }
  const lane: Priority = settings.priorityEnabled ? view.lane : 'high';
  const laneDepth = settings.priorityEnabled ? view.laneDepth : view.depth;
  if (laneDepth >= settings.hardLimit) {
    if (settings.overload === 'buffer') {
      return view.overflowDepth < settings.overflowMaxDepth ? 'overflow' : 'overflow-full';
    }
    return 'over-hard-limit';
  }
  if (lane === 'low' && view.depth >= settings.softLimit) return 'shed-low-priority';
  return 'queue';
}
