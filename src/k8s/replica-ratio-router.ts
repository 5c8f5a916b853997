/**
 * The `replica-ratio` traffic router (a canary without an HTTPRoute): stable and canary
 * pods share the stable Service, so traffic follows the ratio of ready pods. A weight is
 * the pod counts whose ratio is nearest (replica-split.ts): canary up first and waited
 * for, then stable down, so capacity never drops; the weight read back is the ratio of
 * available pods, approximate by nature. Traffic leaves the canary only with its pods, so
 * the restore is stable back to its replicas and the canary's pods gone.
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import { replicaSplit } from './replica-split.js';
import { DEPLOYMENTS, resource } from './resources.js';
import { layoutFor, shareOf, type KubeRouterContext } from './router-context.js';
import { unpinService } from './rollout-sides.js';

export const REPLICA_RATIO = 'replica-ratio';

export class ReplicaRatioRouter implements TrafficRouter {
  readonly kind = REPLICA_RATIO;
  readonly drivesTraffic = true;

  constructor(private readonly context: KubeRouterContext) {}

  async setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const layout = layoutFor(this.context);
    await this.context.beforeWeight?.(weight, layout, signal);
    const { kube, namespace, deployment, ops } = this.context;
    const sideName = this.context.sideName();
    // Canary up first (and ready), then stable down, so capacity never drops.
    const split = replicaSplit(layout.replicas, weight);
    await ops.scale(sideName, split.canary, signal);
    await ops.waitReplicas(sideName, signal);
    await ops.scale(deployment, split.stable, signal);
    await ops.waitReplicas(deployment, signal);
    if (await unpinService(kube, namespace, layout.service, signal))
      this.context.log(`Service ${layout.service} now selects the canary's pods beside the stable ones.`);
    const deployments = resource(kube, DEPLOYMENTS, namespace);
    const [canary, stable] = await Promise.all([
      deployments.get(sideName, signal),
      deployments.get(deployment, signal),
    ]);
    const c = canary.status?.availableReplicas ?? 0;
    const s = stable.status?.availableReplicas ?? 0;
    const share = shareOf(c, s);
    return {
      canary: share,
      stable: 100 - share,
      detail: `replica ratio behind Service ${layout.service}: ${c} canary pod${c === 1 ? '' : 's'}, ${s} stable; approximate without an http-route${share !== weight ? ` (${weight}% asked for)` : ''}`,
    };
  }

  /**
   * Stable back to its replicas (an HPA's count, if one scaled it higher), then the
   * canary's pods gone, and with them its traffic.
   */
  async restoreStable(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { kube, namespace, deployment, ops } = this.context;
    const layout = this.context.layout();
    if (layout) {
      const hpa = await ops.autoscaler(signal);
      const live = await resource(kube, DEPLOYMENTS, namespace).get(deployment, signal);
      const replicas = hpa ? Math.max(layout.replicas, live.spec?.replicas ?? 1) : layout.replicas;
      if (await ops.scale(deployment, replicas, signal)) this.context.stableScaledUp?.();
    }
    await this.context.removeSide?.(record, signal);
  }
}
