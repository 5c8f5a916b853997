/**
 * The native-strategy engine: an ECS service with the ECS deployment controller whose
 * deploymentConfiguration.strategy is BLUE_GREEN, CANARY or LINEAR. ECS moves the traffic
 * (the production listener rule's weights between the service's target group and its
 * alternate); ecs-deploy starts the service deployment with UpdateService, follows it with
 * DescribeServiceDeployments, reads every weight back from the listener rule, and judges
 * each step while a PAUSE lifecycle hook holds the deployment: then ContinueServiceDeployment
 * moves it on, or StopServiceDeployment (ROLLBACK) has ECS return all traffic to the old
 * revision at once. The steps are the service's own (canaryConfiguration,
 * linearConfiguration); the rollout record lives in the service tag like the other engines'.
 */
import {
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type DeploymentLifecycleHook,
  type DeploymentLifecycleHookDetail,
  type ECSClient,
  type Service,
  type ServiceDeployment,
  type UpdateServiceCommandOutput,
} from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CheckResult, ExtraCheck, SubjectLabels, Subjects, Window } from '../analysis/types.js';
import type {
  AbortRequest,
  RolloutPlan,
  RolloutRecord,
  Sides,
  Step,
  Strategy,
  Target,
  Traffic,
} from '../delivery/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import {
  assertTaggable,
  DEPLOYMENT_TAG,
  describeRef,
  describeService,
  explainEcsError,
  recentEvents,
  registerTaskDefinition,
  serviceRecordStore,
  stoppedTaskReasons,
  taskDefinitionArn,
  taskDefinitionName,
  type ServiceRef,
} from './ecs.js';
import {
  continueServiceDeployment,
  describeDeploymentState,
  describeServiceDeployment,
  FORWARD,
  inFlightDeployments,
  pausedHook,
  productionWeight,
  serviceDeploymentArn,
  serviceDeploymentId,
  stageIndex,
  stopServiceDeployment,
} from './ecs-service-deployments.js';
import {
  describeRoute,
  describeWeights,
  loadBalancerArnOf,
  percentages,
  readForward,
  targetGroupName,
  targetHealth,
  type TrafficRoute,
} from './elbv2.js';
import type { TaskDefinitionInput } from './task-definition.js';
import { markRolledBack, recordPromotion } from './ecs-last-good.js';
import { checkedRecord } from './ecs-record-check.js';

export const NATIVE_ENGINE = 'ecs-native';

/** Labels the native engine gives the analysis for each side (target group ones only behind a load balancer). */
export const NATIVE_LABELS = ['targetGroup', 'loadBalancer', 'service', 'cluster'] as const;

const MINUTE = 60_000;
/** Weights are compared to a tenth of a percent (ECS takes canary and linear percentages in tenths). */
const TOLERANCE = 0.05;

const NATIVE: Record<string, Strategy> = { BLUE_GREEN: 'blue-green', CANARY: 'canary', LINEAR: 'linear' };

// ---------------------------------------------------------------------------------------
// The plan: the service's own steps

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

// ---------------------------------------------------------------------------------------
// The target

export interface NativeTargetOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** What to roll out; absent when the target only finishes or undoes a recorded rollout. */
  taskDefinition?: TaskDefinitionInput;
  /** The plan, to check the service's PAUSE hooks against it in preflight. */
  plan?: RolloutPlan;
  /** Longest wait for the new revision to become healthy, and for each step beyond ECS's own bake. */
  waitTimeoutMs: number;
  clock?: Clock;
  log?: (line: string) => void;
}

interface LoadBalancerLayout {
  route: TrafficRoute;
  loadBalancerArn: string;
  /** The service's target group and its alternate. */
  pair: [string, string];
}

/** What one look at the deployment found. */
type Look<T> = { done: true; value: T } | { done: false; status: string } | { paused: string; stage: string };

export class EcsNativeTarget implements Target {
  readonly engine = NATIVE_ENGINE;
  /** The record text this process wrote last: read back, it needs no check against the service. */
  private written: string | undefined;
  readonly description: string;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private service: Service | undefined;
  private lb: LoadBalancerLayout | undefined;
  /** Target group taking production traffic before the rollout, and the one the new revision goes into. */
  private sidesTg: { stable: string; canary: string } | undefined;
  private deploymentArn: string | undefined;
  private startedAt = 0;
  /** The task definition registered by create. */
  registeredTaskDefinitionArn: string | undefined;
  /** The live task definition found by preflight. */
  previousTaskDefinitionArn: string | undefined;

