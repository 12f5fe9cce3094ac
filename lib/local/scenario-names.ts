/**
 * The names of the pressure scenarios of `sluice demo --scenario` (lib/local/scenarios.ts). Apart from the scenarios
 * themselves because those run on this repository's example pipeline, which the published package leaves out: the
 * CLI lists the names without loading the example.
 */
export const SCENARIOS = ['embedding-outage', 'embedding-rate-limit'] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number];
