/**
 * The reconciler's view of a GKE cluster: every Deployment of the given namespaces that
 * carries rollout state (a record, or a kept blue), that state checked against the live
 * objects (record-check.ts) before anything acts on it, the target that finishes or undoes
 * the record, and how to retire a kept blue.
 */
import type { Found } from '../delivery/reconcile.js';
import type { Subjects } from '../analysis/types.js';
import type { Target } from '../delivery/types.js';
import { errorMessage } from '../util/errors.js';
import { BLUE_GREEN_ENGINE, KubeBlueGreenTarget } from './blue-green-target.js';
import type { KubeClient } from './client.js';
import { checkedState } from './record-check.js';
import { DEPLOYMENTS, resource } from './resources.js';
import { KEPT_ANNOTATION, ROLLOUT_ANNOTATION, TRAFFIC_ANNOTATION, type TrafficLayout } from './rollout-state.js';
import { recoveryTarget } from './targets.js';
import type { Deployment } from './types.js';

export interface KubeFinding extends Found {
  namespace: string;
  deployment: string;
  target?: Target;
  retire?: (signal?: AbortSignal) => Promise<void>;
  /** Metric labels of both sides, from the traffic layout (canary rollouts). */
  subjects?: Subjects;
}

export interface KubeScan {
  findings: KubeFinding[];
  deployments: number;
}

/** Labels the GKE targets give each side (as gke-deploy's analysis sees them). */
export const KUBE_LABELS = ['namespace', 'deployment', 'service', 'track'] as const;

function hasState(d: Deployment): boolean {
  const a = d.metadata?.annotations ?? {};
  return a[ROLLOUT_ANNOTATION] !== undefined || a[KEPT_ANNOTATION] !== undefined || a[TRAFFIC_ANNOTATION] !== undefined;
}

function subjectsOf(namespace: string, name: string, layout: TrafficLayout): Subjects {
  return {
    baseline: { namespace, deployment: name, service: layout.service, track: 'stable' },
    canary: {
      namespace,
      deployment: layout.side,
      service: layout.mode === 'replicas' ? layout.service : (layout.sideService ?? layout.service),
      track: 'canary',
    },
  };
}

export async function scanKube(options: {
  kube: KubeClient;
  namespaces: string[];
  waitTimeoutMs: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<KubeScan> {
  const { kube, signal } = options;
  const log = options.log ?? (() => undefined);
  const findings: KubeFinding[] = [];
  let deployments = 0;
  for (const namespace of options.namespaces) {
    const all = await resource(kube, DEPLOYMENTS, namespace).list({ ...(signal ? { signal } : {}) });
    deployments += all.length;
    for (const d of all) {
      if (!hasState(d)) continue;
      const name = d.metadata?.name ?? '';
      const base = { namespace, deployment: name };
      let state;
      try {
        state = await checkedState(kube, namespace, d, 'reconcile', signal);
      } catch (err) {
        findings.push({ ...base, problem: errorMessage(err).replace(/\n\s*/g, ' ') });
        continue;
      }
      const common = { kube, namespace, deployment: name, waitTimeoutMs: options.waitTimeoutMs, log };
      const finding: KubeFinding = { ...base };
      if (state.record) {
        finding.record = state.record;
        finding.target = recoveryTarget(state.record.engine, common);
        if (state.layout && state.record.engine !== BLUE_GREEN_ENGINE)
          finding.subjects = subjectsOf(namespace, name, state.layout);
      } else if (state.kept) {
        const kept = state.kept;
        finding.kept = { id: kept.id, until: kept.until };
        finding.retire = (s?: AbortSignal) => new KubeBlueGreenTarget({ ...common, keepPreviousMs: 0 }).retire(kept, s);
      } else continue;
      findings.push(finding);
    }
  }
  return { findings, deployments };
}
