import type { RollbackOptions, RollbackOutcome } from '../../delivery/rollback.js';
import { UserError } from '../../util/errors.js';
import type { GkeRollbackTarget } from './settings.js';

/**
 * GKE: where the gke stream plugs in. Replace this body with a call into src/k8s (undo an
 * unfinished canary from its annotation record with the engine's recoverRollout, or roll the
 * Deployment back to `target.to` / the previous revision and wait), returning the same
 * RollbackOutcome; main.ts needs no change.
 */
export async function rollbackGke(target: GkeRollbackTarget, _options: RollbackOptions): Promise<RollbackOutcome> {
  throw new UserError(
    `Rolling back GKE Deployment ${target.namespace}/${target.deployment} is not available yet in this version of the rollback action.`,
    'Until it is, roll back with kubectl rollout undo deployment/NAME -n NAMESPACE (and put the HTTPRoute weights back on the stable Deployment); ECS services are supported (platform: ecs).',
  );
}
