/**
 * The router of a side-by-side rollout: the one its traffic mode names in the Kubernetes
 * registry (`route` → http-route, `selector` → service-selector, `replicas` →
 * replica-ratio). The mode is the recorded layout's once there is one, so a fresh process
 * that only has the record (post step, rollback action, reconciler) restores traffic with
 * the mechanism the rollout used, whatever it was given; before that, the one this run
 * chose at preflight.
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import type { KubeRouterContext } from './router-context.js';
import { KUBE_ROUTERS, ROUTER_OF_MODE } from './routers.js';
import type { TrafficLayout } from './rollout-state.js';

export class LayoutRouter implements TrafficRouter {
  readonly drivesTraffic = true;
  private readonly built = new Map<string, TrafficRouter>();

  constructor(
    private readonly context: KubeRouterContext,
    private readonly mode: () => TrafficLayout['mode'],
  ) {}

  /** The registry's router for the mode now. */
  get current(): TrafficRouter {
    const kind = ROUTER_OF_MODE[this.mode()];
    let router = this.built.get(kind);
    if (!router) {
      router = KUBE_ROUTERS.create(kind, this.context);
      this.built.set(kind, router);
    }
    return router;
  }

  get kind(): string {
    return this.current.kind;
  }

  setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    return this.current.setWeight(weight, signal);
  }

  /** Present only while the mode's router keeps weights to read (an HTTPRoute's); the others move pods or selectors. */
  get readWeight(): ((signal?: AbortSignal) => Promise<Traffic | undefined>) | undefined {
    const router = this.current;
    return router.readWeight ? (signal) => router.readWeight!(signal) : undefined;
  }

  restoreStable(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    return this.current.restoreStable(record, signal);
  }
}
