/**
 * A stand-in for what moto 5.2.1 lacks of ECS: services with a native BLUE_GREEN, CANARY or
 * LINEAR strategy and their service deployments. Built on the AWS proxy (test/support/
 * aws-proxy.ts): every other call goes to moto unchanged, faults can be injected as usual.
 *
 * It answers ListServiceDeployments, DescribeServiceDeployments, ContinueServiceDeployment
 * and StopServiceDeployment itself, and takes part in CreateService / UpdateService /
 * DescribeServices for native services (moto drops deploymentConfiguration): it keeps the
 * configuration, starts a service deployment when the task definition changes and adds
 * `deploymentConfiguration` and `currentServiceDeployment` to moto's answers.
 *
 * A deployment moves as the ECS developer guide describes: PENDING → IN_PROGRESS through
 * PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, then
 * PRE_PRODUCTION_TRAFFIC_SHIFT + PRODUCTION_TRAFFIC_SHIFT once per traffic step (canary:
 * canaryPercent then 100; linear: stepPercent increments; blue/green: 100), each step held
 * for the step bake time, then POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (bakeTimeInMinutes)
 * and CLEAN_UP → SUCCESSFUL. ECS's traffic moves are real: the production (and test)
 * listener rule's weights are changed in moto, so whoever reads the rule sees them. A PAUSE
 * hook at a stage holds the deployment there (AWAITING_ACTION, with expiresAt) until
 * ContinueServiceDeployment or its timeout. A rollback (ContinueServiceDeployment ROLLBACK,
 * StopServiceDeployment ROLLBACK, a hook timing out with action ROLLBACK, or `failDeployment`)
 * goes ROLLBACK_REQUESTED → ROLLBACK_IN_PROGRESS (all production traffic back on the old
 * target group, the service back on the old task definition) → ROLLBACK_SUCCESSFUL.
 *
 * Not documented, so chosen here: a hook resolved with ROLLBACK (or left waiting when the
 * deployment is stopped) reads FAILED; the new revision goes into whichever of the two
 * target groups has no production traffic when the deployment starts. While a hook holds
 * the deployment before a traffic step, it reports lifecycleStage PRODUCTION_TRAFFIC_SHIFT:
 * the model's ServiceDeploymentLifecycleStage has no PRE_PRODUCTION_TRAFFIC_SHIFT (only the
 * hook stages do).
 *
 * Every request it handles, and every answer it builds, is checked against the ECS API
 * model (botocore's, the source of the API reference): required members, member names,
 * enum values and ranges. A request that does not fit is refused with
 * InvalidParameterException and recorded in `problems`, which tests assert to be empty.
 *
 * Time: a stage with no work of its own takes `stageMs`; a minute of the service's bake times
 * lasts `minuteMs`, a minute of a hook timeout `hookMinuteMs` (real minutes by default).
 */
import { randomBytes } from 'node:crypto';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { apiModel, checkError, checkRequest, checkResponse, checkShape } from './aws-model.js';
import { startAwsProxy, type AwsProxy, type JsonAnswer } from './aws-proxy.js';

export interface EcsNativeServerOptions {
  /** How long a stage with no work of its own takes (ms). Default 150. */
  stageMs?: number;
  /** How long one minute of the service's bake times lasts here (ms). Default 1000. */
  minuteMs?: number;
  /** How long one minute of a hook's timeout lasts here (ms). Default 60000, as ecs-deploy checks the timeouts against real minutes. */
  hookMinuteMs?: number;
  /** How often deployments move (ms). Default 40. */
  tickMs?: number;
}

export interface EcsNativeServer extends AwsProxy {
  /** Requests and answers that did not fit the ECS API model; tests assert it stays empty. */
  problems: string[];
  /** A service's deployments (DescribeServiceDeployments shape), oldest first. */
  serviceDeployments(serviceArn: string): Array<Record<string, unknown>>;
  /** Makes ECS roll the service's deployment back itself, as when a deployment alarm fires. */
  failDeployment(serviceArn: string, reason: string): void;
}

type Json = Record<string, unknown>;
type Status =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'SUCCESSFUL'
  | 'STOPPED'
  | 'STOP_REQUESTED'
  | 'ROLLBACK_REQUESTED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_SUCCESSFUL'
  | 'ROLLBACK_FAILED';

interface Hook {
  targetType?: string;
  hookTargetArn?: string;
  lifecycleStages?: string[];
  timeoutConfiguration?: { timeoutInMinutes?: number; action?: string };
}

