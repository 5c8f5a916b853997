/**
 * The rolling workload: an ECS service with the ECS deployment controller and no native
 * strategy. `create` registers the task definition and calls UpdateService; the new
 * version is healthy when ECS finished the deployment (one deployment left, COMPLETED,
 * every task running) with no named alarm in ALARM; a FAILED rollout (the circuit
 * breaker) or an alarm fails it at once. ECS moves all traffic itself, so the `platform`
 * router only reads where it is (`reach`), and the rollback is this workload's own:
 * UpdateService to the previous task definition and waiting for that deployment. There is
 * no baseline to compare with. ecs-rolling-target.ts composes it.
 */
import { UpdateServiceCommand, type Deployment, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SubjectLabels, Subjects } from '../analysis/types.js';
import type { RolloutRecord, Sides, Traffic } from '../delivery/types.js';
import type { Workload } from '../delivery/workload.js';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { describeFiring, type AlarmWatch } from './alarms.js';
import {
  assertTaggable,
  DEPLOYMENT_TAG,
  describeRef,
  describeService,
  explainEcsError,
  recentEvents,
  registerTaskDefinition,
  stoppedTaskReasons,
  taskDefinitionArn,
  taskDefinitionName,
  type ServiceRef,
} from './ecs.js';
import { targetGroupName, targetHealth } from './elbv2.js';
import type { TaskDefinitionInput } from './task-definition.js';
import { markRolledBack, recordPromotion } from './ecs-last-good.js';

export const ROLLING_ENGINE = 'ecs-rolling';

/** Labels the rolling engine gives the analysis (target group ones only behind a load balancer). */
export const ROLLING_LABELS = ['service', 'cluster', 'targetGroup', 'loadBalancer'] as const;

export interface RollingTargetOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2?: ElasticLoadBalancingV2Client;
  /** CloudWatch alarms that fail the rollout while in ALARM (started by the caller). */
  alarms?: AlarmWatch;
  /** What to roll out; absent when only undoing a recorded rollout. */
  taskDefinition?: TaskDefinitionInput;
  waitTimeoutMs: number;
  clock?: Clock;
  log?: (line: string) => void;
}

/** "PRIMARY web:7 COMPLETED 2/2 running" for logs. */
function describeDeployments(deployments: Deployment[]): string {
  return deployments
    .map((d) =>
      `${d.status} ${taskDefinitionName(d.taskDefinition ?? '?')} ${d.rolloutState ?? ''} ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running${d.failedTasks ? `, ${d.failedTasks} failed` : ''}`.replace(
        /\s+/g,
        ' ',
      ),
    )
    .join('; ');
}

export class EcsRollingWorkload implements Workload {
  readonly engine = ROLLING_ENGINE;
  readonly description: string;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private service: Service | undefined;
  private labels: SubjectLabels = {};
  private startedAt = 0;
  /** The task definition registered by create. */
  registeredTaskDefinitionArn: string | undefined;
  /** The live task definition found by preflight. */
  previousTaskDefinitionArn: string | undefined;

  constructor(private readonly options: RollingTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.description = `ECS service ${describeRef(options)} (rolling update)`;
  }

