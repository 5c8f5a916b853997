/**
 * What a rollout leaves on the stable Deployment so that a post step, the rollback action
 * or the next run can finish or undo it from the cluster alone:
 *
 * - `platform-actions/rollout`: the engine's rollout record (src/delivery/record.ts);
 * - `platform-actions/traffic`: how this rollout moves traffic (JSON: route or Service,
 *   the stable weight and replicas before it, the pod-template-hash the stable Service was
 *   pinned to, the names of the canary or green side), written before the first change;
 * - `platform-actions/blue-green`: a promoted blue-green rollout whose blue side is kept
 *   for instant revert, and until when.
 *
 * Annotations are written with JSON merge patches of metadata only, which never change the
 * Deployment's generation and need no resourceVersion.
 */
import { decodeAbort } from '../delivery/abort.js';
import { decodeRecord, encodeRecord } from '../delivery/record.js';
import type { AbortRequest, RolloutRecord } from '../delivery/types.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource } from './resources.js';
import type { Deployment } from './types.js';

export const ROLLOUT_ANNOTATION = 'platform-actions/rollout';
/** Beside the record: a request that the rollout stop (the owner never writes it, so it cannot erase it). */
export const ABORT_ANNOTATION = 'platform-actions/abort';
export const TRAFFIC_ANNOTATION = 'platform-actions/traffic';
export const KEPT_ANNOTATION = 'platform-actions/blue-green';
/** The rollout that last changed an object (Deployments we update or create, Services we create). */
export const DEPLOYMENT_ID_ANNOTATION = 'platform-actions/deployment-id';
/** On a Service whose selector we pinned: the selector key we added. */
export const PINNED_ANNOTATION = 'platform-actions/pinned-selector';
/** Pod label telling a canary's or green side's pods from the stable ones: `canary` or `green`. */
export const TRACK_LABEL = 'platform-actions/track';
/** Label on the objects a rollout creates: the stable Deployment they belong to. */
export const OWNER_LABEL = 'platform-actions/rollout-of';
export const TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** How a canary or blue-green rollout moves traffic; everything its undo needs. */
export interface TrafficLayout {
  v: 1;
  /** route: HTTPRoute weights; replicas: pod ratio behind one Service; selector: the Service's selector switched. */
  mode: 'route' | 'replicas' | 'selector';
  /** The stable Service (the one the route names, or whose selector is switched). */
  service: string;
  /** The HTTPRoute, in the Deployment's namespace. */
  route?: string;
  /** The stable backendRef's weight before the rollout (put back at the end). */
  stableWeight?: number;
  /** The stable Deployment's replicas before the rollout. */
  replicas: number;
  /** The stable pods' pod-template-hash the stable Service's selector was pinned to, if it was. */
  pinned?: string;
  /** The canary / green Deployment. */
  side: string;
  /** The canary / preview Service. */
  sideService?: string;
}

/** A promoted blue-green rollout whose blue side is kept for instant revert. */
export interface KeptBlue {
  /** The rollout's deployment id. */
  id: string;
  /** Blue: the stable Deployment's ReplicaSet that ran before, still running. */
  blue: string;
  /** The green Deployment that takes the traffic. */
  green: string;
  /** Blue may be retired after this (epoch seconds). */
  until: number;
}

function annotations(d: Deployment | undefined): Record<string, string> {
  return d?.metadata?.annotations ?? {};
}

export function recordOf(d: Deployment | undefined): RolloutRecord | undefined {
  const record = decodeRecord(annotations(d)[ROLLOUT_ANNOTATION]);
  const abort = abortOf(d);
  return record && abort?.id === record.id ? { ...record, abort } : record;
}

export function abortOf(d: Deployment | undefined): AbortRequest | undefined {
  return decodeAbort(annotations(d)[ABORT_ANNOTATION]);
}

export function layoutOf(d: Deployment | undefined): TrafficLayout | undefined {
  return parseJson<TrafficLayout>(
    annotations(d)[TRAFFIC_ANNOTATION],
    (x) => x.v === 1 && typeof x.side === 'string' && typeof x.service === 'string',
  );
}

export function keptOf(d: Deployment | undefined): KeptBlue | undefined {
  return parseJson<KeptBlue>(
    annotations(d)[KEPT_ANNOTATION],
    (x) =>
      typeof x.id === 'string' && typeof x.blue === 'string' && typeof x.green === 'string' && Number.isFinite(x.until),
  );
}

function parseJson<T>(text: string | undefined, valid: (x: T) => boolean): T | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as T;
    return value && typeof value === 'object' && valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Sets (string) or removes (null) annotations of a Deployment in one merge patch. */
export async function annotateDeployment(
  kube: KubeClient,
  namespace: string,
  name: string,
  values: Record<string, string | null>,
  signal?: AbortSignal,
): Promise<Deployment> {
  return resource(kube, DEPLOYMENTS, namespace).patch(name, { metadata: { annotations: values } }, 'merge', { signal });
}

export const encodeLayout = (layout: TrafficLayout): string => JSON.stringify(layout);
export const encodeKept = (kept: KeptBlue): string => JSON.stringify(kept);

/** The rollout record as an annotation value. */
export function recordValue(record: RolloutRecord | undefined): string | null {
  if (!record) return null;
  const { abort: _abort, ...stored } = record;
  return encodeRecord(stored);
}
