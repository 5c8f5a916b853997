/**
 * Orphaned task sets: task sets this toolkit created (they carry the
 * `platform-actions:deployment` tag) that are not PRIMARY and that no valid rollout record
 * names any more: the record was lost, garbled or removed while a rollout was under way.
 * Left alone they hold the target group the next rollout needs and every later deploy and
 * rollback stops on them.
 *
 * They are removed only once all traffic is confirmed on the primary task set's target
 * group: if the route sends anything elsewhere, all of it is put on the primary's target
 * group first, in one ModifyListener / ModifyRule call, and read back.
 */
import { DeleteTaskSetCommand, type ECSClient, type TaskSet } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { awsErrorCode } from './client.js';
import { DEPLOYMENT_TAG, describeRef, describeTaskSets, tagValue, taskDefinitionName, type ServiceRef } from './ecs.js';
import {
  describeRoute,
  describeWeights,
  findRoute,
  percentages,
  readForward,
  setForwardWeights,
  targetGroupName,
  type TrafficRoute,
} from './elbv2.js';

export interface OrphanOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** The route carrying the service's traffic, when known; found from the primary's target group otherwise. */
  route?: TrafficRoute;
  /** Task sets a valid record still names (never orphans). */
  keep?: string[];
  confirmTimeoutMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface OrphanCleanup {
  /** Task set ids deleted. */
  deleted: string[];
  /** True when traffic had to be put back on the primary first. */
  restored: boolean;
  /** The route's weights after the clean-up, for the log. */
  detail?: string;
}

const targetGroupOf = (ts: TaskSet) => ts.loadBalancers?.find((lb) => lb.targetGroupArn)?.targetGroupArn;

/** This toolkit's task sets that are not PRIMARY and not named in `keep`. */
export function orphanTaskSets(taskSets: TaskSet[], keep: string[] = []): TaskSet[] {
  return taskSets.filter(
    (t) =>
      t.status !== 'PRIMARY' &&
      tagValue(t.tags, DEPLOYMENT_TAG) !== undefined &&
      !keep.some((k) => (t.id ?? '').endsWith(k)),
  );
}

const orphansWithoutPrimary = (ref: ServiceRef, names: string): UserError =>
  new UserError(
    `ECS service ${describeRef(ref)} has task sets left from an unrecorded rollout (${names}) but no primary task set behind a target group to put the traffic on, so they are left alone.`,
    'Make the task set to keep primary (aws ecs update-service-primary-task-set) and give its target group 100% on the listener; then delete the others (aws ecs delete-task-set).',
  );

/** Finds orphans, puts all traffic on the primary's target group (one call, confirmed) and deletes them. */
export async function cleanUpOrphans(options: OrphanOptions): Promise<OrphanCleanup> {
  const { ecs, elbv2, signal } = options;
  const log = options.log ?? (() => undefined);
  const ref: ServiceRef = { cluster: options.cluster, service: options.service };
  const taskSets = await describeTaskSets(ecs, ref, signal);
  const orphans = orphanTaskSets(taskSets, options.keep);
  if (orphans.length === 0) return { deleted: [], restored: false };
  const primary = taskSets.find((t) => t.status === 'PRIMARY');
  const primaryTg = primary ? targetGroupOf(primary) : undefined;
  const names = orphans
    .map(
      (t) =>
        `${t.id} (${taskDefinitionName(t.taskDefinition ?? '?')}, ${t.status}, ${DEPLOYMENT_TAG} ${tagValue(t.tags, DEPLOYMENT_TAG)})`,
    )
    .join(', ');
  if (!primary || !primaryTg) {
    throw orphansWithoutPrimary(ref, names);
  }
  log(
    `Found task sets left from an unrecorded rollout: ${names}. Confirming all traffic is on the primary task set ${primary.id} (${targetGroupName(primaryTg)}) before removing them.`,
  );
  const route = options.route ?? (await findRoute(elbv2, primaryTg, signal));
  let restored = false;
  let detail: string | undefined;
  if (route) {
    const current = await readForward(elbv2, route, signal);
    if ((percentages(current.weights).get(primaryTg) ?? 0) !== 100) {
      log(
        `${describeRoute(route)} sends ${describeWeights(current.weights)}: putting all traffic on ${targetGroupName(primaryTg)} in one change.`,
      );
      // The same target groups, the primary's at 100: one call.
      const order = [...current.weights.keys()];
      if (!order.includes(primaryTg)) order.unshift(primaryTg);
      await setForwardWeights(
        elbv2,
        current,
        order.map((tg) => ({ targetGroupArn: tg, weight: tg === primaryTg ? 100 : 0 })),
        signal,
      );
      restored = true;
    }
    detail = await poll(
      async () => {
        const read = await readForward(elbv2, route, signal);
        const shown = `${describeRoute(route)}: ${describeWeights(read.weights)}`;
        return (percentages(read.weights).get(primaryTg) ?? 0) === 100
          ? { done: true, value: shown }
          : { done: false, status: shown };
      },
      {
        what: `${describeRoute(route)} to send all traffic to ${targetGroupName(primaryTg)}`,
        timeoutMs: options.confirmTimeoutMs ?? 60_000,
        initialDelayMs: 250,
        maxDelayMs: 2000,
        clock: options.clock ?? systemClock,
        ...(signal ? { signal } : {}),
      },
    );
    log(`Confirmed ${detail}.`);
  } else {
    log(
      `No listener or rule forwards to ${targetGroupName(primaryTg)}: the left-over task sets receive no traffic through it.`,
    );
  }
  const deleted: string[] = [];
  for (const t of orphans) {
    try {
      await ecs.send(
        new DeleteTaskSetCommand({
          cluster: options.cluster,
          service: options.service,
          taskSet: t.taskSetArn ?? (t.id as string),
          force: true,
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      if (awsErrorCode(err) !== 'TaskSetNotFoundException') throw err;
    }
    deleted.push(t.id as string);
    log(`Deleted left-over task set ${t.id} (${taskDefinitionName(t.taskDefinition ?? '?')}).`);
  }
  return { deleted, restored, ...(detail ? { detail } : {}) };
}
