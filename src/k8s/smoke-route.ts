/**
 * The test routing of gke-deploy's smoke checks behind an HTTPRoute: one rule, added to
 * the route for the time of the checks, that sends requests carrying
 * `x-platform-actions-smoke: <rollout id>` to the new side's Service (`<service>-canary`
 * or `<service>-preview`). Our traffic rules and their weights are not touched (the
 * weight functions skip this rule); it is added once the new side is healthy, read back
 * until every Gateway accepted it, and removed right after the checks, or by the
 * rollback's clean-up when a job died in between.
 */
import { SMOKE_HEADER } from '../analysis/smoke.js';
import { systemClock, type Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import type { KubeClient } from './client.js';
import { isSmokeRule, routeAcceptance } from './http-route.js';
import { HTTPROUTES, resource } from './resources.js';
import type { HTTPRoute, HTTPRouteRule } from './types.js';

function smokeRule(service: string, port: number | undefined, deploymentId: string): HTTPRouteRule {
  return {
    matches: [{ headers: [{ type: 'Exact', name: SMOKE_HEADER, value: deploymentId }] }],
    backendRefs: [{ kind: 'Service', name: service, ...(port !== undefined ? { port } : {}) }],
  };
}

function ruleOf(rule: HTTPRouteRule, deploymentId?: string): boolean {
  if (!isSmokeRule(rule)) return false;
  if (deploymentId === undefined) return true;
  return ((rule.matches ?? []) as Array<{ headers?: Array<{ name?: string; value?: string }> }>).some((m) =>
    (m.headers ?? []).some((h) => h.name?.toLowerCase() === SMOKE_HEADER && h.value === deploymentId),
  );
}

export interface SmokeRouteOptions {
  namespace: string;
  route: string;
  /** The new side's Service. */
  service: string;
  /** Its port, as the route's stable backendRef names it. */
  port: number | undefined;
  deploymentId: string;
  timeoutMs?: number;
  clock?: Clock;
  log: (line: string) => void;
}

/** Adds the smoke rule (once) and waits until the route's Gateways accepted it. */
export async function openSmokeRoute(kube: KubeClient, o: SmokeRouteOptions, signal?: AbortSignal): Promise<void> {
  const routes = resource<HTTPRoute>(kube, HTTPROUTES, o.namespace);
  const { changed } = await routes.update(
    o.route,
    (live) => {
      const rules = live.spec?.rules ?? [];
      if (rules.some((r) => ruleOf(r, o.deploymentId))) return undefined;
      if (rules.length >= 16) {
        throw new UserError(
          `HTTPRoute ${o.namespace}/${o.route} has ${rules.length} rules, the most the Gateway API allows; the smoke rule does not fit.`,
          'Give smoke-url a URL that reaches only the new side (e.g. an Ingress for the preview Service), or free a rule of the route.',
        );
      }
      live.spec = { ...live.spec, rules: [...rules, smokeRule(o.service, o.port, o.deploymentId)] };
      return live;
    },
    { ...(signal ? { signal } : {}) },
  );
  if (changed)
    o.log(
      `HTTPRoute ${o.route}: a smoke rule sends requests with ${SMOKE_HEADER}: ${o.deploymentId} to Service ${o.service} only; the weights of its other rules are unchanged.`,
    );
  await poll(
    async () => {
      const a = routeAcceptance(await routes.get(o.route, signal));
      if (a.problem)
        throw new UserError(
          `HTTPRoute ${o.namespace}/${o.route} with the smoke rule is not in effect: ${a.problem}.`,
          'Check the route with kubectl describe httproute; give smoke-url to test the new side another way.',
        );
      return a.accepted ? { done: true, value: undefined } : { done: false, status: a.status };
    },
    {
      what: `the Gateway to accept the smoke rule on HTTPRoute ${o.namespace}/${o.route}`,
      timeoutMs: o.timeoutMs ?? 120_000,
      initialDelayMs: 250,
      maxDelayMs: 2000,
      clock: o.clock ?? systemClock,
      ...(signal ? { signal } : {}),
    },
  );
}

/** Removes the smoke rules of this rollout (or, without an id, every smoke rule) from the route. True when one was there. */
export async function closeSmokeRoute(
  kube: KubeClient,
  namespace: string,
  route: string,
  deploymentId: string | undefined,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const routes = resource<HTTPRoute>(kube, HTTPROUTES, namespace);
  if (!(await routes.find(route, signal))) return false;
  const { changed } = await routes.update(
    route,
    (live) => {
      const rules = live.spec?.rules ?? [];
      if (!rules.some((r) => ruleOf(r, deploymentId))) return undefined;
      live.spec = { ...live.spec, rules: rules.filter((r) => !ruleOf(r, deploymentId)) };
      return live;
    },
    { ...(signal ? { signal } : {}) },
  );
  if (changed) log(`HTTPRoute ${route}: the smoke rule is removed.`);
  return changed;
}
