/**
 * The task-set workload: an ECS service with the EXTERNAL deployment controller and its
 * task sets. The new task set goes into the target group that does not hold the primary
 * one; traffic between the two is the `alb-forward` router's (alb-forward-router.ts), the
 * record the service tag's (ecs-record-store.ts). ecs-task-set-target.ts composes the three.
 */
import type { TaskSet } from '@aws-sdk/client-ecs';
import type { SubjectLabels, Subjects } from '../analysis/types.js';
import type { Observation, RolloutRecord, Sides } from '../delivery/types.js';
import type { Workload } from '../delivery/workload.js';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { AlbForwardRouter, AlbLayout, AlbToward } from './alb-forward-router.js';
import {
  DEPLOYMENT_TAG,
  describeRef,
  describeService,
  describeTaskSets,
  recentEvents,
  registerTaskDefinition,
  stoppedTaskReasons,
  tagValue,
  taskDefinitionName,
  taskSetId,
  type ServiceRef,
} from './ecs.js';
import {
  loadBalancerArnOf,
  percentages,
  readForward,
  targetGroupName,
  targetHealth,
  type TrafficRoute,
} from './elbv2.js';
import { markRolledBack, recordPromotion } from './ecs-last-good.js';
import { cleanUpOrphans } from './ecs-orphans.js';
import {
  createTaskSet,
  deleteTaskSet,
  makePrimary,
  taskSetReadiness,
  waitTaskSetHealthy,
} from './ecs-task-set-lifecycle.js';
import { locateTaskSets, type Located } from './ecs-task-set-locate.js';
import { inspectTaskSets, targetGroupOf, type Layout, type TaskSetLayoutOptions } from './ecs-task-set-layout.js';
import { sweepSmokeRules } from './smoke-rule.js';

export const TASK_SET_ENGINE = 'ecs-task-set';

/** Labels the task-set engine gives the analysis for each side. */
export const TASK_SET_LABELS = ['targetGroup', 'loadBalancer', 'taskSet', 'service', 'cluster'] as const;

export interface TaskSetTargetOptions extends TaskSetLayoutOptions {
  /** Longest wait for the new task set to become healthy. */
  waitTimeoutMs: number;
  /** Longest wait for a weight to read back as set. Default 60 s. */
  confirmTimeoutMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
}

export class EcsTaskSetWorkload implements Workload {
  readonly engine = TASK_SET_ENGINE;
  readonly description: string;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private layout: Layout | undefined;
  private serviceArn: string | undefined;
  private canary: TaskSet | undefined;
  private stale = false;
  private located: Located | undefined;
  private traffic: AlbForwardRouter | undefined;
  /** The task definition registered for the new task set. */
  registeredTaskDefinitionArn: string | undefined;
  private startedAt = 0;

  constructor(private readonly options: TaskSetTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.description = `ECS service ${describeRef(options)} (task sets behind ALB weights)`;
  }

  /** The router that moves this workload's traffic (set once, when the target is composed). */
  useRouter(router: AlbForwardRouter): void {
    this.traffic = router;
  }

  private get router(): AlbForwardRouter {
    if (!this.traffic) throw new Error('EcsTaskSetWorkload has no router');
    return this.traffic;
  }

  private get ref(): ServiceRef {
    return { cluster: this.options.cluster, service: this.options.service };
  }

  /** The route and target groups the router shifts, once known. */
  get albLayout(): AlbLayout | undefined {
    return this.layout;
  }

  /** For the rollback's restore: the located stable task set's target group and the other one. */
  restoreToward(record: RolloutRecord): AlbToward {
    const stable = this.located?.stable;
    if (!stable) {
      throw new UserError(
        `There is no stable task set of ${describeRef(this.ref)} to return traffic to (the record names ${record.stable || 'none'}).`,
        "Look at the service's task sets; make the one to keep primary and give it 100% on the listener.",
      );
    }
    const l = this.layout as Layout;
    const stableTg = targetGroupOf(stable) as string;
    return { stable: stableTg, other: stableTg === l.blue ? l.green : l.blue };
  }

  /** Where the record is checked against: the service preflight read, or a fresh read. */
  async serviceForRecord(signal?: AbortSignal) {
    const service = this.layout?.service ?? (await describeService(this.options.ecs, this.ref, signal));
    this.serviceArn = service.serviceArn;
    return service;
  }

  async serviceArnForRecord(signal?: AbortSignal): Promise<string> {
    if (!this.serviceArn) this.serviceArn = (await describeService(this.options.ecs, this.ref, signal)).serviceArn;
    return this.serviceArn as string;
  }

  /** A record was found: an unfinished rollout will be finished before this one, so what preflight saw will change. */
  markStale(): void {
    this.stale = true;
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

  private async inspect(signal?: AbortSignal): Promise<Layout> {
    const layout = await inspectTaskSets(this.options, this.log, !this.layout, signal);
    this.serviceArn = layout.service.serviceArn;
    return layout;
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    if (this.layout) return;
    this.layout = await this.inspect(signal);
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
      await this.router.setWeights(0, signal);
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
      this.canary = await createTaskSet(this.options, l, arn, deploymentId, signal);
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
    await waitTaskSetHealthy(this.options, canary.id, l.green, { clock: this.clock, log: this.log }, signal);
  }

  /**
   * Whether the new task set could take traffic: it still exists, runs a task and has a
   * healthy target. Changes nothing.
   */
  async readiness(signal?: AbortSignal): Promise<Omit<Observation, 'traffic'>> {
    const l = this.layout;
    if (!l) return {};
    const id = this.canary?.id;
    if (!id) return {};
    return taskSetReadiness(this.options, id, l.green, signal);
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

  /** The recorded rollout's live task sets; the layout from them too when no preflight ran. */
  private async sidesOf(record: RolloutRecord, signal?: AbortSignal): Promise<Located> {
    const { layout, ...located } = await locateTaskSets(this.options, record, this.layout, signal);
    this.layout = layout;
    return located;
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
    await this.router.setWeights(100, signal, { stable: otherTg, other: canaryTg });
    if (canary.status !== 'PRIMARY') {
      await makePrimary(this.options, canary.taskSetArn, signal);
      this.log(`Task set ${canary.id} is now the primary task set.`);
    }
    const before = taskSets.filter(
      (t) => t !== canary && (taskSetId(t.id ?? '') === record.stable || t.status === 'PRIMARY'),
    );
    for (const old of before) {
      await deleteTaskSet(this.options, old, this.log, signal);
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

  /** Rollback, before the router restores stable: the recorded rollout's live task sets. */
  async locate(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    this.located = await this.sidesOf(record, signal);
  }

  /** Rollback, once all traffic is confirmed on stable: stable made primary again, the new task sets deleted. */
  async removeNewSide(_record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { stable, canaries } = this.located as Located;
    if (!stable) return;
    const l = this.layout as Layout;
    // A smoke rule left by a job that died during its smoke checks (smoke-rule.ts).
    await sweepSmokeRules(
      this.options.elbv2,
      loadBalancerArnOf(l.route.arn),
      [l.blue, l.green].filter(Boolean),
      this.log,
      signal,
    );
    if (stable.status !== 'PRIMARY' && stable.taskSetArn) {
      await makePrimary(this.options, stable.taskSetArn, signal);
    }
    for (const c of canaries) if (c !== stable) await deleteTaskSet(this.options, c, this.log, signal);
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
