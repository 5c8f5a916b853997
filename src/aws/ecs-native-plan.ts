/**
 * The native engine's plan: the steps of an ECS service's own BLUE_GREEN, CANARY or LINEAR
 * configuration, matched with the steps and pauses asked for, and the PAUSE lifecycle hooks
 * that let the action judge each step checked against them.
 */
import type { DeploymentConfiguration, DeploymentLifecycleHook } from '@aws-sdk/client-ecs';
import type { RolloutPlan, Step, Strategy } from '../delivery/types.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';

export const MINUTE = 60_000;
/** Weights are compared to a tenth of a percent (ECS takes canary and linear percentages in tenths). */
export const TOLERANCE = 0.05;

export const NATIVE: Record<string, Strategy> = { BLUE_GREEN: 'blue-green', CANARY: 'canary', LINEAR: 'linear' };

export interface NativePlan {
  plan: RolloutPlan;
  /** Where the steps come from, for the log: "the service's CANARY configuration (5% for 10m, then 100%)". */
  source: string;
  /** What to tell the user about the steps and step-duration inputs. */
  notes: Array<{ level: 'info' | 'warning'; message: string }>;
}

/** The weights of a native configuration: CANARY p → [p, 100]; LINEAR s → [s, 2s, …, 100]; BLUE_GREEN → [100]. */
function nativeWeights(strategy: Strategy, config: DeploymentConfiguration): { weights: number[]; ecsBakeMs: number } {
  if (strategy === 'canary') {
    const p = config.canaryConfiguration?.canaryPercent ?? 5;
    return {
      weights: p >= 100 ? [100] : [Math.round(p * 10) / 10, 100],
      ecsBakeMs: (config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10) * MINUTE,
    };
  }
  if (strategy === 'linear') {
    const tenths = Math.round((config.linearConfiguration?.stepPercent ?? 10) * 10);
    const weights: number[] = [];
    for (let w = tenths; w < 1000; w += tenths) weights.push(w / 10);
    weights.push(100);
    return { weights, ecsBakeMs: (config.linearConfiguration?.stepBakeTimeInMinutes ?? 6) * MINUTE };
  }
  return { weights: [100], ecsBakeMs: 0 };
}

/** Weights written in the steps input (bakes and % dropped; a single linear increment expanded). */
function requestedWeights(steps: string, strategy: Strategy): number[] | undefined {
  const items = steps
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  if (items.length === 0) return undefined;
  const weights = items.map((item) => Number(item.split(':')[0]?.replace(/%$/, '')));
  if (weights.some((w) => !Number.isFinite(w))) return undefined;
  if (strategy === 'linear' && weights.length === 1 && (weights[0] as number) < 100) {
    const tenths = Math.round((weights[0] as number) * 10);
    const expanded: number[] = [];
    for (let w = tenths; w < 1000; w += tenths) expanded.push(w / 10);
    return [...expanded, 100];
  }
  return weights;
}

const sameWeights = (a: number[], b: number[]) =>
  a.length === b.length && a.every((w, i) => Math.abs(w - (b[i] as number)) < TOLERANCE);

/** Weights the steps input marks with a pause (`25:pause`, `25:10m:pause`). */
function requestedPauses(steps: string): number[] {
  return steps
    .trim()
    .split(/[\s,]+/)
    .filter((item) => /:pause$/i.test(item))
    .map((item) => Number(item.split(':')[0]?.replace(/%$/, '')));
}

/** ECS's maximum for a lifecycle hook's timeoutConfiguration.timeoutInMinutes (14 days; the default is 1440). */
export const MAX_HOOK_TIMEOUT_MINUTES = 20_160;

/**
 * The plan of a native rollout, from the service's deploymentConfiguration: ECS decides the
 * weights, so the `steps` input is only compared with them (and reported when it differs).
 * Each step but the last is judged for at least ECS's own bake of the step and at least
 * step-duration (the PAUSE hook holds the deployment for the difference); blue-green is
 * judged for step-duration after the switch, while the old revision still runs.
 */