  constructor(private readonly options: NativeTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.description = `ECS service ${describeRef(options)} (ECS native deployment)`;
  }

  private get ref(): ServiceRef {
    return { cluster: this.options.cluster, service: this.options.service };
  }

  private get strategyName(): string {
    return this.service?.deploymentConfiguration?.strategy ?? 'native';
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    if (this.service) return;
    const service = await describeService(this.options.ecs, this.ref, signal);
    const controller = service.deploymentController?.type ?? 'ECS';
    const config = service.deploymentConfiguration;
    if (controller !== 'ECS' || !config?.strategy || !NATIVE[config.strategy]) {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} does not use a native BLUE_GREEN, CANARY or LINEAR strategy (controller ${controller}, strategy ${config?.strategy ?? 'ROLLING'}).`,
        'Use strategy auto: ecs-deploy then picks the engine that fits the service.',
      );
    }
    assertTaggable(service);
    this.previousTaskDefinitionArn = service.taskDefinition;
    const lb = (service.loadBalancers ?? []).find(
      (l) =>
        l.targetGroupArn &&
        l.advancedConfiguration?.alternateTargetGroupArn &&
        l.advancedConfiguration.productionListenerRule,
    );
    if (lb) {
      const ruleArn = lb.advancedConfiguration?.productionListenerRule as string;
      const route: TrafficRoute = { kind: ruleArn.includes(':listener-rule/') ? 'rule' : 'listener', arn: ruleArn };
      const pair: [string, string] = [
        lb.targetGroupArn as string,
        lb.advancedConfiguration?.alternateTargetGroupArn as string,
      ];
      const forward = await readForward(this.options.elbv2, route, signal);
      const missing = pair.filter((tg) => !forward.weights.has(tg));
      if (missing.length > 0) {
        throw new UserError(
          `The production ${describeRoute(route)} of ${describeRef(this.ref)} does not forward to ${missing.map(targetGroupName).join(' and ')}, so ECS could not shift traffic between ${pair.map(targetGroupName).join(' and ')}.`,
          "Make the rule forward to both the service's target group and its alternateTargetGroupArn (weights 100 and 0).",
        );
      }
      this.lb = { route, loadBalancerArn: loadBalancerArnOf(route.arn), pair };
      this.sidesTg = this.sidesFrom(percentages(forward.weights));
    } else if ((service.loadBalancers ?? []).some((l) => l.targetGroupArn)) {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} uses the ${config.strategy} strategy behind a target group without advancedConfiguration (alternateTargetGroupArn, productionListenerRule), so ECS has no second target group to shift traffic to.`,
        "Give the service's load balancer an advancedConfiguration with the alternate target group, the production listener rule and the role ECS uses to change it.",
      );
    }
    if (this.options.plan) checkPauseHooks(config, this.options.plan, describeRef(this.ref));
    this.service = service;
  }

  /** Which target group is live (all production traffic) and which one the new revision goes into. */
  private sidesFrom(p: Map<string, number>): { stable: string; canary: string } | undefined {
    const pair = this.lb?.pair;
    if (!pair) return undefined;
    const stable = pair.find((tg) => (p.get(tg) ?? 0) >= 100 - TOLERANCE);
    return stable ? { stable, canary: pair.find((tg) => tg !== stable) as string } : undefined;
  }

  /** Whether the service is behind a load balancer (the ALB metric shorthands then work). */
  get hasLoadBalancer(): boolean {
    return this.lb !== undefined;
  }

  /** The production route and the two target groups, as resolved (after preflight). */
  get resolved(): { route: TrafficRoute; stable: string; canary: string } | undefined {
    return this.lb && this.sidesTg ? { route: this.lb.route, ...this.sidesTg } : undefined;
  }

  private async serviceArn(signal?: AbortSignal): Promise<string> {
    if (!this.service) this.service = await describeService(this.options.ecs, this.ref, signal);
    return this.service.serviceArn as string;
  }

  async loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    // Checked against the live service before anything acts on it (ecs-record-check).
    await this.serviceArn(signal);
    return checkedRecord(this.options.ecs, this.ref, this.service as Service, this.log, signal, this.written);
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    this.written = await serviceRecordStore(this.options.ecs, await this.serviceArn(signal)).save(record, signal);
  }
  async loadAbort(signal?: AbortSignal): Promise<AbortRequest | undefined> {
    return serviceRecordStore(this.options.ecs, await this.serviceArn(signal)).loadAbort(signal);
  }

  async requestAbort(request: AbortRequest, signal?: AbortSignal): Promise<void> {
    await serviceRecordStore(this.options.ecs, await this.serviceArn(signal)).requestAbort(request, signal);
  }

  /** UpdateService to a task definition; returns the ARN of the service deployment it started. */
  private async startDeployment(taskDefinition: string, signal?: AbortSignal): Promise<string> {
    const before = (await describeService(this.options.ecs, this.ref, signal)).currentServiceDeployment;
    const since = this.clock.now();
    let res: UpdateServiceCommandOutput;
    try {
      res = await this.options.ecs.send(
        new UpdateServiceCommand({ cluster: this.options.cluster, service: this.options.service, taskDefinition }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      throw explainEcsError(err, `Updating service ${describeRef(this.ref)}`);
    }
    if (res.service) this.service = res.service;
    const started = res.service?.currentServiceDeployment;
    if (started && started !== before) return started;
    return poll(
      async () => {
        const found = (await inFlightDeployments(this.options.ecs, this.ref, signal)).find(
          (d) => d.serviceDeploymentArn !== before && (d.createdAt?.getTime() ?? since) >= since - 60_000,
        );
        return found?.serviceDeploymentArn
          ? { done: true, value: found.serviceDeploymentArn }
          : { done: false, status: 'no new service deployment listed yet' };
      },
      {
        what: `ECS to list the service deployment UpdateService started for ${describeRef(this.ref)}`,
        timeoutMs: 60_000,
        initialDelayMs: 500,
        maxDelayMs: 5000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
      },
    );
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    const td = this.options.taskDefinition;
    if (!td) throw new Error('EcsNativeTarget.create needs a task definition');
    this.startedAt = this.clock.now();
    // Look again: an earlier rollout may just have been undone.
    const live = await describeService(this.options.ecs, this.ref, signal);
    this.service = live;
    this.previousTaskDefinitionArn = live.taskDefinition;
    const busy = await inFlightDeployments(this.options.ecs, this.ref, signal);
    if (busy.length > 0) {
      const d = busy[0];
      throw new UserError(
        `ECS service ${describeRef(this.ref)} already has a deployment in flight (${serviceDeploymentId(d?.serviceDeploymentArn ?? '?')}, ${d?.status}${d?.statusReason ? `: ${d.statusReason}` : ''}), not started by this rollout.`,
        'Wait for it to finish, or run the rollback action for this service (it stops the deployment with rollback); one workflow should deploy a service at a time.',
      );
    }
    if (this.lb) {
      const forward = await readForward(this.options.elbv2, this.lb.route, signal);
      this.sidesTg = this.sidesFrom(percentages(forward.weights));
      if (!this.sidesTg) {
        throw new UserError(
          `The production ${describeRoute(this.lb.route)} splits traffic (${describeWeights(forward.weights)}) while no deployment is in flight, so it is not clear which target group is live.`,
          `Put 100% on the target group the live revision is registered in (weight 100 and 0), then deploy again.`,
        );
      }
    }
    const tags = [
      ...(td.tags ?? []).filter((t) => t.key !== DEPLOYMENT_TAG),
      { key: DEPLOYMENT_TAG, value: deploymentId },
    ];
    const arn = await registerTaskDefinition(this.options.ecs, { ...td, tags }, signal);
    this.registeredTaskDefinitionArn = arn;
    this.deploymentArn = await this.startDeployment(arn, signal);
    const where =
      this.lb && this.sidesTg
        ? `; ECS moves ${describeRoute(this.lb.route)} from ${targetGroupName(this.sidesTg.stable)} to ${targetGroupName(this.sidesTg.canary)}`
        : '';
    this.log(
      `Registered task definition ${taskDefinitionName(arn)}; UpdateService started ECS service deployment ${serviceDeploymentId(this.deploymentArn)} (${this.strategyName}) from ${taskDefinitionName(live.taskDefinition ?? '?')}${where}.`,
    );
    return {
      stable: taskDefinitionName(live.taskDefinition ?? ''),
      canary: `${taskDefinitionName(arn)}@${serviceDeploymentId(this.deploymentArn)}`,
    };
  }

  /** The service deployment a record names (`family:rev@id`), or the one this target started. */
  private async deploymentOf(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const id = record?.canary.includes('@') ? record.canary.slice(record.canary.lastIndexOf('@') + 1) : undefined;
    if (id) return serviceDeploymentArn(await this.serviceArn(signal), id);
    if (this.deploymentArn) return this.deploymentArn;
    if (!record) return undefined;
    // Written before UpdateService returned: a deployment started since then is this rollout's.
    const since = record.at * 1000 - 60_000;
    return (await inFlightDeployments(this.options.ecs, this.ref, signal)).find(
      (d) => (d.createdAt?.getTime() ?? 0) >= since,
    )?.serviceDeploymentArn;
  }

  /** Throws when ECS stopped moving the deployment forward (it rolls back, was stopped, or a hook timed out). */
  private assertForward(d: ServiceDeployment): void {
    const timedOut = (d.lifecycleHookDetails ?? []).find((h) => h.status === 'TIMED_OUT');
    if (timedOut) {
      throw new UserError(
        `A lifecycle hook of ECS service deployment ${serviceDeploymentId(d.serviceDeploymentArn ?? '')} timed out (ECS then took its timeout action, ${timedOut.timeoutAction ?? 'ROLLBACK'}), so a step went unjudged.`,
        "Raise the PAUSE hook's timeoutConfiguration.timeoutInMinutes above the longest step.",
      );
    }
    if (d.status === 'SUCCESSFUL' || (d.status && FORWARD.includes(d.status))) return;
    const reason = (d.statusReason ?? d.rollback?.reason ?? 'no reason given').replace(/\.$/, '');
    if (d.status?.startsWith('ROLLBACK')) {
      throw new UserError(
        `ECS is rolling deployment ${serviceDeploymentId(d.serviceDeploymentArn ?? '')} back itself (${d.status}): ${reason}.`,
        "ECS rolls back on its own when one of the service's deployment alarms fires, the circuit breaker trips, or a hook fails or times out with action ROLLBACK.",
      );
    }
    throw new UserError(
      `ECS service deployment ${serviceDeploymentId(d.serviceDeploymentArn ?? '')} was stopped (${d.status}): ${reason}.`,
      "Someone or something else stopped it; look at the service's deployments tab.",
    );
  }

  /** Traffic on the new revision, read back from the production rule (or, without one, as ECS reports it). */
  private async traffic(d: ServiceDeployment, signal?: AbortSignal): Promise<Traffic> {
    const sides = this.sidesTg;
    if (!this.lb || !sides) {
      const w = productionWeight(d);
      return {
        canary: w,
        stable: Math.round((100 - w) * 100) / 100,
        detail: `ECS reports ${w}% of production traffic on the new revision`,
      };
    }
    const read = await readForward(this.options.elbv2, this.lb.route, signal);
    const p = percentages(read.weights);
    return {
      canary: p.get(sides.canary) ?? 0,
      stable: p.get(sides.stable) ?? 0,
      detail: `${describeRoute(this.lb.route)}: ${describeWeights(read.weights)}`,
    };
  }

  /**
   * Follows a deployment until `look` is done. Whenever it reports a pause that is in the
   * way, the PAUSE hook is continued and the following starts afresh (short delays again).
   */
  private async follow<T>(
    arn: string,
    what: string,
    timeoutMs: number,
    look: (d: ServiceDeployment) => Promise<Look<T>>,
    signal?: AbortSignal,
    why = '',
  ): Promise<T> {
    const deadline = this.clock.now() + timeoutMs;
    let last = '';
    for (;;) {
      const outcome = await poll<Look<T>>(
        async () => {
          const d = await describeServiceDeployment(this.options.ecs, arn, signal);
          const r = await look(d);
          return 'paused' in r || r.done ? { done: true, value: r } : { done: false, status: r.status };
        },
        {
          what,
          timeoutMs: Math.max(0, deadline - this.clock.now()),
          initialDelayMs: 500,
          maxDelayMs: 5000,
          clock: this.clock,
          ...(signal ? { signal } : {}),
          onWait: ({ status }) => {
            if (status !== last) this.log(`  waiting: ${status}`);
            last = status;
          },
          timeoutHint:
            'ECS did not get there in time: see the service deployment and the service events below, or raise wait-timeout.',
        },
      );
      if ('paused' in outcome) {
        await this.resume(arn, outcome.paused, outcome.stage, why, signal);
        continue;
      }
      return (outcome as { done: true; value: T }).value;
    }
  }

  /** Continues a PAUSE hook; a hook resolved meanwhile (timeout, someone else) is not an error. */
  private async resume(arn: string, hookId: string, stage: string, why: string, signal?: AbortSignal): Promise<void> {
    this.log(
      `ECS holds deployment ${serviceDeploymentId(arn)} at ${stage}: continuing it${why ? ` ${why}` : ''} (ContinueServiceDeployment CONTINUE).`,
    );
    try {
      await continueServiceDeployment(this.options.ecs, arn, hookId, 'CONTINUE', signal);
    } catch (err) {
      const again = await describeServiceDeployment(this.options.ecs, arn, signal);
      if (pausedHook(again)?.hookId === hookId) throw err;
      this.log(`  the hook was resolved meanwhile: ${describeDeploymentState(again)}.`);
    }
  }

  private stepTimeoutMs(): number {
    const c = this.service?.deploymentConfiguration;
    const ecsBake =
      Math.max(
        c?.canaryConfiguration?.canaryBakeTimeInMinutes ?? 0,
        c?.linearConfiguration?.stepBakeTimeInMinutes ?? 0,
      ) * MINUTE;
    return this.options.waitTimeoutMs + ecsBake;
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('waitHealthy before create');
    await this.follow<void>(
      arn,
      `ECS to start the new revision's tasks (deployment ${serviceDeploymentId(arn)})`,
      this.options.waitTimeoutMs,
      async (d) => {
        this.assertForward(d);
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        const hook = pausedHook(d);
        const stage = stageIndex(d.lifecycleStage);
        // Pauses before the new tasks exist are not ours to judge.
        if (hook?.hookId && stage < stageIndex('POST_SCALE_UP'))
          return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        const target = d.targetServiceRevision;
        const tasksUp =
          stage >= stageIndex('POST_SCALE_UP') &&
          (target?.requestedTaskCount === undefined || (target.runningTaskCount ?? 0) >= target.requestedTaskCount);
        if (!tasksUp) return { done: false, status: describeDeploymentState(d) };
        if (this.sidesTg) {
          const health = await targetHealth(this.options.elbv2, this.sidesTg.canary, signal);
          if (health.problems.length > 0)
            return {
              done: false,
              status: `${describeDeploymentState(d)}; ${targetGroupName(this.sidesTg.canary)}: ${health.problems.slice(0, 3).join('; ')}`,
            };
        }
        return { done: true, value: undefined };
      },
      signal,
      'so that the new tasks start',
    );
  }

  async shift(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('shift before create');
    return this.follow<Traffic>(
      arn,
      `ECS to put ${weight}% of production traffic on the new revision (deployment ${serviceDeploymentId(arn)})`,
      this.stepTimeoutMs(),
      async (d) => {
        this.assertForward(d);
        const t = await this.traffic(d, signal);
        const settled = Math.abs(t.canary + t.stable - 100) <= TOLERANCE;
        if (settled && t.canary >= weight - TOLERANCE)
          return { done: true, value: { ...t, detail: `${t.detail}; ECS: ${d.status} at ${d.lifecycleStage ?? '?'}` } };
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: `${describeDeploymentState(d)}; ${t.detail}` };
      },
      signal,
      `towards ${weight}% of production traffic`,
    );
  }

  /**
   * Pause: once the paused step passed, waits until ECS holds the deployment at the PAUSE
   * hook before its next traffic step (AWAITING_ACTION), so the job ends with the canary
   * held by ECS itself. Returns when that hook times out (epoch ms), if ECS says.
   */
  async holdPause(signal?: AbortSignal): Promise<number | undefined> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('holdPause before create');
    const id = serviceDeploymentId(arn);
    const hook = await this.follow<DeploymentLifecycleHookDetail>(
      arn,
      `ECS to hold deployment ${id} at its PAUSE hook before the next traffic step`,
      this.stepTimeoutMs(),
      async (d) => {
        this.assertForward(d);
        const held = pausedHook(d);
        return held ? { done: true, value: held } : { done: false, status: describeDeploymentState(d) };
      },
      signal,
    );
    const expires = hook.expiresAt?.getTime();
    this.log(
      `ECS holds deployment ${id} at its PAUSE hook (AWAITING_ACTION${expires ? `, its timeout action ${hook.timeoutAction ?? 'ROLLBACK'} at ${new Date(expires).toISOString()}` : ''}): a resume continues it, the rollback action resolves it with ROLLBACK.`,
    );
    return expires;
  }

  /**
   * Resume (and the reconciler's judging): takes up the paused rollout of `record` in a
   * fresh process. Its service deployment must still be held at a PAUSE hook, the service
   * must run the recorded new revision, and the production rule must split traffic as the
   * pause left it (which target group is the new revision's follows from that). Changes nothing.
   */
  async adopt(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    await this.preflight(signal);
    const hint =
      'Run the rollback action to return all traffic to the old revision and clear the record, then deploy again.';
    const at = record.canary.lastIndexOf('@');
    const canaryTd = at >= 0 ? record.canary.slice(0, at) : '';
    const arn = at >= 0 ? await this.deploymentOf(record, signal) : undefined;
    if (!arn || !canaryTd) {
      throw new UserError(
        `The paused rollout ${record.id} names no ECS service deployment with its new revision (new side '${record.canary || 'none'}'). Nothing was changed.`,
        hint,
      );
    }
    const id = serviceDeploymentId(arn);
    const d = await describeServiceDeployment(this.options.ecs, arn, signal);
    const timedOut = (d.lifecycleHookDetails ?? []).find((h) => h.status === 'TIMED_OUT');
    // Held where the pause left it: going forward, waiting at a PAUSE hook, with the recorded weight (not moved on by hand).
    const held =
      d.status !== undefined &&
      FORWARD.includes(d.status) &&
      pausedHook(d) !== undefined &&
      Math.abs(productionWeight(d) - record.weight) < TOLERANCE;
    if (!held) {
      throw new UserError(
        `The paused rollout ${record.id} left ECS service deployment ${id} held at its PAUSE hook with ${record.weight}% of production traffic, but it is ${describeDeploymentState(d)} now${timedOut ? ` (a hook timed out, and ECS took its timeout action ${timedOut.timeoutAction ?? 'ROLLBACK'})` : ''}: it is no longer waiting for a resume where the pause left it. Nothing was changed.`,
        timedOut ? `${hint} Keep pause-timeout below the hook's timeoutInMinutes.` : hint,
      );
    }
    const live = this.service?.taskDefinition ?? '';
    if (taskDefinitionName(live) !== taskDefinitionName(canaryTd)) {
      throw new UserError(
        `The paused rollout ${record.id} rolled out ${canaryTd}, but ${describeRef(this.ref)} is set to ${taskDefinitionName(live) || 'no task definition'} now: the service no longer looks as the pause left it. Nothing was changed.`,
        hint,
      );
    }
    if (this.lb) {
      const read = await readForward(this.options.elbv2, this.lb.route, signal);
      const p = percentages(read.weights);
      const near = (tg: string, w: number) => Math.abs((p.get(tg) ?? 0) - w) < TOLERANCE;
      const canary = this.lb.pair.find((tg) => near(tg, record.weight));
      const stable = this.lb.pair.find((tg) => tg !== canary);
      if (!canary || !stable || !near(stable, 100 - record.weight)) {
        throw new UserError(
          `The paused rollout ${record.id} left ${record.weight}% on the new revision, but the production ${describeRoute(this.lb.route)} holds ${describeWeights(read.weights)} now: traffic was changed while it was paused. Nothing was changed.`,
          `Look at who changed the weights; ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`,
        );
      }
      this.sidesTg = { stable, canary };
    }
    this.deploymentArn = arn;
    this.registeredTaskDefinitionArn = live;
    this.previousTaskDefinitionArn = record.stable || undefined;
    this.startedAt = this.clock.now();
    this.log(
      `Took up ECS service deployment ${id} of ${taskDefinitionName(live)}, held at its PAUSE hook with ${record.weight}% of production traffic${this.sidesTg ? ` in ${targetGroupName(this.sidesTg.canary)}` : ''}.`,
    );
  }

  subjects(): Subjects {
    const base = {
      service: this.options.service.split('/').pop() as string,
      cluster: this.options.cluster.split('/').pop() as string,
    };
    if (!this.lb || !this.sidesTg) return { canary: base };
    const side = (tg: string): SubjectLabels => ({
      targetGroup: tg,
      loadBalancer: (this.lb as LoadBalancerLayout).loadBalancerArn,
      ...base,
    });
    return { canary: side(this.sidesTg.canary), baseline: side(this.sidesTg.stable) };
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const arn = await this.deploymentOf(record, signal);
    if (!arn) throw new Error(`rollout ${record.id} names no ECS service deployment to finish`);
    const bakeMs = (this.service?.deploymentConfiguration?.bakeTimeInMinutes ?? 0) * MINUTE;
    await this.follow<void>(
      arn,
      `ECS to finish deployment ${serviceDeploymentId(arn)} (its bake time${bakeMs ? ` of ${formatDuration(bakeMs)}` : ''} and clean-up)`,
      this.options.waitTimeoutMs + bakeMs,
      async (d) => {
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        this.assertForward(d);
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: describeDeploymentState(d) };
      },
      signal,
      'to let ECS finish: every step passed',
    );
    const promoted = record.canary.replace(/@[^@]*$/, '');
    if (promoted)
      await recordPromotion(
        this.options.ecs,
        await this.serviceArn(signal),
        promoted,
        record.stable || undefined,
        this.log,
        signal,
      );
  }

  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const arn = await this.deploymentOf(record, signal);
    if (!arn) {
      this.log(`Rollout ${record.id} never started an ECS service deployment: nothing to undo.`);
      onRestored?.();
      return;
    }
    const id = serviceDeploymentId(arn);
    const d = await describeServiceDeployment(this.options.ecs, arn, signal);
    if (d.status === 'SUCCESSFUL' || d.status === 'STOPPED') {
      // Finished (or stopped where it was) before it could be taken back: deploy the old revision again.
      if (!record.stable)
        throw new UserError(
          `Deployment ${id} ${d.status === 'SUCCESSFUL' ? 'completed' : 'was stopped'}, and the record does not say which task definition ran before.`,
          'Run the rollback action with to: the task definition ARN to return to.',
        );
      this.log(`ECS service deployment ${id} is ${d.status}: deploying ${record.stable} again.`);
      await this.revert(taskDefinitionArn(record.stable, await this.serviceArn(signal)), signal, onRestored);
      await markRolledBack(this.options.ecs, await this.serviceArn(signal), record.canary, this.log, signal);
      return;
    }
    if (d.status === 'ROLLBACK_FAILED') throw this.rollbackFailed(d);
    // A paused rollout's record keeps its deadline (pu) on the way to the restore: the hook that holds it is resolved with ROLLBACK.
    const hook = record.pauseUntil !== undefined && d.status && FORWARD.includes(d.status) ? pausedHook(d) : undefined;
    if (hook?.hookId) {
      this.log(
        `ECS holds deployment ${id} at its PAUSE hook: resolving it with ROLLBACK (ContinueServiceDeployment ROLLBACK); ECS returns all production traffic to ${record.stable || 'the old revision'} at once.`,
      );
      try {
        await continueServiceDeployment(this.options.ecs, arn, hook.hookId, 'ROLLBACK', signal);
      } catch (err) {
        const again = await describeServiceDeployment(this.options.ecs, arn, signal);
        if (!again.status || !FORWARD.includes(again.status)) {
          this.log(`  the hook was resolved meanwhile: ${describeDeploymentState(again)}.`);
        } else {
          this.log(
            `  the hook could not be resolved (${errorMessage(err)}); stopping the deployment with rollback instead (StopServiceDeployment ROLLBACK).`,
          );
          await stopServiceDeployment(this.options.ecs, arn, signal);
        }
      }
    } else if (d.status && FORWARD.includes(d.status)) {
      this.log(
        `Stopping ECS service deployment ${id} with rollback (StopServiceDeployment ROLLBACK): ECS returns all production traffic to ${record.stable || 'the old revision'} at once.`,
      );
      await stopServiceDeployment(this.options.ecs, arn, signal);
    } else {
      this.log(`ECS service deployment ${id} is already ${d.status}.`);
    }
    let restored = false;
    const ownSides = this.deploymentArn === arn && this.sidesTg !== undefined;
    await this.follow<void>(
      arn,
      `ECS to roll deployment ${id} back`,
      this.options.waitTimeoutMs,
      async (now) => {
        if (now.status === 'ROLLBACK_FAILED') throw this.rollbackFailed(now);
        if (!restored) {
          // The target groups are known only to the process that started the deployment; otherwise ECS's own figure.
          const back = ownSides
            ? (await this.traffic(now, signal)).stable >= 100 - TOLERANCE
            : now.status?.startsWith('ROLLBACK') && productionWeight(now) <= TOLERANCE;
          if (back && now.status !== 'IN_PROGRESS' && now.status !== 'PENDING') {
            restored = true;
            onRestored?.();
          }
        }
        if (now.status === 'ROLLBACK_SUCCESSFUL') return { done: true, value: undefined };
        return { done: false, status: describeDeploymentState(now) };
      },
      signal,
    );
    if (!restored) onRestored?.();
    await markRolledBack(this.options.ecs, await this.serviceArn(signal), record.canary, this.log, signal);
  }

  private rollbackFailed(d: ServiceDeployment): UserError {
    return new UserError(
      `ECS could not roll deployment ${serviceDeploymentId(d.serviceDeploymentArn ?? '')} back (ROLLBACK_FAILED): ${(d.statusReason ?? d.rollback?.reason ?? 'no reason given').replace(/\.$/, '')}.`,
      'Look at the service events; then run the rollback action with to: the task definition ARN to return to.',
    );
  }

  /**
   * Deploys an earlier task definition again (a new service deployment of the same strategy)
   * and follows it to the end, continuing every pause: nothing is judged on the way back.
   */
  async revert(taskDefinition: string, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const arn = await this.startDeployment(taskDefinition, signal);
    this.log(
      `ECS service deployment ${serviceDeploymentId(arn)} returns ${describeRef(this.ref)} to ${taskDefinitionName(taskDefinition)}; ecs-deploy continues each pause.`,
    );
    await this.follow<void>(
      arn,
      `ECS to finish deploying ${taskDefinitionName(taskDefinition)} (deployment ${serviceDeploymentId(arn)})`,
      this.options.waitTimeoutMs +
        (this.service?.deploymentConfiguration?.bakeTimeInMinutes ?? 0) * MINUTE +
        this.stepTimeoutMs(),
      async (d) => {
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        this.assertForward(d);
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: describeDeploymentState(d) };
      },
      signal,
      'on the way back',
    );
    onRestored?.();
  }

  /**
   * An analysis check that fails as soon as ECS stops moving the deployment forward (it
   * rolls back on its own alarm or circuit breaker, a hook timed out, someone stopped it),
   * so a bake does not wait out its time on a deployment ECS already took back.
   */
  deploymentCheck(): ExtraCheck {
    return {
      name: 'ecs-deployment',
      evaluate: async (_window: Window, signal?: AbortSignal): Promise<CheckResult> => {
        const arn = this.deploymentArn;
        if (!arn)
          return {
            name: 'ecs-deployment',
            verdict: 'pass',
            reason: 'no ECS service deployment started yet',
            judge: 'ecs',
          };
        const d = await describeServiceDeployment(this.options.ecs, arn, signal);
        try {
          this.assertForward(d);
        } catch (err) {
          return {
            name: 'ecs-deployment',
            verdict: 'fail',
            reason: err instanceof UserError ? err.message : errorMessage(err),
            judge: 'ecs',
          };
        }
        return {
          name: 'ecs-deployment',
          verdict: 'pass',
          reason: `ECS service deployment ${serviceDeploymentId(arn)} ${d.status}${d.lifecycleStage ? ` at ${d.lifecycleStage}` : ''}`,
          judge: 'ecs',
        };
      },
    };
  }

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const tryAdd = async (what: string, f: () => Promise<string[]>) => {
      try {
        out.push(...(await f()));
      } catch (err) {
        out.push(`could not read ${what}: ${errorMessage(err)}`);
      }
    };
    const arn = this.deploymentArn;
    if (arn) {
      await tryAdd('the service deployment', async () => {
        const d = await describeServiceDeployment(this.options.ecs, arn, signal);
        return [
          `ECS service deployment ${serviceDeploymentId(arn)}: ${describeDeploymentState(d)}`,
          ...(d.rollback?.reason ? [`rollback: ${d.rollback.reason}`] : []),
        ];
      });
    }
    await tryAdd('the service events', async () =>
      recentEvents(await describeService(this.options.ecs, this.ref, signal), { since: this.startedAt, limit: 5 }),
    );
    const td = this.registeredTaskDefinitionArn;
    await tryAdd('stopped tasks', () =>
      stoppedTaskReasons(
        this.options.ecs,
        {
          cluster: this.options.cluster,
          serviceName: this.options.service.split('/').pop() as string,
          ...(td ? { taskDefinitionArn: td } : {}),
        },
        signal,
      ),
    );
    const canary = this.sidesTg?.canary;
    if (canary)
      await tryAdd('target health', async () =>
        (await targetHealth(this.options.elbv2, canary, signal)).problems.map(
          (p) => `target ${p} in ${targetGroupName(canary)}`,
        ),
      );
    return out;
  }
}
