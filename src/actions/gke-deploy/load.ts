/**
 * gke-deploy's synthetic load for quiet services (`load:` in the analysis spec), sent during
 * each bake to the new side and, equally, to stable:
 *
 * - by default to each side's own Service by its cluster DNS name: the new side's
 *   (`<service>-canary` / `<service>-preview`) and the stable Service, which is pinned to
 *   the stable pods while both run (only a runner inside the cluster reaches these);
 * - with `load.url` and an HTTPRoute: through the route, one header rule per side
 *   (`x-platform-actions-smoke: load-new-<id>` / `load-stable-<id>`) added before the bake's
 *   load and removed right after it (the rollback's clean-up removes one a dead job left).
 *
 * A rolling update, or a canary without http-route (its pods share the stable Service),
 * has no side that can be reached alone: refused before any change.
 */
import { info, warning } from '@actions/core';
import type { SpecAnalysis } from '../../analysis/analysis.js';
import { boundedLoad, loadHeaderValue, withLoad, type LoadSpec, type LoadTarget } from '../../analysis/load.js';
import { describeSynthetic, unansweredSides } from '../../analysis/report.js';
import { SMOKE_HEADER } from '../../analysis/smoke.js';
import type { Target } from '../../delivery/types.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import { KubeCanaryTarget } from '../../k8s/canary-target.js';
import type { KubeClient } from '../../k8s/client.js';
import { closeSmokeRoute, openSmokeRoute } from '../../k8s/smoke-route.js';
import { UserError } from '../../util/errors.js';

export interface WireLoadOptions {
  load: LoadSpec;
  kube: KubeClient;
  namespace: string;
  /** The stable Service (service, else the Deployment's name). */
  stableService: string;
  /** Whether the canary has an HTTPRoute (http-route). */
  httpRoute: boolean;
  deploymentId: () => string;
}

export function wireLoad(analysis: SpecAnalysis | undefined, target: Target, o: WireLoadOptions): void {
  const ok = target instanceof KubeBlueGreenTarget || (target instanceof KubeCanaryTarget && o.httpRoute);
  if (!ok) {
    const rolling = !(target instanceof KubeCanaryTarget);
    throw new UserError(
      `The analysis spec has load:, but ${rolling ? 'a rolling update has no new side that can be reached alone' : 'a canary without http-route shares the stable Service, so nothing reaches the canary or stable alone'}: synthetic load could not be sent to each side. Nothing was changed.`,
      rolling
        ? 'Use strategy canary (with http-route) or blue-green, or remove load: from the spec.'
        : 'Give http-route, use strategy blue-green, or remove load: from the spec.',
    );
  }
  const { canary, stable } = o.load.urls;
  if (!o.httpRoute && canary && canary === stable) {
    throw new UserError(
      `The analysis spec's load.url sends both sides' load to ${canary}, but without http-route no rule can tell the sides apart there. Nothing was changed.`,
      'Give load.url as { new: <reaches the new side alone>, stable: <reaches stable alone> }, give http-route, or leave load.url out (each side by its Service, from a runner inside the cluster).',
    );
  }
  if (!analysis) return;
  const sides = target;
  const inner = {
    intervalMs: analysis.intervalMs,
    failureLimit: analysis.failureLimit,
    errorLimit: analysis.errorLimit,
    run: analysis.run.bind(analysis),
    bake: analysis.bake.bind(analysis),
  };
  const urls: Record<string, string> = {};
  const loaded = withLoad(
    inner,
    boundedLoad(o.load),
    async (_subjects, signal) => {
      const backend = await sides.smokeBackend(signal);
      if (!backend) throw new Error("synthetic load needs the new side's Service, and there is none");
      const id = o.deploymentId();
      const values = { canary: loadHeaderValue('new', id), stable: loadHeaderValue('stable', id) };
      const dns = (service: string) =>
        `http://${service}.${o.namespace}.svc.cluster.local${backend.port && backend.port !== 80 ? `:${backend.port}` : ''}`;
      const services = { canary: backend.service, stable: o.stableService };
      const opened: string[] = [];
      const release = async () => {
        for (const value of opened)
          await closeSmokeRoute(o.kube, o.namespace, backend.route as string, value, info, AbortSignal.timeout(30_000));
      };
      const targets: LoadTarget[] = [];
      try {
        for (const side of ['canary', 'stable'] as const) {
          const url = o.load.urls[side];
          if (url && backend.route) {
            opened.push(values[side]);
            await openSmokeRoute(
              o.kube,
              {
                namespace: o.namespace,
                route: backend.route,
                service: services[side],
                port: backend.port,
                deploymentId: values[side],
                log: info,
              },
              signal,
            );
          }
          urls[side] = url ?? (side === 'canary' ? backend.serviceUrl : dns(services[side]));
          targets.push({ side, baseUrl: urls[side], headers: { [SMOKE_HEADER]: values[side] } });
        }
      } catch (err) {
        await release().catch(() => undefined);
        throw err;
      }
      info(
        `Synthetic load for this bake: ${o.load.rps} requests/s to Service ${services.canary} (${urls.canary}) and to Service ${services.stable} (${urls.stable}), ${o.load.paths.join(', ')}.`,
      );
      return { targets, release };
    },
    (_total, bake) => {
      info(describeSynthetic(bake));
      for (const w of unansweredSides(bake, urls)) warning(w);
    },
  );
  analysis.bake = loaded.bake.bind(loaded);
}
