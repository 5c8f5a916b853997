/**
 * The `deployment-rollout` router, read-only: a Deployment's own RollingUpdate moves
 * traffic as its new pods become ready, so there is no weight to set. `setWeight(100)`
 * reports where the rollout stands once the workload has waited for it; the restore is the
 * workload's undo (the earlier ReplicaSet's template put back), waited for until
 * Kubernetes has moved every pod, and so all traffic, back.
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import { DEPLOYMENTS, resource } from './resources.js';
import type { KubeRouterContext } from './router-context.js';
import { revisionOf } from './rollout.js';

export const DEPLOYMENT_ROLLOUT = 'deployment-rollout';

export class DeploymentRolloutRouter implements TrafficRouter {
  readonly kind = DEPLOYMENT_ROLLOUT;
  readonly drivesTraffic = false;

  constructor(private readonly context: KubeRouterContext) {}

  async setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    if (weight !== 100) throw new Error(`a rolling update moves all traffic at once; step ${weight}% is not possible`);
    const { kube, namespace, deployment } = this.context;
    const d = await resource(kube, DEPLOYMENTS, namespace).get(deployment, signal);
    return {
      canary: 100,
      stable: 0,
      detail: `Deployment ${namespace}/${deployment} revision ${revisionOf(d)}: ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1} replicas updated and available`,
    };
  }

  async restoreStable(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    await this.context.undo?.(record, signal);
    await this.context.ops.waitRollout(this.context.deployment, signal);
  }
}
