/**
 * The ECS traffic routers by name, one line each (docs/architecture.md, "Add a router").
 * A router is built from what the workload knows of the live service: for `alb-forward`
 * the ALB route, its target groups and which one holds the stable side; for `platform`
 * how the workload follows ECS moving traffic itself (rolling and native deployments).
 */
import { RouterRegistry } from '../delivery/router-registry.js';
import { ALB_FORWARD, AlbForwardRouter, type AlbForwardContext } from './alb-forward-router.js';
import { PLATFORM, PlatformRouter, type PlatformRouterContext } from './platform-router.js';

/** What a workload hands the router it is composed with: the part its router reads. */
export interface EcsRouterContext {
  alb?: AlbForwardContext;
  platform?: PlatformRouterContext;
}

/** The part of the context router `kind` needs; a workload that left it out is a programming error. */
function part<T>(value: T | undefined, kind: string): T {
  if (value === undefined) throw new Error(`the ${kind} router was built without its context`);
  return value;
}

export const ECS_ROUTERS = new RouterRegistry<EcsRouterContext>('ECS', {
  [ALB_FORWARD]: (context) => new AlbForwardRouter(part(context.alb, ALB_FORWARD)),
  [PLATFORM]: (context) => new PlatformRouter(part(context.platform, PLATFORM)),
});
