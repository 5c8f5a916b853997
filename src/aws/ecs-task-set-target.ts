/**
 * The task-set engine: an ECS service with the EXTERNAL deployment controller, its task
 * sets behind two ALB target groups, and the weighted forward of one listener or listener
 * rule. The stable (PRIMARY) task set's target group is "blue" for this rollout; the new
 * task set goes into the other one ("green"), so the two alternate from one deployment to
 * the next. Traffic moves in one ModifyListener / ModifyRule call per step and is read
 * back before the bake starts. The rollout record lives in a tag of the service.
 */
import {
  CreateTaskSetCommand,
  DeleteTaskSetCommand,
  UpdateServicePrimaryTaskSetCommand,
  type ECSClient,
  type Service,
  type TaskSet,
} from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SubjectLabels, Subjects } from '../analysis/types.js';
import type { AbortRequest, Observation, RolloutRecord, Sides, Target, Traffic } from '../delivery/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { awsErrorCode } from './client.js';
import {
  assertTaggable,
  DEPLOYMENT_TAG,
  describeRef,
  describeService,
  describeTaskSets,
  explainEcsError,
  recentEvents,
  registerTaskDefinition,
  serviceRecordStore,
  stoppedTaskReasons,
  tagValue,
  taskDefinitionName,
  taskSetId,
  type ServiceRef,
} from './ecs.js';
import {
  describeRoute,
  describeWeights,
  findRoute,
  loadBalancerArnOf,
  percentages,
  readForward,
  setForwardWeights,
  targetGroupName,
  targetHealth,
  type TrafficRoute,
  type WeightedForward,
} from './elbv2.js';
import { containerPorts, type TaskDefinitionInput } from './task-definition.js';
import { markRolledBack, recordPromotion } from './ecs-last-good.js';
import { cleanUpOrphans } from './ecs-orphans.js';
import { checkedRecord } from './ecs-record-check.js';
import { sweepSmokeRules } from './smoke-rule.js';

export const TASK_SET_ENGINE = 'ecs-task-set';

/** Labels the task-set engine gives the analysis for each side. */
export const TASK_SET_LABELS = ['targetGroup', 'loadBalancer', 'taskSet', 'service', 'cluster'] as const;

export interface TaskSetTargetOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** The listener or rule to shift; found from the stable task set's target group when absent. */
  route?: TrafficRoute;
  /** The two target groups (in any order); read from the route's forward action when absent. */
  targetGroups?: string[];
  /** What to roll out; absent when the target only finishes or undoes a recorded rollout (post step, rollback action). */
  taskDefinition?: TaskDefinitionInput;
  /** Longest wait for the new task set to become healthy. */
  waitTimeoutMs: number;
  /** Longest wait for a weight to read back as set. Default 60 s. */
  confirmTimeoutMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
}

/** What preflight learned about the live service. */
interface Layout {
  service: Service;
  stable: TaskSet;
  route: TrafficRoute;
  forward: WeightedForward;
  blue: string;
  green: string;
  containerName: string;
  containerPort: number;
}

function targetGroupOf(ts: TaskSet): string | undefined {
  return ts.loadBalancers?.find((lb) => lb.targetGroupArn)?.targetGroupArn;
}

export class EcsTaskSetTarget implements Target {
  readonly engine = TASK_SET_ENGINE;
  /** The record text this process wrote last: read back, it needs no check against the service. */
  private written: string | undefined;
  readonly description: string;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private layout: Layout | undefined;
  private serviceArn: string | undefined;
  private canary: TaskSet | undefined;
  private stale = false;
  /** The task definition registered for the new task set. */
  registeredTaskDefinitionArn: string | undefined;
  private startedAt = 0;

  constructor(private readonly options: TaskSetTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.description = `ECS service ${describeRef(options)} (task sets behind ALB weights)`;
  }

  private get ref(): ServiceRef {
    return { cluster: this.options.cluster, service: this.options.service };
  }

  /** The new task set's target group, once it is created (the smoke rule forwards there). */
  get newSideTargetGroup(): string | undefined {
    return this.canary ? this.layout?.green : undefined;
  }

