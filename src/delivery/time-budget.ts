/**
 * The time budget of a rollout, checked before anything changes: the plan's worst case
 * (waits, bakes, analysis extensions, the rollback's deadline) against every limit that
 * would cut it short: the job's timeout-minutes (the `job-timeout` input), the 6 h cap of
 * GitHub-hosted runners, and credentials that cannot renew. A rollout the job would kill
 * half way leaves traffic split and a record for someone else to finish; refusing it up
 * front costs nothing.
 */
import { formatDuration, parseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { planDurationMs } from './plan.js';
import type { RolloutPlan } from './types.js';

/** GitHub-hosted runners end every job after 6 hours. */
export const HOSTED_RUNNER_CAP_MS = 360 * 60_000;
/** How long a rollback may take to put all traffic back on stable, unless the caller knows better. */
export const DEFAULT_ROLLBACK_DEADLINE_MS = 10 * 60_000;

export interface BudgetPlan {
  plan: RolloutPlan;
  /** The longest wait for the new version to become healthy (wait-timeout). */
  waitTimeoutMs: number;
  /** How many such waits the rollout can have (1; ECS native waits again at every step). Default 1. */
  waits?: number;
  /** The analysis, when one judges the bakes. */
  analysis?: {
    onInconclusive: string;
    maxExtensionMs: number;
    intervalMs: number;
    failureLimit?: number;
    errorLimit?: number;
  };
  /** Time the restore may take if the last step fails. Default 10 min. */
  rollbackDeadlineMs?: number;
}

export interface WorstCase {
  totalMs: number;
  /** Each part of the total, for the message: [what, ms]. */
  parts: Array<[string, number]>;
}

/** The plan's worst case: every wait to its timeout, every bake extended, then a rollback to its deadline. */
export function worstCase(p: BudgetPlan): WorstCase {
  const parts: Array<[string, number]> = [];
  const waits = p.waits ?? 1;
  if (p.waitTimeoutMs > 0)
    parts.push([
      `waiting for the new version to be healthy (wait-timeout ${formatDuration(p.waitTimeoutMs)}${waits > 1 ? ` × ${waits}` : ''})`,
      p.waitTimeoutMs * waits,
    ]);
  const bakes = planDurationMs(p.plan);
  const baked = p.plan.steps.filter((s) => s.bakeMs > 0);
  if (bakes > 0)
    parts.push([`bakes (${baked.map((s) => `${s.weight}% for ${formatDuration(s.bakeMs)}`).join(', ')})`, bakes]);
  if (p.analysis && p.analysis.onInconclusive === 'extend' && baked.length > 0 && p.analysis.maxExtensionMs > 0) {
    parts.push([
      `analysis extensions (max-extension ${formatDuration(p.analysis.maxExtensionMs)} × ${baked.length} step${baked.length > 1 ? 's' : ''})`,
      p.analysis.maxExtensionMs * baked.length,
    ]);
  }
  // A bake never ends on a failed or errored run below its limit: it runs on, one interval at a time, until a run decides.
  const overrunRuns = p.analysis ? Math.max(p.analysis.failureLimit ?? 1, p.analysis.errorLimit ?? 1) - 1 : 0;
  if (overrunRuns > 0 && baked.length > 0) {
    parts.push([
      `runs past a bake's end until one decides (up to ${overrunRuns} × interval ${formatDuration(p.analysis?.intervalMs ?? 0)} × ${baked.length} step${baked.length > 1 ? 's' : ''})`,
      overrunRuns * (p.analysis?.intervalMs ?? 0) * baked.length,
    ]);
  }
  const rollback = p.rollbackDeadlineMs ?? DEFAULT_ROLLBACK_DEADLINE_MS;
  if (rollback > 0) parts.push([`a rollback to its deadline`, rollback]);
  return { totalMs: parts.reduce((sum, [, ms]) => sum + ms, 0), parts };
}

/** A limit the rollout must finish within. */
export interface TimeLimit {
  /** "the job's timeout-minutes (job-timeout 60m)" */
  what: string;
  ms: number;
  /** What to do when the plan does not fit it. */
  remedy: string;
}

/**
 * The job's limit from `job-timeout` (minutes, or a duration such as 2h), capped by the
 * 6 h of GitHub-hosted runners unless the runner says it is self-hosted. Without the input,
 * 360 minutes is assumed (GitHub's default timeout-minutes), and `assumed` says so.
 */
export function jobLimit(
  jobTimeout: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TimeLimit & { assumed: boolean } {
  const selfHosted = env.RUNNER_ENVIRONMENT === 'self-hosted';
  const remedy =
    'Shorten the bakes (step-duration, or per step as in 10:5m,50:10m,100), use fewer steps, lower wait-timeout or max-extension' +
    (selfHosted
      ? ", or raise the job's timeout-minutes (and job-timeout with it)."
      : ", raise the job's timeout-minutes (and job-timeout with it) up to 360, or run the job on a self-hosted runner (no 6 h cap).");
  if (jobTimeout === undefined || jobTimeout.trim() === '') {
    return {
      what: "the 360 minutes a job gets by default (job-timeout is not set, so GitHub's default timeout-minutes and the 6 h cap of hosted runners are assumed)",
      ms: HOSTED_RUNNER_CAP_MS,
      remedy,
      assumed: true,
    };
  }
  const text = jobTimeout.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 60_000 : parseDuration(text, "Input 'job-timeout'");
  if (!(ms > 0))
    throw new UserError(
      `Input 'job-timeout' is '${text}', which is not a positive time.`,
      "Give the job's timeout-minutes (e.g. 60) or a duration (e.g. 90m, 2h).",
    );
  if (!selfHosted && ms > HOSTED_RUNNER_CAP_MS) {
    return {
      what: `the 6 h cap of GitHub-hosted runners (job-timeout ${formatDuration(ms)} is longer; only self-hosted runners run longer jobs)`,
      ms: HOSTED_RUNNER_CAP_MS,
      remedy,
      assumed: false,
    };
  }
  return { what: `the job's timeout-minutes (job-timeout ${formatDuration(ms)})`, ms, remedy, assumed: false };
}

/**
 * Refuses a plan whose worst case does not fit every limit, with the breakdown and what to
 * do. Returns the worst case (for the log) when it fits.
 */
export function checkTimeBudget(p: BudgetPlan, limits: TimeLimit[]): WorstCase {
  const worst = worstCase(p);
  const tight = limits.filter((l) => worst.totalMs > l.ms).sort((a, b) => a.ms - b.ms)[0];
  if (!tight) return worst;
  const breakdown = worst.parts.map(([what, ms]) => `  ${formatDuration(ms)}: ${what}`).join('\n');
  throw new UserError(
    `The rollout could take up to ${formatDuration(worst.totalMs)}, longer than ${tight.what}, ${formatDuration(tight.ms)}. Nothing was changed.\n${breakdown}`,
    tight.remedy,
  );
}

/** "up to 47m (5m waits, 30m bakes, 10m rollback) within 60m" for the log. */
export function describeBudget(worst: WorstCase, limits: TimeLimit[]): string {
  const tightest = [...limits].sort((a, b) => a.ms - b.ms)[0];
  return `Time budget: the rollout takes up to ${formatDuration(worst.totalMs)} (${worst.parts.map(([what, ms]) => `${formatDuration(ms)} ${what.split(' (')[0]}`).join(', ')})${tightest ? `, within ${tightest.what}: ${formatDuration(tightest.ms)}` : ''}.`;
}
