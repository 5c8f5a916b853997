/**
 * The `http-route` traffic router: the weights of our two backendRefs (the stable Service
 * and the new side's) in every rule of a Gateway API HTTPRoute that routes to them; other
 * backends and rules are left as they are. Each change is one write of the route, read
 * back until every Gateway accepted it (http-route.ts `setRouteWeights`).
 */
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import { readWeights, setRouteWeights, type RuleWeights } from './http-route.js';
import { HTTPROUTES, resource } from './resources.js';
import { layoutFor, shareOf, type KubeRouterContext } from './router-context.js';

export const HTTP_ROUTE = 'http-route';

/** "web 90, web-canary 10 (and 5 to other backends)" */
export function describeRuleWeights(rules: RuleWeights[]): string {
  const first = rules[0];
  if (!first) return 'no rule routes to our Services';
  const ours = Object.entries(first.weights)
    .map(([s, w]) => `${s} ${w}`)
    .join(', ');
  return `${ours}${first.others ? ` (and ${first.others} to other backends)` : ''}${rules.length > 1 ? ` in each of ${rules.length} rules` : ''}`;
}

/** Sets our backendRefs' weights on the route and reads them back until the Gateways took them. */
export async function setWeights(
  context: KubeRouterContext,
  weights: Record<string, number | null>,
  signal?: AbortSignal,
): Promise<RuleWeights[]> {
  const route = context.route();
  if (!route) throw new Error('setWeights without a route');
  const result = await setRouteWeights(context.kube, context.namespace, route, weights, {
    timeoutMs: context.confirmTimeoutMs ?? 120_000,
    clock: context.clock,
    ...(signal ? { signal } : {}),
  });
  return result.weights;
}

export class HttpRouteRouter implements TrafficRouter {
  readonly kind = HTTP_ROUTE;
  readonly drivesTraffic = true;

  constructor(private readonly context: KubeRouterContext) {}

  async setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const layout = layoutFor(this.context);
    await this.context.beforeWeight?.(weight, layout, signal);
    const sideService = layout.sideService as string;
    const rules = await setWeights(this.context, { [layout.service]: 100 - weight, [sideService]: weight }, signal);
    const w = rules[0]?.weights ?? {};
    const share = shareOf(w[sideService] ?? 0, w[layout.service] ?? 0);
    return {
      canary: share,
      stable: 100 - share,
      detail: `HTTPRoute ${layout.route}: ${describeRuleWeights(rules)}, accepted by its Gateways`,
    };
  }

  /** The route's weights now; undefined before the layout is known. */
  async readWeight(signal?: AbortSignal): Promise<Traffic | undefined> {
    const layout = this.context.layout();
    if (!layout?.route || !layout.sideService) return undefined;
    const route = await resource(this.context.kube, HTTPROUTES, this.context.namespace).get(layout.route, signal);
    const rules = readWeights(route, [layout.service, layout.sideService]);
    const w = rules[0]?.weights ?? {};
    const share = shareOf(w[layout.sideService] ?? 0, w[layout.service] ?? 0);
    return { canary: share, stable: 100 - share, detail: `HTTPRoute ${layout.route}: ${describeRuleWeights(rules)}` };
  }

  /** One write: the stable backendRef back to its weight from before, the new side's removed; confirmed. */
  async restoreStable(_record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const layout = this.context.layout();
    if (!layout) return;
    const rules = await setWeights(
      this.context,
      {
        [layout.service]: layout.stableWeight || 100,
        [layout.sideService ?? this.context.sideServiceOf(layout)]: null,
      },
      signal,
    );
    this.context.log(`HTTPRoute ${layout.route}: ${describeRuleWeights(rules)} (confirmed).`);
  }
}
