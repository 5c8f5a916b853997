/**
 * The rolling engine's target (`gke-rolling`): the rolling workload (rolling-workload.ts),
 * the read-only `deployment-rollout` router (Kubernetes moves traffic with the pods it
 * replaces) and the record in the Deployment's annotations, none written while the
 * Deployment does not exist yet (annotation-record-store.ts), composed by
 * src/delivery/compose.ts.
 */
import { ComposedTarget } from '../delivery/compose.js';
import { DEPLOYMENT_ROLLOUT, type DeploymentRolloutRouter } from './deployment-rollout-router.js';
import { KUBE_ROUTERS } from './routers.js';
import { RollingWorkload, type RollingTargetOptions } from './rolling-workload.js';

export { ROLLING_ENGINE, type RollingTargetOptions } from './rolling-workload.js';

export class KubeRollingTarget extends ComposedTarget<RollingWorkload, DeploymentRolloutRouter> {
  constructor(options: RollingTargetOptions) {
    const workload = new RollingWorkload(options);
    const router = KUBE_ROUTERS.create<DeploymentRolloutRouter>(DEPLOYMENT_ROLLOUT, workload.routerContext());
    super({ workload, router, records: workload.records(true) });
  }

  /** The Deployment's revision before this rollout (0 when it did not exist). */
  get previousRevision(): number {
    return this.workload.previousRevision;
  }

  /** Its revision once the new template was taken in. */
  get newRevision(): number {
    return this.workload.newRevision;
  }
}
