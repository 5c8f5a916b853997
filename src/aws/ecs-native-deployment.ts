/**
 * The native engine's view of an ECS service deployment: the service and its production
 * listener rule, the deployment a record names, following a deployment through its
 * lifecycle stages (continuing the PAUSE hooks in the way) and reading the weights ECS set.
 * EcsNativeUndo (ecs-native-undo.ts) and EcsNativeWorkload (ecs-native-workload.ts) build on it.
 */
import {
  UpdateServiceCommand,
  type ECSClient,
  type Service,
  type ServiceDeployment,
  type UpdateServiceCommandOutput,
} from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { RolloutPlan, RolloutRecord, Traffic } from '../delivery/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { describeRef, describeService, explainEcsError, type ServiceRef } from './ecs.js';
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
} from './ecs-service-deployments.js';
import { describeRoute, describeWeights, percentages, readForward, type TrafficRoute } from './elbv2.js';
import type { TaskDefinitionInput } from './task-definition.js';
import { MINUTE, TOLERANCE } from './ecs-native-plan.js';

export const NATIVE_ENGINE = 'ecs-native';

/** Labels the native engine gives the analysis for each side (target group ones only behind a load balancer). */
export const NATIVE_LABELS = ['targetGroup', 'loadBalancer', 'service', 'cluster'] as const;

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

export interface LoadBalancerLayout {
  route: TrafficRoute;
  loadBalancerArn: string;
  /** The service's target group and its alternate. */
  pair: [string, string];
}

/** What one look at the deployment found. */
export type Look<T> = { done: true; value: T } | { done: false; status: string } | { paused: string; stage: string };

/** State and helpers shared by the native engine's lifecycle and undo. */
export abstract class EcsNativeDeployments {
  readonly engine = NATIVE_ENGINE;
  readonly description: string;
  protected readonly clock: Clock;
  protected readonly log: (line: string) => void;
  protected service: Service | undefined;
  protected lb: LoadBalancerLayout | undefined;
  /** Target group taking production traffic before the rollout, and the one the new revision goes into. */
  protected sidesTg: { stable: string; canary: string } | undefined;
  protected deploymentArn: string | undefined;
  protected startedAt = 0;
  /** The task definition registered by create. */
  registeredTaskDefinitionArn: string | undefined;
  /** The live task definition found by preflight. */
  previousTaskDefinitionArn: string | undefined;

  constructor(protected readonly options: NativeTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.description = `ECS service ${describeRef(options)} (ECS native deployment)`;
  }

  protected get ref(): ServiceRef {
    return { cluster: this.options.cluster, service: this.options.service };
  }

  protected get strategyName(): string {
    return this.service?.deploymentConfiguration?.strategy ?? 'native';
  }

  /** Which target group is live (all production traffic) and which one the new revision goes into. */
  protected sidesFrom(p: Map<string, number>): { stable: string; canary: string } | undefined {
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

  async serviceArn(signal?: AbortSignal): Promise<string> {
    if (!this.service) this.service = await describeService(this.options.ecs, this.ref, signal);
    return this.service.serviceArn as string;
  }

  /** The service a loaded record is checked against: the one preflight read, or a fresh read. */
  async serviceForRecord(signal?: AbortSignal): Promise<Service> {
    await this.serviceArn(signal);
    return this.service as Service;
  }

  /** UpdateService to a task definition; returns the ARN of the service deployment it started. */
  protected async startDeployment(taskDefinition: string, signal?: AbortSignal): Promise<string> {
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

  /** The service deployment a record names (`family:rev@id`), or the one this target started. */
  protected async deploymentOf(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<string | undefined> {
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
  protected assertForward(d: ServiceDeployment): void {
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
  protected async traffic(d: ServiceDeployment, signal?: AbortSignal): Promise<Traffic> {
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
  protected async follow<T>(
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
  protected async resume(arn: string, hookId: string, stage: string, why: string, signal?: AbortSignal): Promise<void> {
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

  protected stepTimeoutMs(): number {
    const c = this.service?.deploymentConfiguration;
    const ecsBake =
      Math.max(
        c?.canaryConfiguration?.canaryBakeTimeInMinutes ?? 0,
        c?.linearConfiguration?.stepBakeTimeInMinutes ?? 0,
      ) * MINUTE;
    return this.options.waitTimeoutMs + ecsBake;
  }

  protected rollbackFailed(d: ServiceDeployment): UserError {
    return new UserError(
      `ECS could not roll deployment ${serviceDeploymentId(d.serviceDeploymentArn ?? '')} back (ROLLBACK_FAILED): ${(d.statusReason ?? d.rollback?.reason ?? 'no reason given').replace(/\.$/, '')}.`,
      'Look at the service events; then run the rollback action with to: the task definition ARN to return to.',
    );
  }
}
