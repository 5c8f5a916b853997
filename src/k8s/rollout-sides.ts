/**
 * The objects a canary or blue-green rollout puts beside the stable Deployment, and the
 * one change it makes to the stable Service:
 *
 * - the side Deployment (`<name>-canary` / `<name>-green`): the new pod template, the
 *   stable selector plus `platform-actions/track`, so its ReplicaSets and pods are its own;
 * - the side Service (`<service>-canary` / `<service>-preview`): the stable Service's
 *   selector plus the track label, same ports;
 * - the stable Service pinned to the stable pods' `pod-template-hash`. The side's pods keep
 *   every label of the stable ones (NetworkPolicies, PodMonitorings and the like still
 *   select them), so the stable Service would otherwise send them traffic too; Service
 *   selectors cannot exclude a label, but every Deployment's pods carry the hash of their
 *   ReplicaSet's template. The pin is removed when the rollout ends.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import type { KubeClient } from './client.js';
import { clone, DEPLOYMENTS, PODS, resource, SERVICES } from './resources.js';
import {
  DEPLOYMENT_ID_ANNOTATION,
  OWNER_LABEL,
  PINNED_ANNOTATION,
  TEMPLATE_HASH_LABEL,
  TRACK_LABEL,
} from './rollout-state.js';
import { revisionOf, revisions, rolloutProgress, selectorString, type Revision } from './rollout.js';
import type { Deployment, LabelSelector, PodTemplateSpec, Service } from './types.js';

export type Track = 'canary' | 'green';

/** The ReplicaSet of the Deployment's current revision (what its pods run), if the controller made it. */
export async function currentRevision(
  kube: KubeClient,
  namespace: string,
  d: Deployment,
  signal?: AbortSignal,
): Promise<Revision | undefined> {
  const history = await revisions(kube, namespace, d, signal);
  return history.find((r) => r.revision === revisionOf(d));
}

/** The ReplicaSet's pod-template-hash. */
export function hashOf(r: Revision): string {
  const hash = r.template.metadata?.labels?.[TEMPLATE_HASH_LABEL];
  if (!hash) throw new Error(`ReplicaSet ${r.replicaSet} has no ${TEMPLATE_HASH_LABEL} label`);
  return hash;
}

/** Refuses a Deployment whose own rollout is not finished: a canary beside it would compare against a moving target. */
export function assertSettled(d: Deployment, namespace: string): void {
  const name = d.metadata?.name;
  if (d.spec?.paused)
    throw new UserError(
      `Deployment ${namespace}/${name} is paused.`,
      `Resume it (kubectl rollout resume deployment/${name} -n ${namespace}) or deploy with strategy rolling.`,
    );
  const p = rolloutProgress(d);
  if (p.state !== 'done') {
    throw new UserError(
      `Deployment ${namespace}/${name} is not settled (${p.state === 'failed' ? `${p.reason}: ${p.message}` : p.message}), so there is no one stable version to roll out beside.`,
      `Let its rollout finish (kubectl rollout status deployment/${name} -n ${namespace}), or undo it with the rollback action, then deploy again.`,
    );
  }
}

/** A pod template without the track label (what the stable Deployment gets at promotion). */
export function withoutTrack(template: PodTemplateSpec): PodTemplateSpec {
  const copy = clone(template);
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[TRACK_LABEL];
    delete copy.metadata.labels[TEMPLATE_HASH_LABEL];
  }
  return copy;
}

function withLabel(selector: LabelSelector | undefined, key: string, value: string): LabelSelector {
  const s = clone(selector ?? {});
  s.matchLabels = { ...(s.matchLabels ?? {}), [key]: value };
  return s;
}

/** The canary / green Deployment for `template`, beside `stable`. */
export function sideDeployment(
  stable: Deployment,
  options: { name: string; track: Track; template: PodTemplateSpec; replicas: number; deploymentId: string },
): Deployment {
  const template = withoutTrack(options.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...(template.metadata?.labels ?? {}), [TRACK_LABEL]: options.track },
  };
  const spec = stable.spec ?? { selector: {}, template: {} };
  return {
    metadata: {
      name: options.name,
      labels: { [OWNER_LABEL]: stable.metadata?.name ?? '', [TRACK_LABEL]: options.track },
      annotations: { [DEPLOYMENT_ID_ANNOTATION]: options.deploymentId },
    },
    spec: {
      replicas: options.replicas,
      selector: withLabel(spec.selector, TRACK_LABEL, options.track),
      template,
      revisionHistoryLimit: 2,
      ...(spec.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
      ...(spec.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: spec.progressDeadlineSeconds } : {}),
      ...(spec.strategy ? { strategy: clone(spec.strategy) } : {}),
    },
  };
}