export function nativeRolloutPlan(
  config: DeploymentConfiguration | undefined,
  input: { steps: string; stepDurationMs: number },
): NativePlan {
  const native = config?.strategy ?? '';
  const strategy = NATIVE[native];
  if (!config || !strategy) throw new Error(`not a native strategy: ${native || 'none'}`);
  const { weights, ecsBakeMs } = nativeWeights(strategy, config);
  const last = weights.length - 1;
  const shown = weights.join(',');
  // A pause is placed by its weight: it must be one of ECS's steps, below 100, that ECS can tell apart afterwards.
  const pauses = requestedPauses(input.steps);
  for (const w of pauses) {
    const at = weights.findIndex((x) => Math.abs(x - w) < TOLERANCE);
    if (at < 0 || at === last) {
      const candidates = weights.slice(0, last);
      throw new UserError(
        `Input 'steps' (${input.steps.trim()}) pauses at ${w}%, but ECS shifts the traffic of this service by its own ${native} configuration (${shown}), ${at === last ? 'and reaching 100% is the promotion, so there would be nothing left to resume' : `which has no ${w}% step`}. Nothing was changed.`,
        candidates.length
          ? `Pause at one of the service's own steps below 100, e.g. steps: ${weights.map((x, i) => (i === 0 ? `${x}:pause` : String(x))).join(',')}; or change the service's deploymentConfiguration.`
          : `${native} moves all traffic at once, so it cannot pause; use the CANARY or LINEAR strategy on the service (e.g. canaryPercent 10 and steps: 10:pause,100).`,
      );
    }
    if (Math.abs(w - 50) < TOLERANCE) {
      throw new UserError(
        `Input 'steps' (${input.steps.trim()}) pauses at 50%: with 50% on each of the service's two target groups, a resuming job could not tell which one the new revision is in. Nothing was changed.`,
        `Pause at another of the service's steps (${
          weights
            .slice(0, last)
            .filter((x) => Math.abs(x - 50) >= TOLERANCE)
            .join(', ') || 'change canaryPercent / stepPercent'
        }).`,
      );
    }
  }
  const steps: Step[] = weights.map((weight, i) => ({
    weight,
    bakeMs: strategy === 'blue-green' ? input.stepDurationMs : i < last ? Math.max(ecsBakeMs, input.stepDurationMs) : 0,
    ...(pauses.some((w) => Math.abs(w - weight) < TOLERANCE) ? { pause: true } : {}),
  }));
  const plan: RolloutPlan = { strategy, steps };
  const what =
    strategy === 'canary'
      ? `canaryConfiguration: ${weights[0]}% for ${formatDuration(ecsBakeMs)}, then 100%`
      : strategy === 'linear'
        ? `linearConfiguration: ${weights[0]}% more every ${formatDuration(ecsBakeMs)}`
        : `all at once, the old revision kept for bakeTimeInMinutes ${config.bakeTimeInMinutes ?? 0}`;
  const notes: NativePlan['notes'] = [];
  const asked = requestedWeights(input.steps, strategy);
  if (asked && !sameWeights(asked, weights)) {
    notes.push({
      level: 'warning',
      message: `Input 'steps' (${input.steps.trim()}) is ignored${pauses.length ? ` but for its pause at ${pauses.map((w) => `${w}%`).join(', ')}` : ''}: ECS shifts the traffic of this service by its own ${native} configuration (${shown}). Change the service's deploymentConfiguration.${strategy === 'linear' ? 'linearConfiguration' : strategy === 'canary' ? 'canaryConfiguration' : 'strategy'} to change the steps, or leave 'steps' empty.`,
    });
  } else if (asked) {
    notes.push({
      level: 'info',
      message: `Input 'steps' (${input.steps.trim()}) matches the service's ${native} configuration; ECS takes the weights from the service.`,
    });
  }
  if (strategy !== 'blue-green' && last > 0) {
    notes.push({
      level: 'info',
      message:
        ecsBakeMs >= input.stepDurationMs
          ? `Each step is judged for ECS's own bake of ${formatDuration(ecsBakeMs)}${ecsBakeMs > input.stepDurationMs ? ` (longer than step-duration, ${formatDuration(input.stepDurationMs)})` : ''}.`
          : `ECS bakes a step for ${formatDuration(ecsBakeMs)}; the PAUSE hook holds it until the analysis has judged it for step-duration (${formatDuration(input.stepDurationMs)}).`,
    });
  }
  return { plan, source: `the service's ${native} strategy (${what})`, notes };
}

