/**
 * The Kubernetes traffic routers by name, one line each (docs/architecture.md, "Add a
 * router"), and which one a traffic layout's mode uses. A router is built from what the
 * workload knows of the live rollout (router-context.ts).
 */
import { RouterRegistry } from '../delivery/router-registry.js';
import { DEPLOYMENT_ROLLOUT, DeploymentRolloutRouter } from './deployment-rollout-router.js';
import { HTTP_ROUTE, HttpRouteRouter } from './httproute-router.js';
import { REPLICA_RATIO, ReplicaRatioRouter } from './replica-ratio-router.js';
import type { KubeRouterContext } from './router-context.js';
import type { TrafficLayout } from './rollout-state.js';
import { SERVICE_SELECTOR, ServiceSelectorRouter } from './service-selector-router.js';

export const KUBE_ROUTERS = new RouterRegistry<KubeRouterContext>('Kubernetes', {
  [HTTP_ROUTE]: (context) => new HttpRouteRouter(context),
  [SERVICE_SELECTOR]: (context) => new ServiceSelectorRouter(context),
  [REPLICA_RATIO]: (context) => new ReplicaRatioRouter(context),
  [DEPLOYMENT_ROLLOUT]: (context) => new DeploymentRolloutRouter(context),
});

/** The router of each traffic mode a side-by-side rollout records (rollout-state.ts). */
export const ROUTER_OF_MODE: Record<TrafficLayout['mode'], string> = {
  route: HTTP_ROUTE,
  selector: SERVICE_SELECTOR,
  replicas: REPLICA_RATIO,
};
