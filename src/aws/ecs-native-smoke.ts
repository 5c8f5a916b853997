/**
 * Smoke checks on an ECS native (BLUE_GREEN / CANARY / LINEAR) deployment, through the
 * service's test listener rule, while ECS holds the deployment after test traffic shifted
 * and before any production traffic moves.
 *
 * ECS moves the test listener rule (loadBalancers[].advancedConfiguration.testListenerRule)
 * to the new revision at TEST_TRAFFIC_SHIFT, while the production rule still sends everything
 * to the old one. A PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT holds the deployment
 * there (AWAITING_ACTION) until it is continued; the smoke gate runs its checks in that
 * window. The engine's first shift continues the hook as it continues every pause in its
 * way; a failed check makes the new revision "unhealthy" to the engine, which stops the
 * deployment with rollback, and production traffic never moved.
 *
 * Nothing here changes the target: it wraps `create` (to learn the service deployment) and
 * `waitHealthy` (with `withSmokeGate`) from outside.
 */
import type { DeploymentLifecycleHook, ECSClient, Service } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SmokeSpec } from '../analysis/smoke.js';
import { withSmokeGate } from '../delivery/smoke-gate.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { describeRef, type ServiceRef } from './ecs.js';
import type { EcsNativeTarget } from './ecs-native-target.js';
import {
  continueServiceDeployment,
  describeDeploymentState,
  describeServiceDeployment,
  FORWARD,
  pausedHook,
  serviceDeploymentArn,
  serviceDeploymentId,
  stageIndex,
} from './ecs-service-deployments.js';
import { describeRoute, percentages, readForward, targetGroupName, type TrafficRoute } from './elbv2.js';
import { listenerOf } from './smoke-rule.js';

/** The stage whose PAUSE hook holds the deployment for the checks. */
export const SMOKE_STAGE = 'POST_TEST_TRAFFIC_SHIFT';
const MINUTE = 60_000;
/** Time the hook must leave beyond the checks: noticing the hold (polls up to 5 s apart), reading the rule. */
const HOLD_SLACK_MS = MINUTE;

export interface NativeSmokePlan {
  /** The service's test listener rule (or listener). */
  testRoute: TrafficRoute;
  /** The service's target group and its alternate. */
  pair: [string, string];
  hook: DeploymentLifecycleHook;
}

/** The longest the checks can take: every attempt of every check timing out, with the delays between. */
export function smokeWorstCaseMs(spec: SmokeSpec): number {
  return spec.checks.reduce((sum, c) => sum + (c.retries + 1) * c.timeoutMs + c.retries * spec.retryDelayMs, 0);
}

/**
 * Refuses, before any change, a native service the checks cannot run on: no test listener
 * rule, no PAUSE hook at POST_TEST_TRAFFIC_SHIFT, or a hook that would let ECS go on (or
 * roll back) before the checks can end.
 */
