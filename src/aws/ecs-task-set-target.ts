/**
 * The task-set engine: an ECS service with the EXTERNAL deployment controller, its task
 * sets behind two ALB target groups, and the weighted forward of one listener or listener
 * rule. The stable (PRIMARY) task set's target group is "blue" for this rollout; the new
 * task set goes into the other one ("green"), so the two alternate from one deployment to
 * the next. Traffic moves in one ModifyListener / ModifyRule call per step and is read
 * back before the bake starts. The rollout record lives in a tag of the service.
 *
 * Composed from the task-set workload (ecs-task-set-workload.ts), the `alb-forward` router
 * (alb-forward-router.ts, by name from routers.ts) and the service-tag record store
 * (ecs-record-store.ts).
 */
import { ComposedTarget } from '../delivery/compose.js';
import { ALB_FORWARD, type AlbForwardRouter } from './alb-forward-router.js';
import { EcsServiceRecords } from './ecs-record-store.js';
import type { TrafficRoute } from './elbv2.js';
import { EcsTaskSetWorkload, type TaskSetTargetOptions } from './ecs-task-set-workload.js';
import { systemClock } from '../util/clock.js';
import { ECS_ROUTERS } from './routers.js';

export { TASK_SET_ENGINE, TASK_SET_LABELS, type TaskSetTargetOptions } from './ecs-task-set-workload.js';

/** The router the task-set engine shifts with. */
export const TASK_SET_ROUTER = ALB_FORWARD;

export class EcsTaskSetTarget extends ComposedTarget<EcsTaskSetWorkload, AlbForwardRouter> {
  constructor(options: TaskSetTargetOptions) {
    const workload = new EcsTaskSetWorkload(options);
    const router = ECS_ROUTERS.create<AlbForwardRouter>(TASK_SET_ROUTER, {
      alb: {
        elbv2: options.elbv2,
        clock: options.clock ?? systemClock,
        layout: () => workload.albLayout,
        restoreToward: (record) => workload.restoreToward(record),
        ...(options.confirmTimeoutMs !== undefined ? { confirmTimeoutMs: options.confirmTimeoutMs } : {}),
      },
    });
    workload.useRouter(router);
    const records = new EcsServiceRecords({
      ecs: options.ecs,
      ref: { cluster: options.cluster, service: options.service },
      log: options.log ?? (() => undefined),
      service: (signal) => workload.serviceForRecord(signal),
      serviceArn: (signal) => workload.serviceArnForRecord(signal),
      onFound: () => workload.markStale(),
    });
    super({ workload, router, records });
  }

  /** The new task set's target group, once it is created (the smoke rule forwards there). */
  get newSideTargetGroup(): string | undefined {
    return this.workload.newSideTargetGroup;
  }

  /** Blue, green, the route and the stable task set, as resolved (after preflight). */
  get resolved():
    | { route: TrafficRoute; blue: string; green: string; stableTaskSet: string; taskDefinitionArn: string | undefined }
    | undefined {
    return this.workload.resolved;
  }

  /** The task definition registered for the new task set. */
  get registeredTaskDefinitionArn(): string | undefined {
    return this.workload.registeredTaskDefinitionArn;
  }
}
