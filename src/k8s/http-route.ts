/**
 * Traffic splitting with a Gateway API HTTPRoute: the weights of *our* backendRefs
 * (Services we name, in the route's namespace) in every rule that routes to one of them.
 * Other rules, and other refs in the same rules, are left exactly as they are. After a
 * change the route is read back until the weights are there and every Gateway that
 * holds the route reports it Accepted, with resolved refs, at the new generation: a
 * weight is only "set" once the Gateway has taken it.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import type { KubeClient } from './client.js';
import { clone, HTTPROUTES, resource } from './resources.js';
import type { HTTPBackendRef, HTTPRoute, HTTPRouteRule } from './types.js';
import { SMOKE_HEADER } from '../analysis/smoke.js';

/**
 * Whether a rule matches on the smoke header: gke-deploy's short-lived test rule
 * (smoke-route.ts). It is never a traffic rule: weights are read and set without it.
 */
export function isSmokeRule(rule: HTTPRouteRule): boolean {
  return ((rule.matches ?? []) as Array<{ headers?: Array<{ name?: string }> }>).some((m) =>
    (m.headers ?? []).some((h) => h.name?.toLowerCase() === SMOKE_HEADER),
  );
}

/** Our services' weights in one rule, and the weight of everything else in it. */
export interface RuleWeights {
  /** Index of the rule in spec.rules. */
  rule: number;
  weights: Record<string, number>;
  /** Sum of the weights of refs that are not ours. */
  others: number;
}

function isOurs(ref: HTTPBackendRef, services: string[], namespace: string | undefined): boolean {
  return (
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace === undefined || ref.namespace === namespace) &&
    services.includes(ref.name)
  );
}

/** The weights of our services in every rule that routes to one of them (weight defaults to 1). */
export function readWeights(route: HTTPRoute, services: string[]): RuleWeights[] {
  const ns = route.metadata?.namespace;
  const out: RuleWeights[] = [];
  (route.spec?.rules ?? []).forEach((rule, index) => {
    if (isSmokeRule(rule)) return;
    const refs = rule.backendRefs ?? [];
    if (!refs.some((r) => isOurs(r, services, ns))) return;
    const weights: Record<string, number> = {};
    let others = 0;
    for (const r of refs) {
      if (isOurs(r, services, ns)) weights[r.name] = (weights[r.name] ?? 0) + (r.weight ?? 1);
      else others += r.weight ?? 1;
    }
    out.push({ rule: index, weights, others });
  });
  return out;
}

/**
 * The route with our services' weights set in every rule that routes to any of them.
 * A service missing from such a rule is added beside ours (same port); `null` removes
 * its ref. Nothing else changes. Pure.
 */
export function withWeights(route: HTTPRoute, weights: Record<string, number | null>): HTTPRoute {
  const services = Object.keys(weights);
  const ns = route.metadata?.namespace;
  const next = clone(route);
  let touched = 0;
  for (const rule of next.spec?.rules ?? []) {
    if (isSmokeRule(rule)) continue;
    const refs = rule.backendRefs ?? [];
    const ours = refs.filter((r) => isOurs(r, services, ns));
    if (ours.length === 0) continue;
    touched++;
    const template = ours[0] as HTTPBackendRef;
    const kept: HTTPBackendRef[] = [];
    for (const r of refs) {
      if (!isOurs(r, services, ns)) kept.push(r);
      else if (weights[r.name] !== null) kept.push({ ...r, weight: weights[r.name] as number });
    }
    for (const [name, weight] of Object.entries(weights)) {
      if (weight !== null && !kept.some((r) => isOurs(r, [name], ns))) {
        kept.push({
          ...(template.group !== undefined ? { group: template.group } : {}),
          kind: 'Service',
          name,
          ...(template.port !== undefined ? { port: template.port } : {}),
          weight,
        });
      }
    }
    if (!kept.some((r) => isOurs(r, services, ns)))
      throw new Error(
        `withWeights would leave rule ${touched} of HTTPRoute ${route.metadata?.name} without any of ${services.join(', ')}`,
      );
    rule.backendRefs = kept;
  }
  if (touched === 0) {
    throw new UserError(
      `HTTPRoute ${ns}/${route.metadata?.name} has no rule with a backendRef to ${services.join(' or ')}.`,
      `Point a rule of the route at the Service ${services[0]} (backendRefs: [{ name: ${services[0]}, port: ... }]), or name the right route in http-route.`,
    );
  }
  return next;
}

