import type { AdmissionSettings, Priority } from '../definition/index.ts';

/**
 * The ingress's admission decision, as `decideAdmission` in functions/authorizer/decide.ts makes it (the simulator may
 * not import Lambda code; test/sim/admission.test.ts checks both agree on generated inputs). Only the outcome matters
 * here, not the Retry-After.
 */

/** What happens to a request. */
export type AdmissionOutcome = 'queue' | 'overflow' | 'shed-low-priority' | 'over-hard-limit' | 'overflow-full';

/** What the decision looks at. */
export interface AdmissionView {
  /** Messages in every lane of the accept stage (waiting, in flight, delayed). */
  readonly depth: number;
  /** Messages in the request's lane. */
  readonly laneDepth: number;
  readonly overflowDepth: number;
  readonly lane: Priority;
}

/** The decision for one request (and, in the counted model, for every request deciding on the same reading). */
export function admissionOutcome(view: AdmissionView, settings: AdmissionSettings): AdmissionOutcome {
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