  private get ref(): ServiceRef {
    return { cluster: this.options.cluster, service: this.options.service };
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    if (this.service) return;
    const service = await describeService(this.options.ecs, this.ref, signal);
    const controller = service.deploymentController?.type ?? 'ECS';
    if (controller !== 'ECS') {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} uses the ${controller} deployment controller; a rolling update needs the ECS controller.`,
        controller === 'EXTERNAL'
          ? 'Use strategy canary, linear or blue-green (task sets) for this service.'
          : 'ecs-deploy does not drive CodeDeploy deployments.',
      );
    }
    assertTaggable(service);
    this.previousTaskDefinitionArn = service.taskDefinition;
    const tg = service.loadBalancers?.find((lb) => lb.targetGroupArn)?.targetGroupArn;
    this.labels = {
      service: service.serviceName ?? this.options.service,
      cluster: this.options.cluster.split('/').pop() as string,
    };
    if (tg && this.options.elbv2) {
      const res = await this.options.elbv2.send(
        new DescribeTargetGroupsCommand({ TargetGroupArns: [tg] }),
        signal ? { abortSignal: signal } : {},
      );
      const lb = res.TargetGroups?.[0]?.LoadBalancerArns?.[0];
      this.labels.targetGroup = tg;
      if (lb) this.labels.loadBalancer = lb;
    }
    this.service = service;
  }

  /** Whether the service is behind a load balancer (the ALB metric shorthands then work). */
  get hasLoadBalancer(): boolean {
    return Boolean(this.labels.targetGroup && this.labels.loadBalancer);
  }

  /** The service a loaded record is checked against: the one preflight read, or a fresh read. */
  async serviceForRecord(signal?: AbortSignal): Promise<Service> {
    await this.serviceArn(signal);
    return this.service as Service;
  }

  async serviceArn(signal?: AbortSignal): Promise<string> {
    if (!this.service) this.service = await describeService(this.options.ecs, this.ref, signal);
    return this.service.serviceArn as string;
  }

  private async update(taskDefinition: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.options.ecs.send(
        new UpdateServiceCommand({ cluster: this.options.cluster, service: this.options.service, taskDefinition }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      throw explainEcsError(err, `Updating service ${describeRef(this.ref)}`);
    }
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    const td = this.options.taskDefinition;
    if (!td) throw new Error('EcsRollingTarget.create needs a task definition');
    this.startedAt = this.clock.now();
    // Read the live task definition again: an earlier rollout may just have been undone.
    const live = await describeService(this.options.ecs, this.ref, signal);
    this.previousTaskDefinitionArn = live.taskDefinition;
    const tags = [
      ...(td.tags ?? []).filter((t) => t.key !== DEPLOYMENT_TAG),
      { key: DEPLOYMENT_TAG, value: deploymentId },
    ];
    const arn = await registerTaskDefinition(this.options.ecs, { ...td, tags }, signal);
    this.registeredTaskDefinitionArn = arn;
    this.log(
      `Registered task definition ${taskDefinitionName(arn)}; updating ${describeRef(this.ref)} from ${taskDefinitionName(live.taskDefinition ?? '?')}.`,
    );
    await this.update(arn, signal);
    return { stable: taskDefinitionName(live.taskDefinition ?? ''), canary: taskDefinitionName(arn) };
  }

  /** Waits until ECS has finished deploying `arn`: one deployment, COMPLETED, all tasks running. */
  private async waitDeployed(
    arn: string,
    options: { alarms: boolean; what: string },
    signal?: AbortSignal,
  ): Promise<Service> {
    return poll(
      async () => {
        const service = await describeService(this.options.ecs, this.ref, signal);
        this.service = service;
        if (service.taskDefinition !== arn) {
          throw new UserError(
            `Service ${describeRef(this.ref)} now runs ${taskDefinitionName(service.taskDefinition ?? '?')}, not ${taskDefinitionName(arn)}: another deployment replaced this one.`,
            'Make sure one workflow deploys a service at a time (a concurrency group per service and environment).',
          );
        }
        const deployments = service.deployments ?? [];
        const primary = deployments.find((d) => d.status === 'PRIMARY');
        if (primary?.rolloutState === 'FAILED') {
          throw new UserError(
            `ECS stopped the deployment (rollout FAILED): ${primary.rolloutStateReason ?? 'no reason given'}.`,
          );
        }
        if (options.alarms && this.options.alarms) {
          const firing = await this.options.alarms.firing(signal);
          if (firing.length) throw new UserError(`The deployment set off an alarm: ${describeFiring(firing)}.`);
        }
        const settled =
          primary !== undefined &&
          deployments.length === 1 &&
          primary.rolloutState !== 'IN_PROGRESS' &&
          (primary.runningCount ?? 0) >= (primary.desiredCount ?? 0) &&
          (primary.pendingCount ?? 0) === 0;
        if (settled) return { done: true, value: service };
        return { done: false, status: describeDeployments(deployments) || 'no deployment reported' };
      },
      {
        what: options.what,
        timeoutMs: this.options.waitTimeoutMs,
        initialDelayMs: 1000,
        maxDelayMs: 15_000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
        onWait: ({ status }) => this.log(`  waiting: ${status}`),
        timeoutHint:
          'The deployment never settled: ECS may be replacing tasks that fail their health checks (see why below), or wait-timeout is too short.',
      },
    );
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    const arn = this.registeredTaskDefinitionArn;
    if (!arn) throw new Error('waitHealthy before create');
    await this.waitDeployed(arn, { alarms: true, what: `ECS to finish deploying ${taskDefinitionName(arn)}` }, signal);
  }

  /** The `platform` router's read: ECS replaced every task, so all traffic is on the new version. */
  async reach(weight: number, signal?: AbortSignal): Promise<Traffic> {
    if (weight !== 100) throw new Error(`a rolling update moves all traffic at once; step ${weight}% is not possible`);
    const service = await describeService(this.options.ecs, this.ref, signal);
    const primary = (service.deployments ?? []).find((d) => d.status === 'PRIMARY');
    return {
      canary: 100,
      stable: 0,
      detail: `${describeRef(this.ref)} runs ${taskDefinitionName(service.taskDefinition ?? '?')} (${primary?.runningCount ?? service.runningCount ?? 0}/${primary?.desiredCount ?? service.desiredCount ?? 0} tasks)`,
    };
  }

  subjects(): Subjects {
    return { canary: { ...this.labels } };
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    // UpdateService already replaced every task; nothing is left to remove but the record of what completed.
    if (record.canary)
      await recordPromotion(
        this.options.ecs,
        await this.serviceArn(signal),
        record.canary,
        record.stable || undefined,
        this.log,
        signal,
      );
  }

  /** ECS returns the traffic: UpdateService back to the previous task definition, waited for, then the new one marked. */
  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const previous = await this.previousOf(record, signal);
    const live = await describeService(this.options.ecs, this.ref, signal);
    if (live.taskDefinition !== previous) {
      this.log(`Updating ${describeRef(this.ref)} back to ${taskDefinitionName(previous)}.`);
      await this.update(previous, signal);
    }
    await this.waitDeployed(
      previous,
      { alarms: false, what: `ECS to finish the rollback to ${taskDefinitionName(previous)}` },
      signal,
    );
    onRestored?.();
    await this.removeNewSide(record, signal);
  }

  /** The task definition a rollback returns to: the record's stable side, else what preflight found. */
  private async previousOf(record: RolloutRecord, signal?: AbortSignal): Promise<string> {
    const arn = await this.serviceArn(signal);
    const previous = record.stable ? taskDefinitionArn(record.stable, arn) : this.previousTaskDefinitionArn;
    if (!previous) throw new Error('the record does not say which task definition ran before');
    return previous;
  }

  /** After the rollback: ECS replaced the new version's tasks already; it is marked rolled back. */
  async removeNewSide(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const previous = await this.previousOf(record, signal);
    if (record.canary && taskDefinitionName(record.canary) !== taskDefinitionName(previous))
      await markRolledBack(this.options.ecs, await this.serviceArn(signal), record.canary, this.log, signal);
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
    await tryAdd('the service', async () => {
      const service = await describeService(this.options.ecs, this.ref, signal);
      const primary = (service.deployments ?? []).find((d) => d.status === 'PRIMARY');
      return [
        ...(primary?.rolloutStateReason
          ? [`deployment ${primary.id} ${primary.rolloutState}: ${primary.rolloutStateReason}`]
          : []),
        ...recentEvents(service, { since: this.startedAt, limit: 5 }),
      ];
    });
    const arn = this.registeredTaskDefinitionArn;
    await tryAdd('stopped tasks', () =>
      stoppedTaskReasons(
        this.options.ecs,
        {
          cluster: this.options.cluster,
          serviceName: this.options.service.split('/').pop() as string,
          ...(arn ? { taskDefinitionArn: arn } : {}),
        },
        signal,
      ),
    );
    const tg = this.labels.targetGroup;
    if (tg && this.options.elbv2) {
      const elbv2 = this.options.elbv2;
      await tryAdd('target health', async () =>
        (await targetHealth(elbv2, tg, signal)).problems.map((p) => `target ${p} in ${targetGroupName(tg)}`),
      );
    }
    return out;
  }
}