/** True when every rule of ours carries exactly these weights (removed services absent). */
export function hasWeights(route: HTTPRoute, weights: Record<string, number | null>): boolean {
  const rules = readWeights(route, Object.keys(weights));
  return (
    rules.length > 0 &&
    rules.every((r) =>
      Object.entries(weights).every(([name, w]) => (w === null ? !(name in r.weights) : r.weights[name] === w)),
    )
  );
}

/** Whether the Gateways have taken the route's current generation; a reason when one refuses it. */
export function routeAcceptance(route: HTTPRoute): { accepted: boolean; problem?: string; status: string } {
  const generation = route.metadata?.generation ?? 0;
  const parents = route.status?.parents ?? [];
  if ((route.spec?.parentRefs ?? []).length === 0)
    return { accepted: false, problem: 'it has no parentRefs, so no Gateway serves it', status: 'no parentRefs' };
  if (parents.length === 0) return { accepted: false, status: 'no Gateway has reported on the route yet' };
  for (const p of parents) {
    const gw = `Gateway ${p.parentRef.namespace ? `${p.parentRef.namespace}/` : ''}${p.parentRef.name}`;
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const c = p.conditions?.find((x) => x.type === type);
      if (!c || (c.observedGeneration ?? 0) < generation)
        return { accepted: false, status: `${gw} has not reported ${type} for generation ${generation} yet` };
      if (c.status === 'False')
        return {
          accepted: false,
          problem: `${gw} reports ${type}=False (${c.reason}: ${c.message})`,
          status: `${type}=False`,
        };
      if (c.status !== 'True') return { accepted: false, status: `${gw}: ${type}=${c.status}` };
    }
  }
  return {
    accepted: true,
    status: `accepted by ${parents.length} Gateway${parents.length === 1 ? '' : 's'} at generation ${generation}`,
  };
}

export interface SetWeightsOptions {
  /** How long the Gateways may take to accept the change. Default 2 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
  dryRun?: boolean;
}

export interface SetWeightsResult {
  route: HTTPRoute;
  /** What was read back once the Gateways accepted it. */
  weights: RuleWeights[];
  changed: boolean;
  /** When the read-back confirmed the weights (ms since the epoch, from the clock). */
  confirmedAt: number;
}

/**
 * Sets our services' weights on the route (conflict-safe), then reads it back until the
 * weights are there and every Gateway accepted this generation. Fails when a Gateway
 * refuses the route, or when someone else changes our weights meanwhile.
 */
export async function setRouteWeights(
  kube: KubeClient,
  namespace: string,
  name: string,
  weights: Record<string, number | null>,
  options: SetWeightsOptions = {},
): Promise<SetWeightsResult> {
  const routes = resource(kube, HTTPROUTES, namespace);
  const clock = options.clock ?? systemClock;
  const { changed } = await routes.update(
    name,
    (live) => (hasWeights(live, weights) ? undefined : withWeights(live, weights)),
    { signal: options.signal, dryRun: options.dryRun },
  );
  const shown = Object.entries(weights)
    .map(([s, w]) => `${s}=${w ?? 'removed'}`)
    .join(', ');
  if (options.dryRun) {
    const route = await routes.get(name, options.signal);
    return {
      route,
      weights: readWeights(withWeights(route, weights), Object.keys(weights)),
      changed,
      confirmedAt: clock.now(),
    };
  }
  const route = await poll(
    async () => {
      const r = await routes.get(name, options.signal);
      if (!hasWeights(r, weights)) {
        throw new UserError(
          `HTTPRoute ${namespace}/${name} no longer carries the weights we set (${shown}): something else changed it.`,
          'Make sure no other controller or pipeline manages the weights of these backendRefs.',
        );
      }
      const a = routeAcceptance(r);
      if (a.problem)
        throw new UserError(
          `HTTPRoute ${namespace}/${name} with ${shown} is not in effect: ${a.problem}.`,
          'Check the route with kubectl describe httproute; a missing backend Service or a Gateway that does not allow the route are the usual causes.',
        );
      return a.accepted ? { done: true, value: r } : { done: false, status: a.status };
    },
    {
      what: `the Gateway to accept HTTPRoute ${namespace}/${name} with ${shown}`,
      timeoutMs: options.timeoutMs ?? 120_000,
      initialDelayMs: 500,
      maxDelayMs: 5000,
      clock,
      signal: options.signal,
    },
  );
  return { route, weights: readWeights(route, Object.keys(weights)), changed, confirmedAt: clock.now() };
}
