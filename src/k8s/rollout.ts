/**
 * Rollout primitives for apps/v1 Deployments: how far a rollout is (the rules of
 * `kubectl rollout status`), waiting for it with a deadline, why it is stuck (pod
 * waiting reasons and Warning events), the revision history kept in ReplicaSets, and
 * putting an earlier revision's pod template back (what `kubectl rollout undo` does).
 */
import { systemClock, type Clock } from '../util/clock.js';
import { UserError } from '../util/errors.js';
import { poll, PollTimeoutError } from '../util/poll.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, EVENTS, PODS, REPLICASETS, resource } from './resources.js';
import type { Container, Deployment, Event, LabelSelector, Pod, PodTemplateSpec, ReplicaSet } from './types.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** Where a rollout stands, from one read of the Deployment. */
export type RolloutProgress =
  | { state: 'done'; message: string }
  | { state: 'progressing'; message: string }
  | { state: 'failed'; reason: string; message: string };

/** The state of a Deployment's rollout, by the rules `kubectl rollout status` uses. */
export function rolloutProgress(d: Deployment): RolloutProgress {
  const generation = d.metadata?.generation ?? 0;
  const status = d.status ?? {};
  const observed = status.observedGeneration ?? 0;
  if (observed < generation)
    return {
      state: 'progressing',
      message: `waiting for the controller to see generation ${generation} (it has seen ${observed})`,
    };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message:
        progressing.message ??
        `the rollout exceeded its progress deadline (${d.spec?.progressDeadlineSeconds ?? 600}s)`,
    };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (d.spec?.paused) return { state: 'progressing', message: 'the Deployment is paused' };
  if (updated < desired) return { state: 'progressing', message: `${updated} of ${desired} replicas updated` };
  if (total > updated) return { state: 'progressing', message: `${total - updated} old replicas still terminating` };
  if (available < updated)
    return { state: 'progressing', message: `${available} of ${updated} updated replicas available` };
  return { state: 'done', message: `${updated} of ${desired} replicas updated and available` };
}

/** A rollout that failed or ran out of time, with what the cluster says about why. */
export class RolloutFailedError extends UserError {
  constructor(
    readonly deployment: string,
    readonly reason: 'ProgressDeadlineExceeded' | 'Timeout',
    readonly diagnosis: RolloutDiagnosis,
    message: string,
  ) {
    super(
      `${message}${diagnosis.reasons.length ? `\n${diagnosis.reasons.map((r) => `  ${r}`).join('\n')}` : ''}`,
      diagnosis.reasons.length
        ? "Fix what the pods report (image name and pull access, the container's start-up, resources), then deploy again."
        : 'Look at the new pods with kubectl describe pod and their logs.',
    );
    this.name = 'RolloutFailedError';
  }
}

/** Why new pods are not becoming available. */
export interface RolloutDiagnosis {
  /** Distinct lines, most telling first: `pod web-7d9-abc: ImagePullBackOff: Back-off pulling image "x"`. */
  reasons: string[];
  /** The new ReplicaSet, if there is one. */
  replicaSet?: string;
}

export function selectorString(selector: LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): number {
  const n = Number(o.metadata?.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(n) ? n : 0;
}

/** One entry of a Deployment's history: a ReplicaSet it owns. */
export interface Revision {
  revision: number;
  replicaSet: string;
  template: PodTemplateSpec;
  /** Images by container name. */
  images: Record<string, string>;
  replicas: number;
}

function images(template: PodTemplateSpec | undefined): Record<string, string> {
  return Object.fromEntries((template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));
}

/** The ReplicaSets a Deployment owns, oldest revision first. */
export async function revisions(
  kube: KubeClient,
  namespace: string,
  deployment: Deployment,
  signal?: AbortSignal,
): Promise<Revision[]> {
  const uid = deployment.metadata?.uid;
  const sets = await resource(kube, REPLICASETS, namespace).list({
    labelSelector: selectorString(deployment.spec?.selector),
    signal,
  });
  return sets
    .filter((rs) =>
      rs.metadata?.ownerReferences?.some(
        (o) => o.kind === 'Deployment' && (uid ? o.uid === uid : o.name === deployment.metadata?.name),
      ),
    )
    .map((rs: ReplicaSet) => ({
      revision: revisionOf(rs),
      replicaSet: rs.metadata?.name ?? '',
      template: rs.spec?.template ?? {},
      images: images(rs.spec?.template),
      replicas: rs.status?.replicas ?? 0,
    }))
    .sort((a, b) => a.revision - b.revision);
}

/** The revision before the Deployment's current one: what a rollback returns to. */
export async function previousRevision(
  kube: KubeClient,
  namespace: string,
  deployment: Deployment,
  signal?: AbortSignal,
): Promise<Revision | undefined> {
  const current = revisionOf(deployment);
  const history = await revisions(kube, namespace, deployment, signal);
  return history.filter((r) => r.revision < current).at(-1);
}

/** A template taken from a ReplicaSet, ready to go back into its Deployment. */
export function templateForDeployment(template: PodTemplateSpec): PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(template)) as PodTemplateSpec;
  if (copy.metadata?.labels) delete copy.metadata.labels[TEMPLATE_HASH_LABEL];
  return copy;
}

/**
 * Puts a revision's pod template back into the Deployment (a new rollout to the old
 * template, as `kubectl rollout undo --to-revision` does). Returns the updated Deployment;
 * wait for it with waitForRollout.
 */
