import type { RollbackOptions, RollbackOutcome } from '../../delivery/rollback.js';
import { newDeploymentId, runAttemptId, runContext } from '../../github/context.js';
import type { EcsRollbackTarget } from './settings.js';

/** ECS: undo a recorded rollout, stop a native deployment with rollback, or redeploy the previous task definition. */
export async function rollbackEcs(target: EcsRollbackTarget, options: RollbackOptions): Promise<RollbackOutcome> {
  const { rollbackEcsService } = await import('../../aws/ecs-rollback.js');
  const run = runContext();
  return rollbackEcsService({
    ...options,
    region: target.region,
    cluster: target.cluster,
    service: target.service,
    to: target.to,
    allowAnyRevision: target.allowAnyRevision,
    deploymentId: newDeploymentId(run),
    runId: runAttemptId(run),
  });
}
