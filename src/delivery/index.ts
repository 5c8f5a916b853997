/**
 * The cloud-neutral rollout engine. Targets (src/aws for ECS, src/k8s for GKE) implement
 * `Target`; actions build a plan from their inputs, an analysis, and call `runRollout`.
 */
export type * from './types.js';
export { buildPlan, DEFAULT_STEPS, describePlan, planDurationMs, STRATEGIES, type PlanInput } from './plan.js';
export { decodeRecord, describeRecord, encodeRecord, isRecordSafe } from './record.js';
export { recoverInterrupted, recoverRollout, runRollout, type InterruptionOptions, type RecoverOptions, type RolloutOptions } from './engine.js';
export { renderRolloutMarkdown, rolloutReport, STATUS_ICON, type RolloutMarkdownOptions, type RolloutReport } from './report.js';
