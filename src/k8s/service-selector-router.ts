/**
 * The `service-selector` traffic router (blue-green without an HTTPRoute): the stable
 * Service's selector, pinned to one side's `pod-template-hash`. The switch is one patch of
 * the selector to green's hash, read back; the restore is the same patch back to blue's
 * recorded hash. There are no weights between the two, so nothing is read for comparison.
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { DEPLOYMENTS, resource, SERVICES } from './resources.js';
import { layoutFor, type KubeRouterContext } from './router-context.js';
import { currentRevision, hashOf, pinService } from './rollout-sides.js';
import { TEMPLATE_HASH_LABEL } from './rollout-state.js';

export const SERVICE_SELECTOR = 'service-selector';

const switchedElsewhere = (service: string, selected: string | undefined, green: string): UserError =>
  new UserError(
    `Service ${service} selects ${TEMPLATE_HASH_LABEL}=${selected} after the switch, not green's ${green}: something else changed it.`,
  );

export class ServiceSelectorRouter implements TrafficRouter {
  readonly kind = SERVICE_SELECTOR;
  readonly drivesTraffic = true;

  constructor(private readonly context: KubeRouterContext) {}

  async setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const layout = layoutFor(this.context);
    await this.context.beforeWeight?.(weight, layout, signal);
    const { kube, namespace } = this.context;
    const sideName = this.context.sideName();
    const green = await currentRevision(
      kube,
      namespace,
      await resource(kube, DEPLOYMENTS, namespace).get(sideName, signal),
      signal,
    );
    if (!green) throw new Error(`Deployment ${namespace}/${sideName} has no current ReplicaSet`);
    await pinService(kube, namespace, layout.service, hashOf(green), signal);
    const svc = await resource(kube, SERVICES, namespace).get(layout.service, signal);
    const selected = svc.spec?.selector?.[TEMPLATE_HASH_LABEL];
    if (selected !== hashOf(green)) throw switchedElsewhere(layout.service, selected, hashOf(green));
    return {
      canary: 100,
      stable: 0,
      detail: `Service ${layout.service} selects ${TEMPLATE_HASH_LABEL}=${selected} (ReplicaSet ${green.replicaSet} of ${sideName})`,
    };
  }

  /** One patch: the selector back to blue's recorded hash. */
  async restoreStable(_record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const layout = this.context.layout();
    if (!layout?.pinned) return;
    await pinService(this.context.kube, this.context.namespace, layout.service, layout.pinned, signal);
    this.context.log(`Service ${layout.service} selects blue's pods again (${TEMPLATE_HASH_LABEL}=${layout.pinned}).`);
  }
}
