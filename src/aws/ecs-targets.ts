/**
 * The ECS target that can finish or undo a recorded rollout, by the engine the record
 * names: what the post step and the rollback action use, from a fresh process that only
 * has the record (no task definition to roll out).
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Target } from '../delivery/types.js';
import type { ServiceRef } from './ecs.js';
import { EcsNativeTarget, NATIVE_ENGINE } from './ecs-native-target.js';
import { EcsRollingTarget, ROLLING_ENGINE } from './ecs-rolling-target.js';
import { EcsTaskSetTarget, TASK_SET_ENGINE } from './ecs-task-set-target.js';
import type { TrafficRoute } from './elbv2.js';

export const ECS_ENGINES = [TASK_SET_ENGINE, ROLLING_ENGINE, NATIVE_ENGINE] as const;

export interface RecoveryTargetOptions extends ServiceRef {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  cloudwatch?: CloudWatchClient;
  /** Task sets: the route and target groups the main step resolved, when known. */
  route?: TrafficRoute;
  targetGroups?: string[];
  waitTimeoutMs: number;
  log?: (line: string) => void;
}

/** The target for a record written by `engine`; an unknown engine is an error (a newer version wrote it). */
export function recoveryTarget(engine: string, options: RecoveryTargetOptions): Target {
  const { ecs, elbv2, cluster, service, waitTimeoutMs } = options;
  const common = { ecs, cluster, service, waitTimeoutMs, ...(options.log ? { log: options.log } : {}) };
  switch (engine) {
    case TASK_SET_ENGINE:
      return new EcsTaskSetTarget({
        ...common,
        elbv2,
        ...(options.route ? { route: options.route } : {}),
        ...(options.targetGroups?.length ? { targetGroups: options.targetGroups } : {}),
      });
    case NATIVE_ENGINE:
      return new EcsNativeTarget({ ...common, elbv2 });
    case ROLLING_ENGINE:
      return new EcsRollingTarget({
        ...common,
        elbv2,
        ...(options.cloudwatch ? { cloudwatch: options.cloudwatch } : {}),
      });
    default:
      throw new Error(
        `the rollout record names engine '${engine}', which this version does not know (known: ${ECS_ENGINES.join(', ')})`,
      );
  }
}