/** The canary / preview Service: the stable Service's selector plus the track label, the same ports. */
export function sideService(
  stable: Service,
  options: { name: string; track: Track; owner: string; deploymentId: string },
): Service {
  const selector = { ...(stable.spec?.selector ?? {}) };
  delete selector[TEMPLATE_HASH_LABEL];
  return {
    metadata: {
      name: options.name,
      labels: { [OWNER_LABEL]: options.owner, [TRACK_LABEL]: options.track },
      annotations: { [DEPLOYMENT_ID_ANNOTATION]: options.deploymentId },
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...selector, [TRACK_LABEL]: options.track },
      ports: (stable.spec?.ports ?? []).map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        port: p.port,
        ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
        ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
        ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      })),
    },
  };
}

/** The stable Service's selector without our pin: what it selects when no rollout runs. */
export function ownSelector(service: Service): Record<string, string> {
  const selector = { ...(service.spec?.selector ?? {}) };
  if (service.metadata?.annotations?.[PINNED_ANNOTATION] === TEMPLATE_HASH_LABEL) delete selector[TEMPLATE_HASH_LABEL];
  return selector;
}

/** Checks that the Service selects the Deployment's pods (template labels cover its selector). */
export function assertSelects(service: Service, template: PodTemplateSpec, what: string): void {
  const selector = ownSelector(service);
  const labels = template.metadata?.labels ?? {};
  const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
  if (Object.keys(selector).length === 0 || missing.length > 0) {
    throw new UserError(
      `Service ${service.metadata?.namespace}/${service.metadata?.name} does not select the pods of ${what} (${Object.keys(selector).length === 0 ? 'it has no selector' : `they lack ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}`}).`,
      "Give service: the Service in front of the Deployment (its selector must match the pod template's labels).",
    );
  }
}

/**
 * Points the stable Service at pods of one pod-template-hash (pinning it, or moving the
 * pin: a blue-green switch by selector is this one change). Returns whether it changed.
 */
export async function pinService(
  kube: KubeClient,
  namespace: string,
  name: string,
  hash: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const { changed } = await resource(kube, SERVICES, namespace).update(
    name,
    (live) => {
      const selector = live.spec?.selector ?? {};
      const ours = live.metadata?.annotations?.[PINNED_ANNOTATION] === TEMPLATE_HASH_LABEL;
      if (selector[TEMPLATE_HASH_LABEL] === hash && ours) return undefined;
      if (selector[TEMPLATE_HASH_LABEL] !== undefined && !ours) {
        throw new UserError(
          `Service ${namespace}/${name} selects ${TEMPLATE_HASH_LABEL}=${selector[TEMPLATE_HASH_LABEL]} itself, so platform-actions cannot pin it.`,
          `Remove ${TEMPLATE_HASH_LABEL} from the Service's selector.`,
        );
      }
      live.spec = { ...live.spec, selector: { ...selector, [TEMPLATE_HASH_LABEL]: hash } };
      live.metadata = {
        ...live.metadata,
        annotations: { ...(live.metadata?.annotations ?? {}), [PINNED_ANNOTATION]: TEMPLATE_HASH_LABEL },
      };
      return live;
    },
    { signal },
  );
  return changed;
}

/** Removes our pin from the stable Service's selector (nothing when there is none). */
export async function unpinService(
  kube: KubeClient,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const services = resource(kube, SERVICES, namespace);
  if (!(await services.find(name, signal))) return false;
  const { changed } = await services.update(
    name,
    (live) => {
      if (live.metadata?.annotations?.[PINNED_ANNOTATION] !== TEMPLATE_HASH_LABEL) return undefined;
      const selector = { ...(live.spec?.selector ?? {}) };
      delete selector[TEMPLATE_HASH_LABEL];
      const annotations = { ...(live.metadata.annotations ?? {}) };
      delete annotations[PINNED_ANNOTATION];
      live.spec = { ...live.spec, selector };
      live.metadata = { ...live.metadata, annotations };
      return live;
    },
    { signal },
  );
  return changed;
}

export interface RemoveOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** Wait until the pods are gone (so no Service can still reach them). */
  waitForPods?: boolean;
}

/** Deletes a side Deployment we made (with its ReplicaSets and pods); false when it was not there. */
export async function removeSide(
  kube: KubeClient,
  namespace: string,
  name: string,
  podSelector: string,
  options: RemoveOptions,
): Promise<boolean> {
  const deleted = await resource(kube, DEPLOYMENTS, namespace).delete(name, {
    propagationPolicy: 'Foreground',
    signal: options.signal,
  });
  if (options.waitForPods) {
    const pods = resource(kube, PODS, namespace);
    await poll(
      async () => {
        const left = await pods.list({ labelSelector: podSelector, signal: options.signal });
        return left.length === 0
          ? { done: true, value: undefined }
          : { done: false, status: `${left.length} pod(s) of ${name} still there` };
      },
      {
        what: `the pods of Deployment ${namespace}/${name} to be gone`,
        timeoutMs: options.timeoutMs,
        initialDelayMs: 250,
        maxDelayMs: 3000,
        clock: options.clock ?? systemClock,
        signal: options.signal,
      },
    );
  }
  return deleted;
}

/** The selector of a side's pods, from the stable Deployment (works when the side is gone already). */
export function sidePodSelector(stable: Deployment, track: Track): string {
  return selectorString(withLabel(stable.spec?.selector, TRACK_LABEL, track));
}