export function planNativeSmoke(service: Service, spec: SmokeSpec, ref: ServiceRef): NativeSmokePlan {
  const name = describeRef(ref);
  const lb = (service.loadBalancers ?? []).find(
    (l) => l.targetGroupArn && l.advancedConfiguration?.alternateTargetGroupArn,
  );
  const testRule = lb?.advancedConfiguration?.testListenerRule;
  if (!lb || !testRule) {
    throw new UserError(
      `The analysis spec has smoke checks, but ECS service ${name} has no test listener rule (loadBalancers[].advancedConfiguration.testListenerRule), so nothing reaches the new revision before production traffic does. Nothing was changed.`,
      'Give the service a test listener rule (e.g. a listener on port 8443, or a header-matched rule, forwarding to both target groups) and a PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT; or remove smoke: from the spec.',
    );
  }
  const hook = (service.deploymentConfiguration?.lifecycleHooks ?? []).find(
    (h) => h.targetType === 'PAUSE' && h.lifecycleStages?.includes(SMOKE_STAGE),
  );
  const example = `lifecycleHooks: [{ targetType: PAUSE, lifecycleStages: [${SMOKE_STAGE}], timeoutConfiguration: { timeoutInMinutes: 30, action: ROLLBACK } }]`;
  if (!hook) {
    throw new UserError(
      `The analysis spec has smoke checks, but ECS service ${name} has no PAUSE lifecycle hook at ${SMOKE_STAGE}: without one ECS shifts production traffic right after the test traffic, before the checks have run. Nothing was changed.`,
      `Add the hook to the service's deploymentConfiguration (${example}), or remove smoke: from the spec.`,
    );
  }
  const minutes = hook.timeoutConfiguration?.timeoutInMinutes ?? 1440;
  const action = hook.timeoutConfiguration?.action ?? 'ROLLBACK';
  if (action === 'CONTINUE') {
    throw new UserError(
      `The PAUSE hook at ${SMOKE_STAGE} of ECS service ${name} has timeout action CONTINUE: if the job stopped during the smoke checks, ECS would move production traffic to an unchecked revision when it times out. Nothing was changed.`,
      `Set the hook's timeoutConfiguration.action to ROLLBACK (${example}).`,
    );
  }
  const neededMs = smokeWorstCaseMs(spec) + HOLD_SLACK_MS;
  if (minutes * MINUTE < neededMs) {
    throw new UserError(
      `The PAUSE hook at ${SMOKE_STAGE} of ECS service ${name} times out after ${minutes} min, but the smoke checks may take up to ${formatDuration(neededMs)} (every attempt timing out, plus a minute to notice the hold). ECS would roll back mid-check. Nothing was changed.`,
      "Raise the hook's timeoutConfiguration.timeoutInMinutes, or lower the checks' timeout / retries.",
    );
  }
  return {
    testRoute: { kind: testRule.includes(':listener-rule/') ? 'rule' : 'listener', arn: testRule },
    pair: [lb.targetGroupArn as string, lb.advancedConfiguration?.alternateTargetGroupArn as string],
    hook,
  };
}

/** `http(s)://<load balancer DNS name>[:port]` of the listener a route belongs to. */
export async function listenerUrl(
  elbv2: ElasticLoadBalancingV2Client,
  route: TrafficRoute,
  signal?: AbortSignal,
): Promise<string> {
  const opts = signal ? { abortSignal: signal } : {};
  const listener = (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerOf(route)] }), opts))
    .Listeners?.[0];
  const lb = listener?.LoadBalancerArn
    ? (await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }), opts))
        .LoadBalancers?.[0]
    : undefined;
  const protocol = listener?.Protocol === 'HTTPS' ? 'https' : 'http';
  const port = listener?.Port;
  const standard = (protocol === 'http' && port === 80) || (protocol === 'https' && port === 443);
  return `${protocol}://${lb?.DNSName ?? 'unknown-load-balancer'}${port && !standard ? `:${port}` : ''}`;
}

