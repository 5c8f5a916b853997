/**
 * The ECS traffic routers by name, one line each (docs/architecture.md, "Add a router").
 * A router is built from what the workload knows of the live service: the ALB route and
 * its target groups, and which one holds the stable side.
 */
import { RouterRegistry } from '../delivery/router-registry.js';
import { ALB_FORWARD, AlbForwardRouter, type AlbForwardContext } from './alb-forward-router.js';

export type EcsRouterContext = AlbForwardContext;

export const ECS_ROUTERS = new RouterRegistry<EcsRouterContext>('ECS', {
  [ALB_FORWARD]: (context) => new AlbForwardRouter(context),
});