export async function rollbackTo(
  kube: KubeClient,
  namespace: string,
  name: string,
  revision: Revision,
  signal?: AbortSignal,
): Promise<Deployment> {
  const { object } = await resource(kube, DEPLOYMENTS, namespace).update(
    name,
    (live) => {
      if (!live.spec) return undefined;
      live.spec.template = templateForDeployment(revision.template);
      return live;
    },
    { signal },
  );
  return object;
}

/** The container an image goes into: the named one, or the only one. */
export function targetContainer(
  template: PodTemplateSpec,
  containerName: string | undefined,
  where: string,
): Container {
  const containers = template.spec?.containers ?? [];
  if (containerName) {
    const c = containers.find((x) => x.name === containerName);
    if (!c)
      throw new UserError(
        `${where} has no container named ${containerName}.`,
        `Its containers: ${containers.map((x) => x.name).join(', ') || 'none'}.`,
      );
    return c;
  }
  if (containers.length !== 1) {
    throw new UserError(
      `${where} has ${containers.length} containers, so it is not clear which one gets the image.`,
      `Set container-name to one of: ${containers.map((x) => x.name).join(', ')}.`,
    );
  }
  return containers[0] as Container;
}

function waitingReasons(pod: Pod): string[] {
  const name = pod.metadata?.name ?? '';
  const out: string[] = [];
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      out.push(`pod ${name}, container ${cs.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`);
    }
    const last = cs.lastState?.terminated;
    if (last && (last.reason === 'OOMKilled' || (last.exitCode ?? 0) !== 0)) {
      out.push(
        `pod ${name}, container ${cs.name}: last run ended ${last.reason ?? 'Error'} (exit code ${last.exitCode ?? '?'}${cs.restartCount ? `, ${cs.restartCount} restarts` : ''})`,
      );
    }
  }
  for (const c of pod.status?.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.status === 'False')
      out.push(`pod ${name}: not scheduled: ${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}`);
  }
  return out;
}

function eventLine(e: Event): string {
  const obj = e.involvedObject;
  const count = (e.count ?? 1) > 1 ? ` (×${e.count})` : '';
  return `${(obj.kind ?? '').toLowerCase()} ${obj.name ?? ''}: ${e.reason ?? ''}: ${e.message ?? ''}${count}`;
}

/** Why the Deployment's new pods are not available: their waiting reasons, then Warning events. */
export async function diagnoseRollout(
  kube: KubeClient,
  namespace: string,
  deployment: Deployment,
  signal?: AbortSignal,
): Promise<RolloutDiagnosis> {
  const history = await revisions(kube, namespace, deployment, signal).catch(() => [] as Revision[]);
  const current = history.find((r) => r.revision === revisionOf(deployment)) ?? history.at(-1);
  const hash = current?.template.metadata?.labels?.[TEMPLATE_HASH_LABEL];
  const selector = [selectorString(deployment.spec?.selector), hash ? `${TEMPLATE_HASH_LABEL}=${hash}` : '']
    .filter(Boolean)
    .join(',');
  const [pods, events] = await Promise.all([
    resource(kube, PODS, namespace).list({ labelSelector: selector, signal }),
    resource(kube, EVENTS, namespace).list({ fieldSelector: 'type=Warning', signal }),
  ]);
  const names = new Set<string>([
    deployment.metadata?.name ?? '',
    current?.replicaSet ?? '',
    ...pods.map((p) => p.metadata?.name ?? ''),
  ]);
  const reasons = pods.flatMap(waitingReasons);
  const warnings = events
    .filter((e) => names.has(e.involvedObject.name ?? ''))
    .sort((a, b) => Date.parse(b.lastTimestamp ?? b.eventTime ?? '') - Date.parse(a.lastTimestamp ?? a.eventTime ?? ''))
    .map(eventLine);
  return { reasons: [...new Set([...reasons, ...warnings])].slice(0, 12), replicaSet: current?.replicaSet };
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** First delay between looks (ms). Default 2000. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called with each new progress message. */
  onProgress?: (message: string) => void;
}

/**
 * Waits until the Deployment's rollout is complete: the controller has seen the latest
 * generation, every replica is updated and available, no old replica is left. Fails at
 * once on ProgressDeadlineExceeded, and at `timeoutMs`, both with the diagnosis.
 */
export async function waitForRollout(
  kube: KubeClient,
  namespace: string,
  name: string,
  options: WaitOptions,
): Promise<Deployment> {
  const deployments = resource(kube, DEPLOYMENTS, namespace);
  let last: Deployment | undefined;
  let lastMessage = '';
  try {
    return await poll(
      async () => {
        const d = await deployments.get(name, options.signal);
        last = d;
        const p = rolloutProgress(d);
        if (p.message !== lastMessage) options.onProgress?.(p.message);
        lastMessage = p.message;
        if (p.state === 'done') return { done: true, value: d };
        if (p.state === 'failed') {
          const diagnosis = await diagnoseRollout(kube, namespace, d, options.signal);
          throw new RolloutFailedError(
            name,
            'ProgressDeadlineExceeded',
            diagnosis,
            `The rollout of Deployment ${namespace}/${name} failed: ${p.message}`,
          );
        }
        return { done: false, status: p.message };
      },
      {
        what: `the rollout of Deployment ${namespace}/${name}`,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        clock: options.clock ?? systemClock,
        initialDelayMs: options.initialDelayMs ?? 2000,
        maxDelayMs: options.maxDelayMs ?? 15_000,
      },
    );
  } catch (err) {
    if (err instanceof PollTimeoutError && last) {
      const diagnosis = await diagnoseRollout(kube, namespace, last, options.signal);
      throw new RolloutFailedError(name, 'Timeout', diagnosis, err.message);
    }
    throw err;
  }
}
