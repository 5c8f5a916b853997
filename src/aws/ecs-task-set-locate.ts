/**
 * The live task sets of a recorded rollout, for a process that may have seen nothing of it
 * (post step, rollback action, resume): the new task sets by the record's task set id or
 * the rollout's external id, the stable one by the record or as the other primary, and,
 * when no preflight ran, the route and target groups worked out from them.
 */
import type { TaskSet } from '@aws-sdk/client-ecs';
import type { RolloutRecord } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { describeRef, describeService, describeTaskSets, taskSetId } from './ecs.js';
import { findRoute, readForward } from './elbv2.js';
import { targetGroupOf, type Layout, type TaskSetLayoutOptions } from './ecs-task-set-layout.js';

/** The live task sets of a recorded rollout. */
export interface Located {
  taskSets: TaskSet[];
  stable: TaskSet | undefined;
  canaries: TaskSet[];
}

/**
 * Where traffic goes for a recorded rollout, from the live task sets: the stable task set's
 * target group and the other one of the pair. `layout` is what preflight resolved, if it
 * ran; otherwise one is built from the task sets and returned.
 */
export async function locateTaskSets(
  o: TaskSetLayoutOptions,
  record: RolloutRecord,
  layout: Layout | undefined,
  signal?: AbortSignal,
): Promise<Located & { layout: Layout }> {
  const ref = { cluster: o.cluster, service: o.service };
  const taskSets = await describeTaskSets(o.ecs, ref, signal);
  const byId = (id: string) => (id ? taskSets.find((t) => taskSetId(t.id ?? '') === id) : undefined);
  const canaries = taskSets.filter(
    (t) => (record.canary && taskSetId(t.id ?? '') === record.canary) || (record.id && t.externalId === record.id),
  );
  const stable = byId(record.stable) ?? taskSets.find((t) => t.status === 'PRIMARY' && !canaries.includes(t));
  if (layout) return { taskSets, stable, canaries, layout };
  const tg = stable ? targetGroupOf(stable) : canaries.map(targetGroupOf).find(Boolean);
  let route = o.route;
  if (!route && tg) route = await findRoute(o.elbv2, tg, signal);
  if (!route)
    throw new UserError(
      `Cannot tell which listener or rule carries the traffic of ${describeRef(ref)}.`,
      'Give listener-arn or listener-rule-arn.',
    );
  const forward = await readForward(o.elbv2, route, signal);
  const pair = o.targetGroups?.length ? o.targetGroups : [...forward.weights.keys()];
  const blue = (stable && targetGroupOf(stable)) ?? (pair[0] as string);
  const service = await describeService(o.ecs, ref, signal);
  const built: Layout = {
    service,
    stable: stable ?? (canaries[0] as TaskSet),
    route,
    forward,
    blue,
    green: pair.find((t) => t !== blue) ?? '',
    containerName: '',
    containerPort: 0,
  };
  return { taskSets, stable, canaries, layout: built };
}