/** PAUSE hooks the plan needs: one before every step after the first, one after the switch if it is judged. */
export function checkPauseHooks(
  config: DeploymentConfiguration,
  plan: RolloutPlan,
  service: string,
  judging?: { onInconclusive?: string; maxExtensionMs?: number; intervalMs?: number; pauseTimeoutMs?: number },
): void {
  const pauses = (config.lifecycleHooks ?? []).filter((h) => h.targetType === 'PAUSE');
  const needs: Array<{ stage: string; why: string; bakeMs: number }> = [];
  const judged = plan.steps.slice(0, -1);
  if (judged.length > 0) {
    needs.push({
      stage: 'PRE_PRODUCTION_TRAFFIC_SHIFT',
      why: `hold each step (${judged.map((s) => `${s.weight}%`).join(', ')}) until its analysis has passed`,
      bakeMs: Math.max(...judged.map((s) => s.bakeMs)),
    });
  }
  const lastStep = plan.steps[plan.steps.length - 1] as Step;
  if (lastStep.bakeMs > 0)
    needs.push({
      stage: 'POST_PRODUCTION_TRAFFIC_SHIFT',
      why: 'hold the deployment after the switch until its analysis has passed, while the old revision still runs',
      bakeMs: lastStep.bakeMs,
    });
  const example = `lifecycleHooks: [{ targetType: PAUSE, lifecycleStages: [${needs.map((n) => n.stage).join(', ')}], timeoutConfiguration: { timeoutInMinutes: 60, action: ROLLBACK } }]`;
  const missing = needs.filter((n) => !pauses.some((h) => h.lifecycleStages?.includes(n.stage as never)));
  if (missing.length > 0) {
    throw new UserError(
      `ECS service ${service} has no PAUSE lifecycle hook at ${missing.map((m) => m.stage).join(' and ')}, which ecs-deploy needs to ${missing.map((m) => m.why).join('; and to ')}. Without it ECS moves traffic on its own schedule, judged or not.`,
      `Add to the service's deploymentConfiguration: ${example}.`,
    );
  }
  // How long a step can take to judge: its bake, the extension an inconclusive bake may get, one more run.
  const extensionMs = judging?.onInconclusive === 'extend' ? (judging.maxExtensionMs ?? 0) : 0;
  const slackMs = judging?.intervalMs ?? 0;
  for (const need of needs) {
    const judgedMs = need.bakeMs + extensionMs + slackMs;
    const parts = `${formatDuration(need.bakeMs)} bake${extensionMs ? ` + ${formatDuration(extensionMs)} max-extension` : ''}${slackMs ? ` + ${formatDuration(slackMs)} for the last analysis run` : ''}`;
    for (const hook of pauses.filter((h) => h.lifecycleStages?.includes(need.stage as never))) {
      const minutes = hook.timeoutConfiguration?.timeoutInMinutes ?? 1440;
      if (minutes * MINUTE >= judgedMs) continue;
      const action = hook.timeoutConfiguration?.action ?? 'ROLLBACK';
      const needed = Math.ceil(judgedMs / MINUTE);
      if (action === 'CONTINUE') {
        throw new UserError(
          `The PAUSE hook at ${need.stage} of ECS service ${service} times out after ${minutes} min with action CONTINUE: ECS would then continue the deployment on its own, before ecs-deploy has judged the step (up to ${formatDuration(judgedMs)}: ${parts}). Nothing was changed.`,
          `Set the hook's timeoutConfiguration to { action: ROLLBACK, timeoutInMinutes: ${needed} } or more (ROLLBACK also protects you when the runner dies), or shorten step-duration / max-extension.`,
        );
      }
      throw new UserError(
        `The PAUSE hook at ${need.stage} of ECS service ${service} times out after ${minutes} min (ECS then takes its timeout action, ${action}), before the analysis of a step (up to ${formatDuration(judgedMs)}: ${parts}) can end. Nothing was changed.`,
        `Raise the hook's timeoutConfiguration.timeoutInMinutes to ${needed} or more, or shorten step-duration / max-extension.`,
      );
    }
  }
  if (judging?.pauseTimeoutMs !== undefined)
    checkPausedHold(pauses, plan, service, judging.pauseTimeoutMs, extensionMs + slackMs);
}

