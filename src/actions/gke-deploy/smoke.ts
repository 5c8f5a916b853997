/**
 * gke-deploy's smoke checks: once the new side (canary or green) is healthy, the spec's
 * checks run against it alone, before any production traffic. With smoke-url and an
 * HTTPRoute, a rule matching `x-platform-actions-smoke: <rollout id>` routes the checks to
 * the new side's Service and is removed right after; without smoke-url they go to that
 * Service by its cluster DNS name. A failure reads to the engine as an unhealthy new
 * version: it removes the new side, and the route's weights never changed. Blue-green
 * runs them before its preview analysis.
 */
import { info } from '@actions/core';
import { SMOKE_HEADER, type SmokeSpec } from '../../analysis/smoke.js';
import { smokeGate, withSmokeGate, type SmokeGateOptions } from '../../delivery/smoke-gate.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import type { KubeClient } from '../../k8s/client.js';
import type { SideBySideTarget } from '../../k8s/side-by-side.js';
import type { Target } from '../../delivery/types.js';
import { closeSmokeRoute, openSmokeRoute } from '../../k8s/smoke-route.js';

export function wireSmokeRoute(
  target: SideBySideTarget & Target,
  o: {
    kube: KubeClient;
    namespace: string;
    smoke: SmokeSpec;
    deploymentId: string;
    url?: string;
    confirmTimeoutMs?: number;
  },
): void {
  const url = o.url ?? o.smoke.url;
  let opened: string | undefined;
  const options: SmokeGateOptions = {
    spec: o.smoke,
    headers: { [SMOKE_HEADER]: o.deploymentId },
    log: info,
    newSideUrl: async (signal) => {
      const backend = await target.smokeBackend(signal);
      if (!backend) throw new Error("smoke checks need the new side's Service, and there is none");
      if (url && backend.route) {
        opened = backend.route;
        await openSmokeRoute(
          o.kube,
          {
            namespace: o.namespace,
            route: backend.route,
            service: backend.service,
            port: backend.port,
            deploymentId: o.deploymentId,
            log: info,
            ...(o.confirmTimeoutMs ? { timeoutMs: o.confirmTimeoutMs } : {}),
          },
          signal,
        );
      } else if (url) {
        info(
          `No http-route to carry the smoke header: ${url} must reach Service ${backend.service} (the new side) alone, e.g. through an Ingress of its own.`,
        );
      } else {
        info(
          `No smoke-url: the checks go to Service ${backend.service} by its cluster DNS name, which only a runner inside the cluster reaches.`,
        );
      }
      return url ?? backend.serviceUrl;
    },
    // Also after a cancel: its own short deadline, not the job's signal.
    release: async () => {
      if (opened) await closeSmokeRoute(o.kube, o.namespace, opened, o.deploymentId, info, AbortSignal.timeout(30_000));
    },
  };
  // Blue-green: before its preview analysis (cheap checks first); a canary: before its first weight.
  if (target instanceof KubeBlueGreenTarget) target.afterReady = smokeGate(options);
  else withSmokeGate(target, options);
}
