/**
 * The HorizontalPodAutoscaler (autoscaling/v2) that manages a Deployment's replicas, if one
 * does. While one targets the stable Deployment, its replica count is the HPA's, not the
 * manifest's nor the count from before a rollout: a promotion or a rollback that wrote
 * either would drop pods the load needs until the HPA scaled up again. The side-by-side
 * engines ask here and keep the count the HPA set.
 */
import { isNotFound, KubeApiError, type KubeClient } from './client.js';
import { HPAS, resource } from './resources.js';
import type { Deployment, HorizontalPodAutoscaler } from './types.js';

export interface Autoscaler {
  name: string;
  minReplicas: number;
  maxReplicas: number;
}

/**
 * The HPA whose scaleTargetRef is this Deployment, or undefined (also when the API or the
 * permission to list HPAs is missing: `onUnknown` says so, and the caller goes on as without).
 */
export async function autoscalerFor(
  kube: KubeClient,
  namespace: string,
  deployment: string,
  options: { signal?: AbortSignal; onUnknown?: (why: string) => void } = {},
): Promise<Autoscaler | undefined> {
  let all: HorizontalPodAutoscaler[];
  try {
    all = await resource(kube, HPAS, namespace).list(options.signal ? { signal: options.signal } : {});
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    if (
      isNotFound(cause) ||
      (cause instanceof KubeApiError && (cause.httpStatus === 403 || cause.httpStatus === 404))
    ) {
      options.onUnknown?.(
        `could not list HorizontalPodAutoscalers in ${namespace} (${cause.httpStatus === 403 ? 'forbidden: grant list on horizontalpodautoscalers in the autoscaling group' : 'the API is not served'})`,
      );
      return undefined;
    }
    throw err;
  }
  const hpa = all.find((h) => {
    const ref = h.spec?.scaleTargetRef;
    return (
      ref?.kind === 'Deployment' &&
      ref.name === deployment &&
      (ref.apiVersion === undefined || ref.apiVersion.startsWith('apps/'))
    );
  });
  if (!hpa?.spec) return undefined;
  return { name: hpa.metadata?.name ?? '', minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas };
}

/**
 * The stable Deployment's replicas after a promotion or a rollback: without an HPA, the
 * count from before the rollout; with one, what it set now, but never fewer than the new
 * side ran with while it served (the HPA of an idle stable may have scaled it down).
 */
export function replicasToKeep(options: {
  hpa: Autoscaler | undefined;
  before: number;
  live: Deployment;
  sideReplicas?: number;
}): number {
  if (!options.hpa) return options.before;
  return Math.max(options.live.spec?.replicas ?? 1, options.sideReplicas ?? 0, 1);
}