interface Config {
  strategy?: string;
  bakeTimeInMinutes?: number;
  canaryConfiguration?: { canaryPercent?: number; canaryBakeTimeInMinutes?: number };
  linearConfiguration?: { stepPercent?: number; stepBakeTimeInMinutes?: number };
  lifecycleHooks?: Hook[];
  [key: string]: unknown;
}

interface LoadBalancer {
  targetGroupArn?: string;
  advancedConfiguration?: {
    alternateTargetGroupArn?: string;
    productionListenerRule?: string;
    testListenerRule?: string;
    roleArn?: string;
  };
}

interface NativeService {
  arn: string;
  clusterArn: string;
  region: string;
  config: Config;
  loadBalancers: LoadBalancer[];
  desiredCount: number;
  taskDefinition: string;
  revisionArn: string;
  deployments: Deployment[];
}

interface HookRun {
  detail: {
    hookId: string;
    targetType: string;
    targetArn?: string;
    status: string;
    expiresAt?: number;
    timeoutAction?: string;
  };
  expiresAtMs: number;
}

interface Revision {
  arn: string;
  taskDefinition: string;
  /** Target group it is registered in (behind a load balancer). */
  tg?: string;
  running: number;
}

interface Deployment {
  arn: string;
  service: NativeService;
  config: Config;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  stoppedAt?: number;
  updatedAt: number;
  status: Status;
  statusReason?: string;
  stage?: string;
  stageAt: number;
  steps: number[];
  stepIndex: number;
  stepBakeMs: number;
  source?: Revision;
  target: Revision;
  weight: number;
  testWeight: number;
  hooks: HookRun[];
  waiting: HookRun[];
  rollback?: { reason: string; startedAt: number; serviceRevisionArn?: string };
  busy: boolean;
}

const NATIVE = ['BLUE_GREEN', 'CANARY', 'LINEAR'];
/** Stages a PAUSE hook may hold (the developer guide's list). */
const PAUSABLE = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'POST_SCALE_UP',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
];
const NEXT: Record<string, string> = {
  PRE_SCALE_UP: 'SCALE_UP',
  SCALE_UP: 'POST_SCALE_UP',
  POST_SCALE_UP: 'TEST_TRAFFIC_SHIFT',
  TEST_TRAFFIC_SHIFT: 'POST_TEST_TRAFFIC_SHIFT',
  POST_TEST_TRAFFIC_SHIFT: 'PRE_PRODUCTION_TRAFFIC_SHIFT',
  PRE_PRODUCTION_TRAFFIC_SHIFT: 'PRODUCTION_TRAFFIC_SHIFT',
  POST_PRODUCTION_TRAFFIC_SHIFT: 'BAKE_TIME',
  BAKE_TIME: 'CLEAN_UP',
};
const IN_FLIGHT: Status[] = ['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'];

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms) / 1000);
const id = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
const clean = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function steps(config: Config): { steps: number[]; bakeMs: (minuteMs: number) => number } {
  if (config.strategy === 'CANARY') {
    const p = config.canaryConfiguration?.canaryPercent ?? 5;
    return {
      steps: p >= 100 ? [100] : [p, 100],
      bakeMs: (m) => (config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10) * m,
    };
  }
  if (config.strategy === 'LINEAR') {
    const tenths = Math.round((config.linearConfiguration?.stepPercent ?? 10) * 10);
    const out: number[] = [];
    for (let w = tenths; w < 1000; w += tenths) out.push(w / 10);
    return { steps: [...out, 100], bakeMs: (m) => (config.linearConfiguration?.stepBakeTimeInMinutes ?? 6) * m };
  }
  return { steps: [100], bakeMs: () => 0 };
}