/**
 * A paused step is held across jobs by the PAUSE hook before the next traffic step: that
 * hook must wait at least as long as the step is judged plus pause-timeout, or ECS takes its
 * timeout action before a resume, the rollback action or the reconciler can; and that action
 * must be ROLLBACK, or ECS would promote an unapproved canary on its own.
 */
function checkPausedHold(
  pauses: DeploymentLifecycleHook[],
  plan: RolloutPlan,
  service: string,
  pauseTimeoutMs: number,
  judgingSlackMs: number,
): void {
  const last = plan.steps.length - 1;
  for (const step of plan.steps.filter((s, i) => s.pause && i < last)) {
    const judgedMs = step.bakeMs + judgingSlackMs;
    const neededMs = judgedMs + pauseTimeoutMs;
    const needed = Math.ceil(neededMs / MINUTE);
    const stage = 'PRE_PRODUCTION_TRAFFIC_SHIFT';
    for (const hook of pauses.filter((h) => h.lifecycleStages?.includes(stage))) {
      const minutes = hook.timeoutConfiguration?.timeoutInMinutes ?? 1440;
      const action = hook.timeoutConfiguration?.action ?? 'ROLLBACK';
      const what = `steps pause at ${step.weight}% for up to pause-timeout (${formatDuration(pauseTimeoutMs)}) after the step is judged (up to ${formatDuration(judgedMs)})`;
      if (action === 'CONTINUE') {
        throw new UserError(
          `${what}, but the PAUSE hook at ${stage} of ECS service ${service} has timeout action CONTINUE: when it times out, ECS would move the paused canary on by itself, unapproved. Nothing was changed.`,
          `Set the hook's timeoutConfiguration to { action: ROLLBACK, timeoutInMinutes: ${Math.min(needed, MAX_HOOK_TIMEOUT_MINUTES)} }${needed > MAX_HOOK_TIMEOUT_MINUTES ? ' and lower pause-timeout' : ''}, or remove the pause from steps.`,
        );
      }
      if (minutes * MINUTE >= neededMs) continue;
      const fits = minutes * MINUTE - judgedMs;
      const lower =
        fits >= MINUTE
          ? `lower pause-timeout to ${formatDuration(Math.floor(fits / MINUTE) * MINUTE)} or less`
          : 'shorten the step';
      throw new UserError(
        `${what}, ${formatDuration(neededMs)} in all, but the PAUSE hook at ${stage} of ECS service ${service} times out after ${minutes} min (${formatDuration(minutes * MINUTE)}) and ECS would then roll the canary back before the pause ends. Nothing was changed.`,
        needed <= MAX_HOOK_TIMEOUT_MINUTES
          ? `Raise the hook's timeoutConfiguration.timeoutInMinutes to ${needed} or more (ECS allows up to ${MAX_HOOK_TIMEOUT_MINUTES}, 14 days), or ${lower}.`
          : `ECS allows a hook timeout of at most ${MAX_HOOK_TIMEOUT_MINUTES} min (14 days), so ${lower}${minutes < MAX_HOOK_TIMEOUT_MINUTES ? ` (after raising timeoutInMinutes to ${MAX_HOOK_TIMEOUT_MINUTES}, pause-timeout may be up to ${formatDuration(Math.floor((MAX_HOOK_TIMEOUT_MINUTES * MINUTE - judgedMs) / MINUTE) * MINUTE)})` : ''}.`,
      );
    }
  }
}