  /** Blue, green, the route and the stable task set, as resolved (after preflight). */
  get resolved():
    | { route: TrafficRoute; blue: string; green: string; stableTaskSet: string; taskDefinitionArn: string | undefined }
    | undefined {
    const l = this.layout;
    return l
      ? {
          route: l.route,
          blue: l.blue,
          green: l.green,
          stableTaskSet: taskSetId(l.stable.id ?? ''),
          taskDefinitionArn: l.stable.taskDefinition,
        }
      : undefined;
  }

  /** Reads the service, its task sets and the route, and checks they fit together. */
  private async inspect(signal?: AbortSignal): Promise<Layout> {
    const service = await describeService(this.options.ecs, this.ref, signal);
    this.serviceArn = service.serviceArn;
    const controller = service.deploymentController?.type ?? 'ECS';
    if (controller !== 'EXTERNAL') {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} uses the ${controller} deployment controller; task sets need EXTERNAL.`,
        'Use strategy rolling (or auto) for this service, or create the service with deploymentController EXTERNAL to shift ALB weights between task sets.',
      );
    }
    assertTaggable(service);
    const taskSets = await describeTaskSets(this.options.ecs, this.ref, signal);
    const stable = taskSets.find((t) => t.status === 'PRIMARY');
    if (!stable) {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} has no PRIMARY task set to roll out beside (${taskSets.length} task set(s): ${taskSets.map((t) => `${t.id} ${t.status}`).join(', ') || 'none'}).`,
        'Create the first task set and make it primary (aws ecs create-task-set, then update-service-primary-task-set), e.g. in the Terraform that creates the service.',
      );
    }
    const stableLb = stable.loadBalancers?.find((lb) => lb.targetGroupArn);
    const blue = stableLb?.targetGroupArn;
    if (!stableLb || !blue || !stableLb.containerName || stableLb.containerPort === undefined) {
      throw new UserError(
        `The primary task set ${stable.id} of ${describeRef(this.ref)} is not behind a target group, so there is no traffic to shift.`,
        "Give the service's task sets a load balancer (target group, container name and port).",
      );
    }

    let route = this.options.route;
    if (!route) {
      route = await findRoute(this.options.elbv2, blue, signal);
      if (!route) {
        throw new UserError(
          `No listener or listener rule forwards to ${targetGroupName(blue)}, the target group of the primary task set.`,
          "Give listener-arn or listener-rule-arn: the listener or rule that sends the service's traffic.",
        );
      }
      if (!this.layout) this.log(`Shifting ${describeRoute(route)}, which forwards to ${targetGroupName(blue)}.`);
    } else {
      loadBalancerArnOf(route.arn);
    }
    const forward = await readForward(this.options.elbv2, route, signal);
    const forwarded = [...forward.weights.keys()];

    let pair = this.options.targetGroups;
    if (pair && pair.length > 0) {
      if (pair.length !== 2 || pair[0] === pair[1]) {
        throw new UserError(
          `target-groups must name two different target groups (blue,green), not ${pair.length === 2 ? 'the same one twice' : pair.length}.`,
        );
      }
      const foreign = forwarded.filter((tg) => !pair?.includes(tg));
      if (!pair.some((tg) => forwarded.includes(tg)) || foreign.length > 0) {
        throw new UserError(
          `${describeRoute(route)} forwards to ${forwarded.map(targetGroupName).join(', ')}, not to the target groups ${pair.map(targetGroupName).join(', ')}.`,
          'Give the listener or rule that forwards to exactly these target groups, or correct target-groups.',
        );
      }
    } else {
      if (forwarded.length !== 2) {
        throw new UserError(
          `${describeRoute(route)} forwards to ${forwarded.length === 1 ? 'one target group' : `${forwarded.length} target groups`} (${forwarded.map(targetGroupName).join(', ')}); task sets alternate between two.`,
          'Name both target groups in target-groups (blue,green); the listener then forwards to both with weights.',
        );
      }
      pair = forwarded;
    }
    if (!pair.includes(blue)) {
      throw new UserError(
        `The primary task set ${stable.id} is in target group ${targetGroupName(blue)}, which is not one of ${pair.map(targetGroupName).join(', ')}.`,
        "target-groups and the listener must include the target group the service's primary task set is registered in.",
      );
    }
    const green = pair.find((tg) => tg !== blue) as string;

    const td = this.options.taskDefinition;
    if (td) {
      const container = (td.containerDefinitions ?? []).find((c) => c.name === stableLb.containerName);
      if (!container) {
        throw new UserError(
          `The load balancer sends traffic to container '${stableLb.containerName}', which the new task definition does not have.`,
          `Keep a container named ${stableLb.containerName} in the task definition.`,
        );
      }
      if (!containerPorts(td, stableLb.containerName).includes(stableLb.containerPort)) {
        throw new UserError(
          `The load balancer sends traffic to port ${stableLb.containerPort} of container '${stableLb.containerName}', which the new task definition does not map.`,
          `Keep containerPort ${stableLb.containerPort} in the container's portMappings.`,
        );
      }
    }
    return {
      service,
      stable,
      route,
      forward,
      blue,
      green,
      containerName: stableLb.containerName,
      containerPort: stableLb.containerPort,
    };
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    if (this.layout) return;
    this.layout = await this.inspect(signal);
  }

  private async records() {
    if (!this.serviceArn) this.serviceArn = (await describeService(this.options.ecs, this.ref)).serviceArn;
    return serviceRecordStore(this.options.ecs, this.serviceArn as string);
  }

  async loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    // Checked against the live service before anything acts on it (ecs-record-check).
    const service = this.layout?.service ?? (await describeService(this.options.ecs, this.ref, signal));
    this.serviceArn = service.serviceArn;
    const record = await checkedRecord(this.options.ecs, this.ref, service, this.log, signal, this.written);
    // An unfinished rollout will be finished before this one: what preflight saw will change.
    if (record) this.stale = true;
    return record;
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    this.written = await (await this.records()).save(record, signal);
  }
  async loadAbort(signal?: AbortSignal): Promise<AbortRequest | undefined> {
    return (await this.records()).loadAbort(signal);
  }

  async requestAbort(request: AbortRequest, signal?: AbortSignal): Promise<void> {
    await (await this.records()).requestAbort(request, signal);
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    const td = this.options.taskDefinition;
    if (!td) throw new Error('EcsTaskSetTarget.create needs a task definition');
    this.startedAt = this.clock.now();
    // An earlier rollout may just have been recovered: then look at the live state again.
    const l = this.layout && !this.stale ? this.layout : await this.inspect(signal);
    this.layout = l;
    this.stale = false;
    const taskSets = await describeTaskSets(this.options.ecs, this.ref, signal);
    const mine = taskSets.find((t) => t.externalId === deploymentId);
    const squatter = taskSets.find((t) => t !== mine && t.status !== 'PRIMARY' && targetGroupOf(t) === l.green);
    if (squatter && tagValue(squatter.tags, DEPLOYMENT_TAG) !== undefined) {
      // Left by a rollout whose record is gone or garbled: traffic back on the primary, then removed.
      await cleanUpOrphans({
        ...this.ref,
        ecs: this.options.ecs,
        elbv2: this.options.elbv2,
        route: l.route,
        ...(mine?.id ? { keep: [taskSetId(mine.id)] } : {}),
        clock: this.clock,
        log: this.log,
        ...(signal ? { signal } : {}),
      });
      l.forward = await readForward(this.options.elbv2, l.route, signal);
    } else if (squatter) {
      throw new UserError(
        `Task set ${squatter.id} (${squatter.status}, external id ${squatter.externalId || 'none'}) already uses target group ${targetGroupName(l.green)}, where the new task set would go; it does not carry the ${DEPLOYMENT_TAG} tag, so it was not made by platform-actions and is left alone.`,
        `Check what created it; put all traffic on ${targetGroupName(l.blue)} and delete it (aws ecs delete-task-set --cluster ${this.options.cluster.split('/').pop()} --service ${this.options.service.split('/').pop()} --task-set ${squatter.id}), then deploy again.`,
      );
    }
    if ((percentages(l.forward.weights).get(l.green) ?? 0) > 0 && !mine) {
      this.log(
        `${targetGroupName(l.green)} has traffic but no task set serves it: putting all traffic on ${targetGroupName(l.blue)} before creating the new task set.`,
      );
      await this.setWeights(0, signal);
    }
    if (mine) {
      this.canary = mine;
      this.registeredTaskDefinitionArn = mine.taskDefinition;
      this.log(`Task set ${mine.id} of this deployment exists already; using it.`);
    } else {
      const tags = [
        ...(td.tags ?? []).filter((t) => t.key !== DEPLOYMENT_TAG),
        { key: DEPLOYMENT_TAG, value: deploymentId },
      ];
      const arn = await registerTaskDefinition(this.options.ecs, { ...td, tags }, signal);
      this.registeredTaskDefinitionArn = arn;
      this.log(`Registered task definition ${taskDefinitionName(arn)}.`);
      const s = l.stable;
      try {
        const res = await this.options.ecs.send(
          new CreateTaskSetCommand({
            cluster: this.options.cluster,
            service: this.options.service,
            taskDefinition: arn,
            externalId: deploymentId,
            clientToken: deploymentId.slice(0, 36),
            loadBalancers: [
              { targetGroupArn: l.green, containerName: l.containerName, containerPort: l.containerPort },
            ],
            ...(s.networkConfiguration ? { networkConfiguration: s.networkConfiguration } : {}),
            ...(s.capacityProviderStrategy?.length
              ? { capacityProviderStrategy: s.capacityProviderStrategy }
              : s.launchType
                ? { launchType: s.launchType }
                : {}),
            ...(s.platformVersion && s.launchType === 'FARGATE' ? { platformVersion: s.platformVersion } : {}),
            ...(s.serviceRegistries?.length ? { serviceRegistries: s.serviceRegistries } : {}),
            scale: { unit: 'PERCENT', value: 100 },
            tags: [{ key: DEPLOYMENT_TAG, value: deploymentId }],
          }),
          signal ? { abortSignal: signal } : {},
        );
        if (!res.taskSet?.id) throw new Error('ECS created the task set but returned no id');
        this.canary = res.taskSet;
      } catch (err) {
        throw explainEcsError(err, `Creating the new task set of ${describeRef(this.ref)}`);
      }
      this.log(
        `Created task set ${this.canary.id} (${taskDefinitionName(arn)}) in ${targetGroupName(l.green)}, with no traffic yet.`,
      );
    }
    return { stable: taskSetId(l.stable.id as string), canary: taskSetId(this.canary.id as string) };
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    const l = this.layout;
    const canary = this.canary;
    if (!l || !canary?.id) throw new Error('waitHealthy before create');
    const id = canary.id;
    await poll(
      async () => {
        const ts = (await describeTaskSets(this.options.ecs, this.ref, signal)).find((t) => t.id === id);
        if (!ts)
          throw new UserError(
            `The new task set ${id} disappeared while starting.`,
            "Something else deleted it; look at the service's events.",
          );
        const stopped = await stoppedTaskReasons(
          this.options.ecs,
          { cluster: this.options.cluster, startedBy: id },
          signal,
          3,
        );
        if (stopped.length >= 3) throw new UserError(`Tasks of the new task set keep stopping: ${stopped.join('; ')}`);
        const health = await targetHealth(this.options.elbv2, l.green, signal);
        const desired = ts.computedDesiredCount;
        const running = ts.runningCount;
        const tasksOk = desired === undefined || running === undefined || running >= desired;
        const targetsOk = health.problems.length === 0 && (desired === undefined || health.healthy >= desired);
        const status = `task set ${ts.stabilityStatus ?? 'unknown'}, ${running ?? '?'} of ${desired ?? '?'} tasks running, ${health.healthy} of ${health.total} targets healthy in ${targetGroupName(l.green)}${health.problems.length ? ` (${health.problems.slice(0, 3).join('; ')})` : ''}`;
        if (ts.stabilityStatus === 'STEADY_STATE' && tasksOk && targetsOk) return { done: true, value: undefined };
        return { done: false, status };
      },
      {
        what: `task set ${id} to run its tasks and pass the target group's health checks`,
        timeoutMs: this.options.waitTimeoutMs,
        initialDelayMs: 1000,
        maxDelayMs: 15_000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
        onWait: ({ status }) => this.log(`  waiting: ${status}`),
        timeoutHint: 'Raise wait-timeout if the tasks are only slow to start; otherwise see why below.',
      },
    );
  }

  /**
   * The listener's weights now, and whether the new task set could take traffic: it still
   * exists, runs a task and has a healthy target. Changes nothing.
   */
  async observe(signal?: AbortSignal): Promise<Observation> {
    const l = this.layout;
    if (!l) return {};
    const read = await readForward(this.options.elbv2, l.route, signal);
    const p = percentages(read.weights);
    const traffic: Traffic = {
      canary: p.get(l.green) ?? 0,
      stable: p.get(l.blue) ?? 0,
      detail: `${describeRoute(l.route)}: ${describeWeights(read.weights)}`,
    };
    const id = this.canary?.id;
    if (!id) return { traffic };
    const ts = (await describeTaskSets(this.options.ecs, this.ref, signal)).find((t) => t.id === id);
    if (!ts || ts.status === 'DRAINING')
      return {
        traffic,
        canaryReady: false,
        reason: `the new task set ${id} ${ts ? 'is draining' : 'no longer exists'} (someone else deleted it?)`,
      };
    if (ts.runningCount !== undefined && ts.runningCount < 1)
      return {
        traffic,
        canaryReady: false,
        reason: `the new task set ${id} runs no task (${ts.runningCount} running)`,
      };
    const health = await targetHealth(this.options.elbv2, l.green, signal);
    if (health.healthy < 1)
      return {
        traffic,
        canaryReady: false,
        reason: `no healthy target in ${targetGroupName(l.green)}${health.problems.length ? ` (${health.problems.slice(0, 3).join('; ')})` : ''}`,
      };
    return { traffic, canaryReady: true };
  }

  /** One ModifyListener / ModifyRule call: `canaryWeight`% to green, the rest to blue; then read back until confirmed. */
  private async setWeights(
    canaryWeight: number,
    signal?: AbortSignal,
    toward?: { stable: string; other: string },
  ): Promise<Traffic> {
    const l = this.layout as Layout;
    const stableTg = toward?.stable ?? l.blue;
    const otherTg = toward?.other ?? l.green;
    const current = await readForward(this.options.elbv2, l.route, signal);
    const now = percentages(current.weights);
    if (current.weights.size === 2 && now.get(otherTg) === canaryWeight && now.get(stableTg) === 100 - canaryWeight) {
      // Already there (an interrupted promotion or rollback being finished): no change to make.
      return {
        canary: canaryWeight,
        stable: 100 - canaryWeight,
        detail: `${describeRoute(l.route)}: ${describeWeights(current.weights)}`,
      };
    }
    // Keep the order the listener shows the target groups in, so the change reads as a weight change only.
    const order = [...current.weights.keys()].filter((tg) => tg === stableTg || tg === otherTg);
    for (const tg of [stableTg, otherTg]) if (!order.includes(tg)) order.push(tg);
    const wanted = new Map([
      [stableTg, 100 - canaryWeight],
      [otherTg, canaryWeight],
    ]);
    await setForwardWeights(
      this.options.elbv2,
      current,
      order.map((tg) => ({ targetGroupArn: tg, weight: wanted.get(tg) as number })),
      signal,
    );
    return poll(
      async () => {
        const read = await readForward(this.options.elbv2, l.route, signal);
        const p = percentages(read.weights);
        const onOther = p.get(otherTg) ?? 0;
        const onStable = p.get(stableTg) ?? 0;
        const detail = `${describeRoute(l.route)}: ${describeWeights(read.weights)}`;
        if (onOther === canaryWeight && onStable === 100 - canaryWeight) {
          return { done: true, value: { canary: onOther, stable: onStable, detail } };
        }
        return { done: false, status: detail };
      },
      {
        what: `${describeRoute(l.route)} to show ${canaryWeight}% on ${targetGroupName(otherTg)}`,
        timeoutMs: this.options.confirmTimeoutMs ?? 60_000,
        initialDelayMs: 250,
        maxDelayMs: 2000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
      },
    );
  }

  async shift(weight: number, signal?: AbortSignal): Promise<Traffic> {
    return this.setWeights(weight, signal);
  }

  private labels(tg: string, ts: string): SubjectLabels {
    const l = this.layout as Layout;
    return {
      targetGroup: tg,
      loadBalancer: loadBalancerArnOf(l.route.arn),
      taskSet: ts,
      service: this.options.service.split('/').pop() as string,
      cluster: this.options.cluster.split('/').pop() as string,
    };
  }

  subjects(): Subjects {
    const l = this.layout;
    if (!l) throw new Error('subjects before preflight');
    return { canary: this.labels(l.green, this.canary?.id ?? ''), baseline: this.labels(l.blue, l.stable.id ?? '') };
  }

  /**
   * Where traffic goes for a recorded rollout, from the live task sets: the stable task
   * set's target group and the other one of the pair.
   */
  private async sidesOf(record: RolloutRecord, signal?: AbortSignal) {
    const taskSets = await describeTaskSets(this.options.ecs, this.ref, signal);
    const byId = (id: string) => (id ? taskSets.find((t) => taskSetId(t.id ?? '') === id) : undefined);
    const canaries = taskSets.filter(
      (t) => (record.canary && taskSetId(t.id ?? '') === record.canary) || (record.id && t.externalId === record.id),
    );
    const stable = byId(record.stable) ?? taskSets.find((t) => t.status === 'PRIMARY' && !canaries.includes(t));
    if (!this.layout) {
      const tg = stable ? targetGroupOf(stable) : canaries.map(targetGroupOf).find(Boolean);
      let route = this.options.route;
      if (!route && tg) route = await findRoute(this.options.elbv2, tg, signal);
      if (!route)
        throw new UserError(
          `Cannot tell which listener or rule carries the traffic of ${describeRef(this.ref)}.`,
          'Give listener-arn or listener-rule-arn.',
        );
      const forward = await readForward(this.options.elbv2, route, signal);
      const pair = this.options.targetGroups?.length ? this.options.targetGroups : [...forward.weights.keys()];
      const blue = (stable && targetGroupOf(stable)) ?? (pair[0] as string);
      const service = await describeService(this.options.ecs, this.ref, signal);
      this.layout = {
        service,
        stable: stable ?? (canaries[0] as TaskSet),
        route,
        forward,
        blue,
        green: pair.find((tg) => tg !== blue) ?? '',
        containerName: '',
        containerPort: 0,
      };
    }
    return { taskSets, stable, canaries };
  }

  /**
   * Resume: the paused rollout's new task set, from the live task sets (by the record's
   * task set id, or the rollout's external id), checked to sit in the target group that is
   * not the stable one's. Changes nothing.
   */
  async adopt(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { canaries } = await this.sidesOf(record, signal);
    const canary = canaries.find((t) => taskSetId(t.id ?? '') === record.canary) ?? canaries[0];
    const l = this.layout as Layout;
    if (!canary?.id || canary.status === 'DRAINING') {
      throw new UserError(
        `The paused rollout ${record.id} names task set ${record.canary || '(none)'}, which ${canary ? 'is draining' : `${describeRef(this.ref)} no longer has`}. Nothing was changed.`,
        'Run the rollback action to return all traffic to the stable task set and clear the record, then deploy again.',
      );
    }
    if (canary.status === 'PRIMARY' || targetGroupOf(canary) !== l.green) {
      throw new UserError(
        `The paused rollout's task set ${canary.id} is ${canary.status === 'PRIMARY' ? 'already the primary task set' : `in ${targetGroupName(targetGroupOf(canary) ?? '?')}, not ${targetGroupName(l.green)}`}: the service no longer looks as the pause left it. Nothing was changed.`,
        "Look at the service's task sets and listener weights, then run the rollback action.",
      );
    }
    this.canary = canary;
    this.registeredTaskDefinitionArn = canary.taskDefinition;
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { taskSets, canaries } = await this.sidesOf(record, signal);
    const canary = canaries.find((t) => taskSetId(t.id ?? '') === record.canary) ?? canaries[0];
    if (!canary?.taskSetArn)
      throw new Error(`The new task set ${record.canary} no longer exists, so it cannot be promoted.`);
    const l = this.layout as Layout;
    const canaryTg = targetGroupOf(canary) as string;
    const otherTg = canaryTg === l.blue ? l.green : l.blue;
    await this.setWeights(100, signal, { stable: otherTg, other: canaryTg });
    if (canary.status !== 'PRIMARY') {
      await this.options.ecs.send(
        new UpdateServicePrimaryTaskSetCommand({
          cluster: this.options.cluster,
          service: this.options.service,
          primaryTaskSet: canary.taskSetArn,
        }),
        signal ? { abortSignal: signal } : {},
      );
      this.log(`Task set ${canary.id} is now the primary task set.`);
    }
    const before = taskSets.filter(
      (t) => t !== canary && (taskSetId(t.id ?? '') === record.stable || t.status === 'PRIMARY'),
    );
    for (const old of before) {
      await this.deleteTaskSet(old, signal);
    }
    if (canary.taskDefinition)
      await recordPromotion(
        this.options.ecs,
        l.service.serviceArn as string,
        canary.taskDefinition,
        before[0]?.taskDefinition,
        this.log,
        signal,
      );
  }

  private async deleteTaskSet(ts: TaskSet, signal?: AbortSignal): Promise<void> {
    try {
      await this.options.ecs.send(
        new DeleteTaskSetCommand({
          cluster: this.options.cluster,
          service: this.options.service,
          taskSet: ts.taskSetArn ?? (ts.id as string),
          force: true,
        }),
        signal ? { abortSignal: signal } : {},
      );
      this.log(`Deleted task set ${ts.id} (${taskDefinitionName(ts.taskDefinition ?? '')}).`);
    } catch (err) {
      if (awsErrorCode(err) === 'TaskSetNotFoundException') return;
      throw err;
    }
  }

  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const { stable, canaries } = await this.sidesOf(record, signal);
    if (!stable) {
      throw new UserError(
        `There is no stable task set of ${describeRef(this.ref)} to return traffic to (the record names ${record.stable || 'none'}).`,
        "Look at the service's task sets; make the one to keep primary and give it 100% on the listener.",
      );
    }
    const l = this.layout as Layout;
    const stableTg = targetGroupOf(stable) as string;
    const otherTg = stableTg === l.blue ? l.green : l.blue;
    // One call: every request goes to stable.
    await this.setWeights(0, signal, { stable: stableTg, other: otherTg });
    onRestored?.();
    // A smoke rule left by a job that died during its smoke checks (smoke-rule.ts).
    await sweepSmokeRules(
      this.options.elbv2,
      loadBalancerArnOf(l.route.arn),
      [l.blue, l.green].filter(Boolean),
      this.log,
      signal,
    );
    if (stable.status !== 'PRIMARY' && stable.taskSetArn) {
      await this.options.ecs.send(
        new UpdateServicePrimaryTaskSetCommand({
          cluster: this.options.cluster,
          service: this.options.service,
          primaryTaskSet: stable.taskSetArn,
        }),
        signal ? { abortSignal: signal } : {},
      );
    }
    for (const c of canaries) if (c !== stable) await this.deleteTaskSet(c, signal);
    for (const c of canaries)
      if (c !== stable && c.taskDefinition)
        await markRolledBack(this.options.ecs, l.service.serviceArn as string, c.taskDefinition, this.log, signal);
  }

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const l = this.layout;
    const id = this.canary?.id;
    const tryAdd = async (what: string, f: () => Promise<string[]>) => {
      try {
        out.push(...(await f()));
      } catch (err) {
        out.push(`could not read ${what}: ${errorMessage(err)}`);
      }
    };
    if (id)
      await tryAdd('stopped tasks', () =>
        stoppedTaskReasons(this.options.ecs, { cluster: this.options.cluster, startedBy: id }, signal),
      );
    if (l)
      await tryAdd('target health', async () =>
        (await targetHealth(this.options.elbv2, l.green, signal)).problems.map(
          (p) => `target ${p} in ${targetGroupName(l.green)}`,
        ),
      );
    await tryAdd('service events', async () =>
      recentEvents(await describeService(this.options.ecs, this.ref, signal), { since: this.startedAt, limit: 5 }),
    );
    return out;
  }
}