/** What ECS refuses in a native configuration, in its words where the reference has them. */
function configProblems(config: Config, loadBalancers: LoadBalancer[]): string | undefined {
  if (config.strategy === 'BLUE_GREEN' && config.bakeTimeInMinutes === undefined)
    return 'bakeTimeInMinutes must be provided with the BLUE_GREEN deployment strategy.';
  if (config.canaryConfiguration && config.strategy !== 'CANARY')
    return 'canaryConfiguration is only valid with the CANARY deployment strategy.';
  if (config.linearConfiguration && config.strategy !== 'LINEAR')
    return 'linearConfiguration is only valid with the LINEAR deployment strategy.';
  const p = config.canaryConfiguration?.canaryPercent;
  if (p !== undefined && (p < 0.1 || p > 100 || Math.abs(p * 10 - Math.round(p * 10)) > 1e-9))
    return 'canaryPercent must be a multiple of 0.1 from 0.1 to 100.0.';
  const s = config.linearConfiguration?.stepPercent;
  if (s !== undefined && (s < 3 || s > 100 || Math.abs(s * 10 - Math.round(s * 10)) > 1e-9))
    return 'stepPercent must be a multiple of 0.1 from 3.0 to 100.0.';
  for (const b of [
    config.canaryConfiguration?.canaryBakeTimeInMinutes,
    config.linearConfiguration?.stepBakeTimeInMinutes,
  ]) {
    if (b !== undefined && (b < 0 || b > 1440)) return 'Bake times must be from 0 to 1440 minutes.';
  }
  for (const hook of config.lifecycleHooks ?? []) {
    if ((hook.targetType ?? 'AWS_LAMBDA') === 'PAUSE') {
      const bad = (hook.lifecycleStages ?? []).filter((st) => !PAUSABLE.includes(st));
      if (bad.length) return `A PAUSE hook cannot be used at ${bad.join(', ')}.`;
      if (hook.hookTargetArn) return 'hookTargetArn is not applicable for PAUSE hooks.';
    } else if (!hook.hookTargetArn) {
      return 'hookTargetArn must be provided for an AWS_LAMBDA lifecycle hook.';
    }
    if (!hook.lifecycleStages?.length) return 'lifecycleStages must be provided for a lifecycle hook.';
  }
  for (const lb of loadBalancers) {
    const a = lb.advancedConfiguration;
    if (lb.targetGroupArn && (!a?.alternateTargetGroupArn || !a.productionListenerRule || !a.roleArn)) {
      return `The ${config.strategy} deployment strategy needs advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn) on each load balancer.`;
    }
  }
  return undefined;
}

