/**
 * Traffic by replica count, for a canary without an HTTPRoute: the stable and canary pods
 * sit behind one Service, which spreads requests over its ready endpoints, so the canary's
 * share is roughly its share of the pods. This picks the pod counts whose ratio comes
 * closest to the weight asked for.
 */

export interface ReplicaSplit {
  canary: number;
  stable: number;
  /** The canary's share of the pods, in whole percent: the weight actually reached. */
  weight: number;
}

/**
 * Pod counts for `weight`% on the canary, starting from `replicas` stable pods.
 *
 * - 0% and 100% are exact: all pods stable, or all canary (`replicas` of them).
 * - Between: at least one pod on each side, never fewer pods in all than before (nor fewer
 *   than 2), and at most twice that many, so a low weight on few replicas can add stable
 *   pods to get closer (3 replicas at 10%: 1 canary + 5 stable = 17%, not 1 + 2 = 33%).
 *   Of the splits in that range the closest ratio wins; on a tie, the fewest pods.
 */
export function replicaSplit(replicas: number, weight: number): ReplicaSplit {
  const n = Math.max(1, Math.floor(replicas));
  if (weight <= 0) return { canary: 0, stable: n, weight: 0 };
  if (weight >= 100) return { canary: n, stable: 0, weight: 100 };
  const low = Math.max(n, 2);
  let best: ReplicaSplit | undefined;
  let bestError = Infinity;
  for (let total = low; total <= 2 * low; total++) {
    const canary = Math.min(total - 1, Math.max(1, Math.round((total * weight) / 100)));
    const error = Math.abs(canary / total - weight / 100);
    if (error < bestError - 1e-9) {
      bestError = error;
      best = { canary, stable: total - canary, weight: Math.round((100 * canary) / total) };
    }
  }
  return best as ReplicaSplit;
}

/** Canary pods needed to carry `weight`% when the route splits traffic exactly: its share of the stable replicas, at least one. */
export function canaryReplicasFor(replicas: number, weight: number): number {
  return Math.max(1, Math.ceil((Math.max(1, replicas) * Math.min(100, weight)) / 100));
}