export interface NativeSmokeOptions {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  ref: ServiceRef;
  serviceArn: string;
  spec: SmokeSpec;
  plan: NativeSmokePlan;
  /** smoke-url: wins over the spec's url and the test listener's. */
  url?: string;
  /** How long ECS may take from healthy tasks to the hold at POST_TEST_TRAFFIC_SHIFT. */
  waitTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * Waits until ECS holds the deployment at the PAUSE hook of POST_TEST_TRAFFIC_SHIFT
 * (continuing pauses before it, which would otherwise keep it from getting there), then
 * checks that the test route sends all its traffic to the new revision's target group,
 * which it returns.
 */
export async function holdAtTestTraffic(
  o: Pick<NativeSmokeOptions, 'ecs' | 'elbv2' | 'plan' | 'waitTimeoutMs' | 'log'>,
  deploymentArn: string,
  newGroup: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const id = serviceDeploymentId(deploymentArn);
  const target = stageIndex(SMOKE_STAGE);
  let last = '';
  for (;;) {
    const look = await poll<{ held: boolean; hookId?: string; stage: string }>(
      async () => {
        const d = await describeServiceDeployment(o.ecs, deploymentArn, signal);
        if (!d.status || !FORWARD.includes(d.status)) {
          throw new UserError(
            `ECS service deployment ${id} stopped going forward before the smoke checks could run: ${describeDeploymentState(d)}.`,
            "Look at the service's deployments and events; ECS rolls back on its own when a deployment alarm fires or the circuit breaker trips.",
          );
        }
        const hook = pausedHook(d);
        const at = stageIndex(d.lifecycleStage);
        if (hook?.hookId && at === target) return { done: true, value: { held: true, stage: SMOKE_STAGE } };
        if (hook?.hookId && at < target)
          return { done: true, value: { held: false, hookId: hook.hookId, stage: d.lifecycleStage ?? '?' } };
        if (at > target) {
          throw new UserError(
            `ECS service deployment ${id} went past ${SMOKE_STAGE} without being held there (${describeDeploymentState(d)}), so the smoke checks cannot run before production traffic.`,
            `Check that the service's PAUSE hook lists ${SMOKE_STAGE}.`,
          );
        }
        return { done: false, status: describeDeploymentState(d) };
      },
      {
        what: `ECS to shift test traffic to the new revision and hold deployment ${id} at ${SMOKE_STAGE}`,
        timeoutMs: o.waitTimeoutMs,
        initialDelayMs: 500,
        maxDelayMs: 5000,
        ...(signal ? { signal } : {}),
        onWait: ({ status }) => {
          if (status !== last) o.log(`  waiting: ${status}`);
          last = status;
        },
      },
    );
    if (look.held) break;
    o.log(
      `ECS holds deployment ${id} at ${look.stage}, before the test traffic: continuing it (ContinueServiceDeployment CONTINUE).`,
    );
    await continueServiceDeployment(o.ecs, deploymentArn, look.hookId as string, 'CONTINUE', signal);
  }
  const forward = percentages((await readForward(o.elbv2, o.plan.testRoute, signal)).weights);
  const onNew = o.plan.pair.find((tg) => (forward.get(tg) ?? 0) >= 99.5);
  if (!onNew || (newGroup !== undefined && onNew !== newGroup)) {
    throw new UserError(
      `ECS holds deployment ${id} at ${SMOKE_STAGE}, but the test ${describeRoute(o.plan.testRoute)} does not send all its traffic to the new revision's target group${newGroup ? ` ${targetGroupName(newGroup)}` : ''} (${o.plan.pair.map((tg) => `${targetGroupName(tg)} ${forward.get(tg) ?? 0}%`).join(', ')}), so the checks would not reach the new revision alone.`,
      "Make the test listener rule forward to both of the service's target groups (weights 100 and 0) and let ECS manage its weights.",
    );
  }
  o.log(
    `ECS holds deployment ${id} at ${SMOKE_STAGE}: the test ${describeRoute(o.plan.testRoute)} sends everything to ${targetGroupName(onNew)}, production traffic has not moved.`,
  );
  return onNew;
}

/**
 * Makes a native target run the spec's smoke checks through the test listener once ECS
 * holds the new revision at POST_TEST_TRAFFIC_SHIFT, before its first production shift.
 */
export function withNativeSmoke(target: EcsNativeTarget, o: NativeSmokeOptions): EcsNativeTarget {
  let deploymentArn: string | undefined;
  const create = target.create.bind(target);
  target.create = async (deploymentId, signal) => {
    const sides = await create(deploymentId, signal);
    const at = sides.canary.lastIndexOf('@');
    if (at >= 0) deploymentArn = serviceDeploymentArn(o.serviceArn, sides.canary.slice(at + 1));
    return sides;
  };
  return withSmokeGate(target, {
    spec: o.spec,
    log: o.log,
    newSideUrl: async (signal) => {
      if (!deploymentArn) throw new Error('native smoke checks before the service deployment exists');
      await holdAtTestTraffic(o, deploymentArn, target.resolved?.canary, signal);
      return o.url ?? o.spec.url ?? (await listenerUrl(o.elbv2, o.plan.testRoute, signal));
    },
  });
}