export async function startEcsNativeServer(
  moto: string,
  options: EcsNativeServerOptions = {},
): Promise<EcsNativeServer> {
  const model = apiModel('ecs');
  const stageMs = options.stageMs ?? 150;
  const minuteMs = options.minuteMs ?? 1000;
  const hookMinuteMs = options.hookMinuteMs ?? 60_000;
  const problems: string[] = [];
  const services = new Map<string, NativeService>();
  const clients = new Map<string, { ecs: ECSClient; elbv2: ElasticLoadBalancingV2Client }>();
  const aws = (region: string) => {
    let c = clients.get(region);
    if (!c) {
      const config = {
        region,
        endpoint: moto,
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      };
      c = { ecs: new ECSClient(config), elbv2: new ElasticLoadBalancingV2Client(config) };
      clients.set(region, c);
    }
    return c;
  };

  const fail = (operation: string, code: string, message: string): JsonAnswer => {
    problems.push(...checkError(model, operation, code));
    return { status: 400, body: { __type: code, message } };
  };
  /** The model's verdict on a request; the refusal to send when it does not fit. */
  const refuse = (operation: string, body: unknown): JsonAnswer | undefined => {
    const found = checkRequest(model, operation, body);
    if (found.length === 0) return undefined;
    problems.push(...found);
    return fail(operation, 'InvalidParameterException', found.join('; '));
  };
  const answer = (operation: string, body: Json): JsonAnswer => {
    problems.push(...checkResponse(model, operation, body));
    return { status: 200, body };
  };

  const regionOf = (arn: string) => arn.split(':')[3] ?? 'us-east-1';
  const accountOf = (arn: string) => arn.split(':')[4] ?? '123456789012';
  const names = (serviceArn: string) => {
    const [cluster = '', service = ''] = (serviceArn.split(':service/')[1] ?? '').split('/');
    return { cluster, service };
  };
  const revisionArn = (svc: NativeService) => {
    const n = names(svc.arn);
    return `arn:aws:ecs:${svc.region}:${accountOf(svc.arn)}:service-revision/${n.cluster}/${n.service}/${Date.now()}${id(6)}`;
  };

  /** A service by name or ARN, in a cluster given by name or ARN (default `default`). */
  const findService = (cluster: unknown, service: unknown): NativeService | undefined => {
    const s = String(service ?? '');
    if (s.startsWith('arn:')) return services.get(s);
    const c = String(cluster ?? 'default')
      .split('/')
      .pop();
    return [...services.values()].find((v) => names(v.arn).service === s && names(v.arn).cluster === c);
  };
  const findDeployment = (arn: unknown): Deployment | undefined => {
    for (const svc of services.values()) {
      const d = svc.deployments.find((x) => x.arn === arn);
      if (d) return d;
    }
    return undefined;
  };

  // ---- ECS's traffic moves, made in moto ----

  const weightsFor = (pct: number): [number, number] =>
    Number.isInteger(pct) ? [pct, 100 - pct] : [Math.round(pct * 10), 1000 - Math.round(pct * 10)];

  async function setForward(
    region: string,
    routeArn: string,
    onTarget: string,
    onSource: string,
    pct: number,
  ): Promise<void> {
    const { elbv2 } = aws(region);
    const [w, rest] = weightsFor(pct);
    const rule = routeArn.includes(':listener-rule/');
    const actions: Action[] = rule
      ? ((await elbv2.send(new DescribeRulesCommand({ RuleArns: [routeArn] }))).Rules?.[0]?.Actions ?? [])
      : ((await elbv2.send(new DescribeListenersCommand({ ListenerArns: [routeArn] }))).Listeners?.[0]
          ?.DefaultActions ?? []);
    const next = actions.map((a) => {
      if (a.Type !== 'forward') return a;
      const { TargetGroupArn: _single, ...keep } = a;
      return {
        ...keep,
        ForwardConfig: {
          ...a.ForwardConfig,
          TargetGroups: [
            { TargetGroupArn: onSource, Weight: rest },
            { TargetGroupArn: onTarget, Weight: w },
          ],
        },
      };
    });
    if (rule) await elbv2.send(new ModifyRuleCommand({ RuleArn: routeArn, Actions: next }));
    else await elbv2.send(new ModifyListenerCommand({ ListenerArn: routeArn, DefaultActions: next }));
  }

  /** The target group with most production traffic now, of the service's pair. */
  async function liveTargetGroup(svc: NativeService): Promise<{ source: string; target: string } | undefined> {
    const lb = svc.loadBalancers.find((l) => l.targetGroupArn && l.advancedConfiguration?.productionListenerRule);
    if (!lb) return undefined;
    const pair = [lb.targetGroupArn as string, lb.advancedConfiguration?.alternateTargetGroupArn as string];
    const route = lb.advancedConfiguration?.productionListenerRule as string;
    const { elbv2 } = aws(svc.region);
    const actions = route.includes(':listener-rule/')
      ? ((await elbv2.send(new DescribeRulesCommand({ RuleArns: [route] }))).Rules?.[0]?.Actions ?? [])
      : ((await elbv2.send(new DescribeListenersCommand({ ListenerArns: [route] }))).Listeners?.[0]?.DefaultActions ??
        []);
    const tuples = actions.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
    const weight = (tg: string) => tuples.find((t) => t.TargetGroupArn === tg)?.Weight ?? 0;
    const source = weight(pair[1] as string) > weight(pair[0] as string) ? (pair[1] as string) : (pair[0] as string);
    return { source, target: pair.find((tg) => tg !== source) as string };
  }

  async function moveProduction(d: Deployment, pct: number): Promise<void> {
    const lb = d.service.loadBalancers.find((l) => l.advancedConfiguration?.productionListenerRule);
    if (lb && d.source?.tg && d.target.tg)
      await setForward(
        d.service.region,
        lb.advancedConfiguration?.productionListenerRule as string,
        d.target.tg,
        d.source.tg,
        pct,
      );
    d.weight = pct;
  }

  async function moveTest(d: Deployment, pct: number): Promise<void> {
    const lb = d.service.loadBalancers.find((l) => l.advancedConfiguration?.testListenerRule);
    if (lb && d.source?.tg && d.target.tg)
      await setForward(
        d.service.region,
        lb.advancedConfiguration?.testListenerRule as string,
        d.target.tg,
        d.source.tg,
        pct,
      );
    d.testWeight = pct;
  }

  // ---- deployments ----

  async function startDeployment(svc: NativeService, taskDefinition: string): Promise<Deployment> {
    const now = Date.now();
    for (const old of svc.deployments.filter((x) => IN_FLIGHT.includes(x.status))) {
      old.status = 'STOPPED';
      old.statusReason = 'Superseded by a newer service deployment.';
      old.stoppedAt = old.updatedAt = now;
    }
    const tgs = await liveTargetGroup(svc);
    const plan = steps(svc.config);
    const n = names(svc.arn);
    const d: Deployment = {
      arn: `arn:aws:ecs:${svc.region}:${accountOf(svc.arn)}:service-deployment/${n.cluster}/${n.service}/${id(22)}`,
      service: svc,
      config: structuredClone(svc.config),
      createdAt: now,
      updatedAt: now,
      status: 'PENDING',
      stageAt: now,
      steps: plan.steps,
      stepIndex: 0,
      stepBakeMs: plan.bakeMs(minuteMs),
      source: {
        arn: svc.revisionArn,
        taskDefinition: svc.taskDefinition,
        running: svc.desiredCount,
        ...(tgs ? { tg: tgs.source } : {}),
      },
      target: { arn: revisionArn(svc), taskDefinition, running: 0, ...(tgs ? { tg: tgs.target } : {}) },
      weight: 0,
      testWeight: 0,
      hooks: [],
      waiting: [],
      busy: false,
    };
    svc.deployments.push(d);
    return d;
  }

  function enter(d: Deployment, stage: string): void {
    const now = Date.now();
    d.stage = stage;
    d.stageAt = d.updatedAt = now;
    for (const hook of d.config.lifecycleHooks ?? []) {
      if (!hook.lifecycleStages?.includes(stage)) continue;
      const type = hook.targetType ?? 'AWS_LAMBDA';
      const minutes = hook.timeoutConfiguration?.timeoutInMinutes ?? 1440;
      const run: HookRun = {
        detail: clean({
          hookId: `ecs-${type === 'PAUSE' ? 'pause' : 'lambda'}-${id(43)}`,
          targetType: type,
          targetArn: hook.hookTargetArn,
          // A Lambda hook here answers SUCCEEDED at once; a PAUSE hook waits.
          status: type === 'PAUSE' ? 'AWAITING_ACTION' : 'SUCCEEDED',
          expiresAt: seconds(now + minutes * hookMinuteMs),
          timeoutAction: hook.timeoutConfiguration?.action ?? 'ROLLBACK',
        }) as HookRun['detail'],
        expiresAtMs: now + minutes * hookMinuteMs,
      };
      d.hooks.push(run);
      if (type === 'PAUSE') d.waiting.push(run);
    }
  }

  function requestRollback(d: Deployment, reason: string): void {
    const now = Date.now();
    for (const w of d.waiting) w.detail.status = w.detail.status === 'AWAITING_ACTION' ? 'FAILED' : w.detail.status;
    d.waiting = [];
    d.status = 'ROLLBACK_REQUESTED';
    d.statusReason = reason;
    d.rollback = { reason, startedAt: now, ...(d.source ? { serviceRevisionArn: d.source.arn } : {}) };
    d.updatedAt = now;
  }

  /** One move of a deployment, if it is due. */
  async function advance(d: Deployment): Promise<void> {
    const now = Date.now();
    const elapsed = now - d.stageAt;
    switch (d.status) {
      case 'PENDING':
        d.status = 'IN_PROGRESS';
        d.startedAt = now;
        enter(d, 'PRE_SCALE_UP');
        return;
      case 'ROLLBACK_REQUESTED':
        d.status = 'ROLLBACK_IN_PROGRESS';
        d.stageAt = d.updatedAt = now;
        await moveProduction(d, 0);
        if (d.testWeight > 0) await moveTest(d, 0);
        if (d.source) {
          await aws(d.service.region).ecs.send(
            new UpdateServiceCommand({
              cluster: d.service.clusterArn,
              service: d.service.arn,
              taskDefinition: d.source.taskDefinition,
            }),
          );
          d.service.taskDefinition = d.source.taskDefinition;
        }
        return;
      case 'ROLLBACK_IN_PROGRESS':
        if (elapsed < stageMs) return;
        d.target.running = 0;
        d.status = 'ROLLBACK_SUCCESSFUL';
        d.finishedAt = d.updatedAt = now;
        return;
      case 'IN_PROGRESS':
        break;
      default:
        return;
    }
    if (d.waiting.length > 0) {
      const expired = d.waiting.find((w) => now >= w.expiresAtMs);
      if (!expired) return;
      expired.detail.status = 'TIMED_OUT';
      d.waiting = d.waiting.filter((w) => w !== expired);
      if (expired.detail.timeoutAction === 'CONTINUE') {
        d.stageAt = now;
        return;
      }
      requestRollback(d, `The lifecycle hook ${expired.detail.hookId} timed out.`);
      return;
    }
    const stage = d.stage as string;
    const last = d.stepIndex >= d.steps.length - 1;
    const duration =
      stage === 'PRODUCTION_TRAFFIC_SHIFT'
        ? stageMs + (last ? 0 : d.stepBakeMs)
        : stage === 'BAKE_TIME'
          ? (d.config.bakeTimeInMinutes ?? 0) * minuteMs
          : stageMs;
    if (elapsed < duration) return;
    switch (stage) {
      case 'SCALE_UP':
        d.target.running = d.service.desiredCount;
        break;
      case 'TEST_TRAFFIC_SHIFT':
        break;
      case 'PRODUCTION_TRAFFIC_SHIFT':
        if (!last) {
          d.stepIndex++;
          enter(d, 'PRE_PRODUCTION_TRAFFIC_SHIFT');
        } else {
          enter(d, 'POST_PRODUCTION_TRAFFIC_SHIFT');
        }
        return;
      case 'CLEAN_UP':
        if (d.source) d.source.running = 0;
        d.status = 'SUCCESSFUL';
        d.finishedAt = d.updatedAt = now;
        d.service.revisionArn = d.target.arn;
        return;
    }
    const next = NEXT[stage] as string;
    enter(d, next);
    // Work a stage does as it starts: traffic moves.
    if (next === 'TEST_TRAFFIC_SHIFT') await moveTest(d, 100);
    if (next === 'PRODUCTION_TRAFFIC_SHIFT') await moveProduction(d, d.steps[d.stepIndex] as number);
  }

  const timer = setInterval(() => {
    for (const svc of services.values()) {
      for (const d of svc.deployments) {
        if (d.busy || !IN_FLIGHT.includes(d.status)) continue;
        d.busy = true;
        advance(d)
          .catch((err: unknown) => problems.push(`the stand-in could not move ${d.arn}: ${String(err)}`))
          .finally(() => {
            d.busy = false;
          });
      }
    }
  }, options.tickMs ?? 40);
  timer.unref();

  // ---- the API ----

  const revisionSummary = (r: Revision, requested: number, weight: number, test: number) => ({
    arn: r.arn,
    requestedTaskCount: requested,
    runningTaskCount: r.running,
    pendingTaskCount: Math.max(0, requested - r.running),
    requestedTestTrafficWeight: test,
    requestedProductionTrafficWeight: weight,
  });

  function describe(d: Deployment): Json {
    const n = d.target;
    return clean({
      serviceDeploymentArn: d.arn,
      serviceArn: d.service.arn,
      clusterArn: d.service.clusterArn,
      createdAt: seconds(d.createdAt),
      startedAt: seconds(d.startedAt),
      finishedAt: seconds(d.finishedAt),
      stoppedAt: seconds(d.stoppedAt),
      updatedAt: seconds(d.updatedAt),
      sourceServiceRevisions: d.source
        ? [revisionSummary(d.source, d.source.running, 100 - d.weight, 100 - d.testWeight)]
        : [],
      targetServiceRevision: revisionSummary(
        n,
        d.status.startsWith('ROLLBACK') ? 0 : d.service.desiredCount,
        d.weight,
        d.testWeight,
      ),
      status: d.status,
      statusReason: d.statusReason,
      // The model's ServiceDeploymentLifecycleStage has no PRE_PRODUCTION_TRAFFIC_SHIFT (hooks may run
      // there, but a deployment reports it as part of PRODUCTION_TRAFFIC_SHIFT).
      lifecycleStage: d.stage === 'PRE_PRODUCTION_TRAFFIC_SHIFT' ? 'PRODUCTION_TRAFFIC_SHIFT' : d.stage,
      lifecycleHookDetails: d.hooks.map((h) => h.detail),
      deploymentConfiguration: d.config,
      rollback: d.rollback
        ? clean({
            reason: d.rollback.reason,
            startedAt: seconds(d.rollback.startedAt),
            serviceRevisionArn: d.rollback.serviceRevisionArn,
          })
        : undefined,
      deploymentCircuitBreaker: { status: 'DISABLED' },
      alarms: { status: 'DISABLED' },
    });
  }

  function brief(d: Deployment): Json {
    return clean({
      serviceDeploymentArn: d.arn,
      serviceArn: d.service.arn,
      clusterArn: d.service.clusterArn,
      startedAt: seconds(d.startedAt),
      createdAt: seconds(d.createdAt),
      finishedAt: seconds(d.finishedAt),
      targetServiceRevisionArn: d.target.arn,
      status: d.status,
      statusReason: d.statusReason,
    });
  }

  /** Adds what moto leaves out to a service it describes. */
  function patchService(service: Json | undefined): void {
    const svc = service?.serviceArn ? services.get(String(service.serviceArn)) : undefined;
    if (!service || !svc) return;
    service.deploymentConfiguration = svc.config;
    const current = svc.deployments[svc.deployments.length - 1];
    if (current) service.currentServiceDeployment = current.arn;
    problems.push(...checkShape(model, 'DeploymentConfiguration', svc.config, 'service.deploymentConfiguration'));
  }

  function track(service: Json, config: Config): NativeService {
    const arn = String(service.serviceArn);
    const svc: NativeService = {
      arn,
      clusterArn: String(service.clusterArn),
      region: regionOf(arn),
      config,
      loadBalancers: (service.loadBalancers as LoadBalancer[] | undefined) ?? [],
      desiredCount: Number(service.desiredCount ?? 1),
      taskDefinition: String(service.taskDefinition ?? ''),
      revisionArn: '',
      deployments: [],
    };
    svc.revisionArn = revisionArn(svc);
    const now = Date.now();
    // The deployment CreateService makes: done by the time anyone looks.
    svc.deployments.push({
      arn: `arn:aws:ecs:${svc.region}:${accountOf(arn)}:service-deployment/${names(arn).cluster}/${names(arn).service}/${id(22)}`,
      service: svc,
      config: structuredClone(config),
      createdAt: now,
      startedAt: now,
      finishedAt: now,
      updatedAt: now,
      status: 'SUCCESSFUL',
      stageAt: now,
      steps: [100],
      stepIndex: 0,
      stepBakeMs: 0,
      target: { arn: svc.revisionArn, taskDefinition: svc.taskDefinition, running: svc.desiredCount },
      weight: 100,
      testWeight: 0,
      hooks: [],
      waiting: [],
      busy: false,
    });
    services.set(arn, svc);
    return svc;
  }

  const handlers: Record<
    string,
    (body: Json, forward: (b?: unknown) => Promise<JsonAnswer>) => Promise<JsonAnswer | undefined>
  > = {
    async CreateService(body, forward) {
      const config = body.deploymentConfiguration as Config | undefined;
      if (!config?.strategy || !NATIVE.includes(config.strategy)) return undefined;
      const refusal = refuse('CreateService', body);
      if (refusal) return refusal;
      const wrong = configProblems(config, (body.loadBalancers as LoadBalancer[] | undefined) ?? []);
      if (wrong) return fail('CreateService', 'InvalidParameterException', wrong);
      const res = await forward();
      if (res.status !== 200) return res;
      const service = (res.body as Json).service as Json;
      track(service, config);
      patchService(service);
      return res;
    },

    async UpdateService(body, forward) {
      let svc = findService(body.cluster, body.service);
      const config = body.deploymentConfiguration as Config | undefined;
      const becomesNative = config?.strategy !== undefined && NATIVE.includes(config.strategy);
      if (!svc && !becomesNative) return undefined;
      const refusal = refuse('UpdateService', body);
      if (refusal) return refusal;
      if (config && becomesNative) {
        const wrong = configProblems(
          config,
          (body.loadBalancers as LoadBalancer[] | undefined) ?? svc?.loadBalancers ?? [],
        );
        if (wrong) return fail('UpdateService', 'InvalidParameterException', wrong);
      }
      const res = await forward();
      if (res.status !== 200) return res;
      const service = (res.body as Json).service as Json;
      if (config?.strategy && !becomesNative && svc) {
        // Back to ROLLING: moto's answer is the truth again.
        services.delete(svc.arn);
        return res;
      }
      if (!svc) svc = track(service, config as Config);
      else if (config) svc.config = config.strategy ? config : { ...svc.config, ...config };
      if (body.loadBalancers) svc.loadBalancers = body.loadBalancers as LoadBalancer[];
      if (body.desiredCount !== undefined) svc.desiredCount = Number(body.desiredCount);
      const td = String(service.taskDefinition ?? svc.taskDefinition);
      if ((body.taskDefinition !== undefined && td !== svc.taskDefinition) || body.forceNewDeployment === true) {
        await startDeployment(svc, td);
        svc.taskDefinition = td;
      }
      patchService(service);
      return res;
    },

    async DescribeServices(_body, forward) {
      if (services.size === 0) return undefined;
      const res = await forward();
      if (res.status !== 200) return res;
      for (const service of ((res.body as Json).services as Json[] | undefined) ?? []) patchService(service);
      return res;
    },

    async ListServiceDeployments(body) {
      const refusal = refuse('ListServiceDeployments', body);
      if (refusal) return refusal;
      const svc = findService(body.cluster, body.service);
      if (!svc)
        return fail('ListServiceDeployments', 'ServiceNotFoundException', `Service not found: ${String(body.service)}`);
      const statuses = body.status as Status[] | undefined;
      const created = body.createdAt as { before?: number; after?: number } | undefined;
      const all = [...svc.deployments]
        .reverse()
        .filter((d) => !statuses?.length || statuses.includes(d.status))
        .filter(
          (d) =>
            (created?.before === undefined || d.createdAt / 1000 < created.before) &&
            (created?.after === undefined || d.createdAt / 1000 > created.after),
        );
      const max = Number(body.maxResults ?? 20);
      if (max < 1 || max > 100)
        return fail('ListServiceDeployments', 'InvalidParameterException', 'maxResults must be between 1 and 100.');
      const start = body.nextToken ? Number(body.nextToken) : 0;
      const page = all.slice(start, start + max);
      return answer(
        'ListServiceDeployments',
        clean({
          serviceDeployments: page.map(brief),
          nextToken: start + max < all.length ? String(start + max) : undefined,
        }),
      );
    },

    async DescribeServiceDeployments(body) {
      const refusal = refuse('DescribeServiceDeployments', body);
      if (refusal) return refusal;
      const arns = (body.serviceDeploymentArns as string[]) ?? [];
      if (arns.length > 20)
        return fail('DescribeServiceDeployments', 'InvalidParameterException', 'You can specify a maximum of 20 ARNs.');
      const found = arns.map((arn) => ({ arn, d: findDeployment(arn) }));
      return answer('DescribeServiceDeployments', {
        serviceDeployments: found.filter((f) => f.d).map((f) => describe(f.d as Deployment)),
        failures: found.filter((f) => !f.d).map((f) => ({ arn: f.arn, reason: 'MISSING' })),
      });
    },

    async ContinueServiceDeployment(body) {
      const refusal = refuse('ContinueServiceDeployment', body);
      if (refusal) return refusal;
      const d = findDeployment(body.serviceDeploymentArn);
      if (!d)
        return fail(
          'ContinueServiceDeployment',
          'ServiceDeploymentNotFoundException',
          `Service deployment not found: ${String(body.serviceDeploymentArn)}`,
        );
      if (d.status !== 'IN_PROGRESS')
        return fail(
          'ContinueServiceDeployment',
          'ClientException',
          `The service deployment is ${d.status}; only an IN_PROGRESS deployment can be continued.`,
        );
      const hook = d.waiting.find((w) => w.detail.hookId === body.hookId);
      if (!hook)
        return fail(
          'ContinueServiceDeployment',
          'InvalidParameterException',
          `No lifecycle hook ${String(body.hookId)} is AWAITING_ACTION in this service deployment.`,
        );
      d.waiting = d.waiting.filter((w) => w !== hook);
      if ((body.action ?? 'CONTINUE') === 'ROLLBACK') {
        hook.detail.status = 'FAILED';
        requestRollback(d, `Rolled back by ContinueServiceDeployment at ${d.stage}.`);
      } else {
        hook.detail.status = 'SUCCEEDED';
        d.stageAt = d.updatedAt = Date.now();
      }
      return answer('ContinueServiceDeployment', { serviceDeploymentArn: d.arn });
    },

    async StopServiceDeployment(body) {
      const refusal = refuse('StopServiceDeployment', body);
      if (refusal) return refusal;
      const d = findDeployment(body.serviceDeploymentArn);
      if (!d)
        return fail(
          'StopServiceDeployment',
          'ServiceDeploymentNotFoundException',
          `Service deployment not found: ${String(body.serviceDeploymentArn)}`,
        );
      if ((body.stopType ?? 'ROLLBACK') !== 'ROLLBACK')
        return fail('StopServiceDeployment', 'InvalidParameterException', 'The valid value of stopType is ROLLBACK.');
      if (d.status === 'PENDING' || d.status === 'IN_PROGRESS')
        requestRollback(d, 'Stopped by StopServiceDeployment (ROLLBACK).');
      else if (!IN_FLIGHT.includes(d.status))
        return fail(
          'StopServiceDeployment',
          'ConflictException',
          `The service deployment is ${d.status} and can no longer be stopped.`,
        );
      return answer('StopServiceDeployment', { serviceDeploymentArn: d.arn });
    },
  };

  const proxy = await startAwsProxy(moto, {
    handle: ({ operation, body, forward }) => handlers[operation]?.((body ?? {}) as Json, forward),
  });

  return {
    ...proxy,
    problems,
    serviceDeployments: (serviceArn) => (services.get(serviceArn)?.deployments ?? []).map(describe),
    failDeployment(serviceArn, reason) {
      const d = services.get(serviceArn)?.deployments.find((x) => x.status === 'IN_PROGRESS' || x.status === 'PENDING');
      if (!d) throw new Error(`no deployment of ${serviceArn} is in progress`);
      requestRollback(d, reason);
    },
    reset() {
      proxy.reset();
      problems.length = 0;
      services.clear();
    },
    close: async () => {
      clearInterval(timer);
      for (const c of clients.values()) {
        c.ecs.destroy();
        c.elbv2.destroy();
      }
      await proxy.close();
    },
  };
}
