/**
 * The capacity simulator: a discrete-time, counted-jobs model of the deployed pipeline driven by its definition.
 * Imports `lib/definition` only (and node:fs for `writeOutputs`).
 */
export { type AdmissionOutcome, type AdmissionView, admissionOutcome } from './admission.ts';
export { type CostEstimate, type CostLine, estimateCost } from './cost.ts';
export { ProfileError, ScenarioError, SimulationError } from './errors.ts';
export { PRICES, PRICES_AS_OF, PRICES_REGION, type Price } from './prices.ts';
export { type ArrivalProfile, demoProfile, parseProfile, parseRateCsv, type RatePoint, rateAt } from './profile.ts';
export { type Recommendation, recommend } from './recommend.ts';
export {
  formatReport,
  reportOf,
  type SimulationReport,
  type SimulationSummary,
  type StageSummary,
  summarize,
  writeOutputs,
} from './report.ts';
export {
  type ResolvedScenario,
  resolveScenario,
  type Scenario,
  type ServiceTimeDistribution,
  type StageBehaviour,
} from './scenario.ts';
export {
  type IngressCounters,
  type IngressSeries,
  type SimulationResult,
  type StageOutcome,
  type StageSeries,
  simulate,
} from './simulate.ts';
export {
  DEFERRAL_BACKOFF,
  ESM_INITIAL_CONCURRENCY,
  ESM_SCALE_UP_PER_MINUTE,
  RETRY_BACKOFF,
  type StageCounters,
} from './stage-model.ts';
export { type SimTopology, topologyOf } from './topology.ts';
