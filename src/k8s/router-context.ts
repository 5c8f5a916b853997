/**
 * What a Kubernetes traffic router is built from (src/k8s/routers.ts): the cluster, and
 * what the workload knows of the live rollout: its traffic layout (the route or Service,
 * the side's names, the stable replicas before), and the few Deployment operations a
 * mechanism that moves traffic with pods needs. Every field is a function so the router
 * always sees the workload's latest view (after preflight, create, adopt or locate).
 */
import type { RolloutRecord } from '../delivery/types.js';
import type { Clock } from '../util/clock.js';
import type { Autoscaler } from './autoscaler.js';
import type { KubeClient } from './client.js';
import type { TrafficLayout } from './rollout-state.js';
import type { Deployment } from './types.js';

/** The workload's Deployment operations a router may use. */
export interface KubeWorkloadOps {
  /** Sets a Deployment's replicas; false when it had them already. */
  scale(name: string, replicas: number, signal?: AbortSignal): Promise<boolean>;
  /** Waits for a Deployment's rollout (new pods available). */
  waitRollout(name: string, signal?: AbortSignal): Promise<Deployment>;
  /** Waits until a Deployment runs exactly its replicas, all available. */
  waitReplicas(name: string, signal?: AbortSignal): Promise<Deployment>;
  /** The HPA that scales the stable Deployment, if any. */
  autoscaler(signal?: AbortSignal): Promise<Autoscaler | undefined>;
}

export interface KubeRouterContext {
  kube: KubeClient;
  namespace: string;
  /** The stable Deployment. */
  deployment: string;
  clock: Clock;
  log: (line: string) => void;
  /** Longest wait for a traffic change to be confirmed (route accepted). Default 2 minutes. */
  confirmTimeoutMs?: number;
  /** The rollout's traffic layout, once known (create, adopt, locate). */
  layout(): TrafficLayout | undefined;
  /** The HTTPRoute: the one given, else the recorded one. */
  route(): string | undefined;
  /** The new side's Deployment (`<name>-canary`, `<name>-green`). */
  sideName(): string;
  /** The new side's Service when a layout does not name it (`<service>-canary`, `<service>-preview`). */
  sideServiceOf(layout: TrafficLayout): string;
  /** The workload's part before a weight is set (a canary sized for its share; blue-green only at 100%). */
  beforeWeight?(weight: number, layout: TrafficLayout, signal?: AbortSignal): Promise<void>;
  ops: KubeWorkloadOps;
  /**
   * Traffic leaves the new side only with its pods (replica ratio): the workload's removal of
   * the new side, which the router then runs as its restore.
   */
  removeSide?(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /** Told when the restore scaled the stable Deployment back up (the workload waits for it at the end). */
  stableScaledUp?(): void;
  /** Where Kubernetes moves traffic itself (rolling): the workload's undo, whose rollout the router then waits for. */
  undo?(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
}

/** The layout a change needs; a router used before `create` is a programming error. */
export function layoutFor(context: KubeRouterContext): TrafficLayout {
  const layout = context.layout();
  if (!layout) throw new Error('shift before create');
  return layout;
}

/** Percent of the new side from two weights or pod counts. */
export function shareOf(side: number, stable: number): number {
  return side + stable > 0 ? Math.round((100 * side) / (side + stable)) : 0;
}
