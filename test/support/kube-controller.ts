/**
 * The controllers behind the stand-in API server, simplified but faithful in what a
 * rollout watches:
 *
 * - deployment controller: one ReplicaSet per pod template (pod-template-hash, revision
 *   annotation, a rollback to an old template re-uses and re-numbers its ReplicaSet),
 *   surge one pod per step, scale old ReplicaSets down as new pods become ready, status
 *   (observedGeneration, replicas, updated / ready / available, Progressing and Available
 *   conditions, ProgressDeadlineExceeded after progressDeadlineSeconds without progress),
 *   old ReplicaSets pruned beyond revisionHistoryLimit, garbage collection on delete;
 * - kubelet: pods become ready one step after they are created, unless their image was
 *   marked bad: then they wait in ImagePullBackOff or CrashLoopBackOff with the events a
 *   kubelet records;
 * - gateway controller: HTTPRoute status.parents with Accepted and ResolvedRefs
 *   (BackendNotFound for a missing Service) at the route's generation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ImageFailure, Obj } from './kube-server.js';

export interface System {
  get(plural: string, ns: string, name: string): Obj | undefined;
  list(plural: string, ns?: string): Obj[];
  create(plural: string, ns: string, o: Obj): Obj;
  update(plural: string, o: Obj): Obj;
  remove(plural: string, ns: string, name: string): void;
  failure(image: string): ImageFailure | undefined;
}

export interface Controllers {
  /** Time between controller steps (ms). Default 40. */
  stepMs: number;
  gateway: {
    controllerName: string;
    /** Report on a route only this long after its generation changed (propagation). Default 0. */
    delayMs: number;
    /** Refuse every route with this Accepted=False reason. */
    refuse?: { reason: string; message: string };
  };
  /** Garbage collection after a delete. */
  deleted(o: Obj, propagationPolicy: string): void;
  reset(): void;
  stop(): void;
}

const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const revision = (o: Obj) => Number(o.metadata?.annotations?.[REVISION] ?? 0);

function templateHash(template: unknown): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(JSON.stringify(template)).digest();
  return Array.from(digest.subarray(0, 10), (b) => alphabet[b % alphabet.length]).join('');
}

function ownedBy(o: Obj, owner: Obj): boolean {
  return (o.metadata?.ownerReferences ?? []).some((r: Obj) => r.uid === owner.metadata.uid);
}

function ownerRef(o: Obj): Obj {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    uid: o.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** `25%` of n (maxUnavailable rounds down, maxSurge up), or a plain number. */
function scaled(value: unknown, n: number, fallback: number, roundUp = false): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%'))
    return (roundUp ? Math.ceil : Math.floor)((Number(value.slice(0, -1)) / 100) * n);
  return fallback;
}

export function startControllers(sys: System): Controllers {
  /** Per Deployment uid: when it last made progress, and what it looked like then. */
  let progress = new Map<string, { at: number; mark: string }>();
  /** Per HTTPRoute uid and generation: when the controller first saw that generation. */
  let seen = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  function event(
    ns: string,
    involved: Obj,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: string,
  ): void {
    const existing = sys
      .list('events', ns)
      .find((e) => e.involvedObject.uid === involved.metadata.uid && e.reason === reason && e.message === message);
    if (existing) {
      const e = clone(existing);
      e.count = (e.count ?? 1) + 1;
      e.lastTimestamp = now();
      sys.update('events', e);
      return;
    }
    sys.create('events', ns, {
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString('hex')}` },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        namespace: ns,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now(),
      lastTimestamp: now(),
      source: { component },
      reportingComponent: component,
      reportingInstance: `${component}-stand-in`,
    });
  }

  function isReady(pod: Obj): boolean {
    return (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
  }

  /** The kubelet's part: pods of a ReplicaSet, created, removed, started or stuck. */
  function syncPods(rs: Obj): Obj[] {
    const ns = rs.metadata.namespace;
    let pods = sys.list('pods', ns).filter((p) => ownedBy(p, rs));
    const want = rs.spec.replicas ?? 0;
    while (pods.length > want) {
      const victim = pods.pop() as Obj;
      sys.remove('pods', ns, victim.metadata.name);
    }
    for (let i = pods.length; i < want; i++) {
      pods.push(
        sys.create('pods', ns, {
          metadata: {
            name: `${rs.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
            labels: clone(rs.spec.template.metadata?.labels ?? {}),
            ownerReferences: [ownerRef(rs)],
          },
          spec: clone(rs.spec.template.spec),
          status: {
            phase: 'Pending',
            conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }],
          },
        }),
      );
    }
    pods = pods.map((pod) => {
      if (isReady(pod)) return pod;
      const containers: Obj[] = pod.spec.containers ?? [];
      const bad = containers.map((c) => ({ c, how: sys.failure(c.image) })).find((x) => x.how);
      const p = clone(pod);
      const started = now();
      if (!bad) {
        p.status = {
          phase: 'Running',
          startTime: started,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: started },
            { type: 'Ready', status: 'True', lastTransitionTime: started },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: started },
          ],
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: `${c.image}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: started } },
          })),
        };
        return sys.update('pods', p);
      }
      const { c, how } = bad;
      const restarts =
        (pod.status?.containerStatuses?.find((s: Obj) => s.name === c.name)?.restartCount ?? 0) +
        (how === 'CrashLoopBackOff' ? 1 : 0);
      const waiting =
        how === 'ImagePullBackOff'
          ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` }
          : {
              reason: 'CrashLoopBackOff',
              message: `back-off 10s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            };
      p.status = {
        phase: how === 'ImagePullBackOff' ? 'Pending' : 'Running',
        startTime: pod.status?.startTime ?? started,
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: started },
          {
            type: 'Ready',
            status: 'False',
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${c.name}]`,
            lastTransitionTime: started,
          },
        ],
        containerStatuses: containers.map((x) => ({
          name: x.name,
          image: x.image,
          imageID: '',
          ready: false,
          started: false,
          restartCount: x === c ? restarts : 0,
          state: x === c ? { waiting } : { waiting: { reason: 'PodInitializing' } },
          ...(x === c && how === 'CrashLoopBackOff'
            ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: started, finishedAt: started } } }
            : {}),
        })),
      };
      if (!same(p.status.containerStatuses, pod.status?.containerStatuses)) {
        if (how === 'ImagePullBackOff') {
          event(
            pod.metadata.namespace,
            pod,
            'Warning',
            'Failed',
            `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": not found`,
            'kubelet',
          );
          event(pod.metadata.namespace, pod, 'Warning', 'BackOff', waiting.message, 'kubelet');
        } else {
          event(
            pod.metadata.namespace,
            pod,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            'kubelet',
          );
        }
        return sys.update('pods', p);
      }
      return pod;
    });
    return pods;
  }

  function setReplicas(rs: Obj, n: number, d: Obj): Obj {
    if ((rs.spec.replicas ?? 0) === n) return rs;
    const up = n > (rs.spec.replicas ?? 0);
    const next = clone(rs);
    next.spec.replicas = n;
    next.metadata.annotations = {
      ...next.metadata.annotations,
      'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas ?? 1),
    };
    event(
      d.metadata.namespace,
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${up ? 'up' : 'down'} replica set ${rs.metadata.name} to ${n}${up ? '' : ` from ${rs.spec.replicas}`}`,
      'deployment-controller',
    );
    return sys.update('replicasets', next);
  }

  function condition(
    previous: Obj[] | undefined,
    type: string,
    status: string,
    reason: string,
    message: string,
    progressed: boolean,
  ): Obj {
    const old = previous?.find((c) => c.type === type);
    const t = now();
    return {
      type,
      status,
      lastUpdateTime: old && !progressed && old.reason === reason ? old.lastUpdateTime : t,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t,
      reason,
      message,
    };
  }

  function reconcileDeployment(d: Obj): void {
    const ns = d.metadata.namespace;
    const name = d.metadata.name;
    const desired = d.spec.replicas ?? 1;
    const hash = templateHash(d.spec.template);
    let owned = sys.list('replicasets', ns).filter((rs) => ownedBy(rs, d));
    const maxRevision = Math.max(0, ...owned.map(revision));
    let current = owned.find((rs) => rs.metadata.labels?.[HASH] === hash);
    if (!current) {
      const labels = { ...(d.spec.template.metadata?.labels ?? {}), [HASH]: hash };
      current = sys.create('replicasets', ns, {
        metadata: {
          name: `${name}-${hash}`,
          labels,
          annotations: {
            [REVISION]: String(maxRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(desired),
          },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [HASH]: hash } },
          template: { ...clone(d.spec.template), metadata: { ...clone(d.spec.template.metadata ?? {}), labels } },
        },
      });
      owned = [...owned, current];
    } else if (revision(current) < maxRevision) {
      const next = clone(current);
      next.metadata.annotations = { ...next.metadata.annotations, [REVISION]: String(maxRevision + 1) };
      current = sys.update('replicasets', next);
    }
    const olds = owned.filter((rs) => rs !== current && rs.metadata.name !== current?.metadata.name);
    if (!d.spec.paused) {
      const newPods = sys.list('pods', ns).filter((p) => ownedBy(p, current as Obj));
      const newReady = newPods.filter(isReady).length;
      const n = current.spec.replicas ?? 0;
      const surge = Math.max(1, scaled(d.spec.strategy?.rollingUpdate?.maxSurge, desired, 1, true));
      if (n < desired && newPods.length === n && n - newReady < surge) current = setReplicas(current, n + 1, d);
      else if (n > desired) current = setReplicas(current, n - 1, d);
      const allowedOld = Math.max(0, desired - newReady);
      // One old pod less per step while the new ones that are ready make up for it.
      const oldTotal = olds.reduce((s, rs) => s + (rs.spec.replicas ?? 0), 0);
      const shrink = [...olds].sort((a, b) => revision(a) - revision(b)).find((rs) => (rs.spec.replicas ?? 0) > 0);
      if (oldTotal > allowedOld && shrink) setReplicas(shrink, (shrink.spec.replicas ?? 0) - 1, d);
    }
    // Pods, then ReplicaSet status.
    let total = 0;
    let ready = 0;
    let updated = 0;
    let updatedReady = 0;
    for (const rs of sys.list('replicasets', ns).filter((x) => ownedBy(x, d))) {
      const pods = syncPods(rs);
      const r = pods.filter(isReady).length;
      total += pods.length;
      ready += r;
      if (rs.metadata.name === current.metadata.name) {
        updated = pods.length;
        updatedReady = r;
      }
      const st = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: r,
        availableReplicas: r,
        observedGeneration: rs.metadata.generation,
      };
      if (!same(st, rs.status)) sys.update('replicasets', { ...clone(rs), status: st });
    }
    // Prune history beyond revisionHistoryLimit (scaled-down ReplicaSets only).
    const idle = sys
      .list('replicasets', ns)
      .filter(
        (x) =>
          ownedBy(x, d) &&
          x.metadata.name !== current?.metadata.name &&
          (x.spec.replicas ?? 0) === 0 &&
          (x.status?.replicas ?? 0) === 0,
      )
      .sort((a, b) => revision(a) - revision(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - (d.spec.revisionHistoryLimit ?? 10))))
      sys.remove('replicasets', ns, rs.metadata.name);

    // Deployment status.
    const mark = `${hash}/${updated}/${updatedReady}/${total}`;
    const p = progress.get(d.metadata.uid);
    const progressed = !p || p.mark !== mark;
    if (progressed) progress.set(d.metadata.uid, { at: Date.now(), mark });
    const since = progress.get(d.metadata.uid)?.at ?? Date.now();
    const complete = updated === desired && updatedReady === desired && total === desired;
    const previous: Obj[] | undefined = d.status?.conditions;
    const rsName = current.metadata.name;
    const maxUnavailable = scaled(d.spec.strategy?.rollingUpdate?.maxUnavailable, desired, 0);
    const wasExceeded = previous?.some(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded' && c.message.includes(`"${rsName}"`),
    );
    const progressing = complete
      ? condition(
          previous,
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet "${rsName}" has successfully progressed.`,
          progressed,
        )
      : wasExceeded || Date.now() - since > (d.spec.progressDeadlineSeconds ?? 600) * 1000
        ? condition(
            previous,
            'Progressing',
            'False',
            'ProgressDeadlineExceeded',
            `ReplicaSet "${rsName}" has timed out progressing.`,
            false,
          )
        : condition(
            previous,
            'Progressing',
            'True',
            'ReplicaSetUpdated',
            `ReplicaSet "${rsName}" is progressing.`,
            progressed,
          );
    const availableOk = ready >= desired - maxUnavailable;
    const available = condition(
      previous,
      'Available',
      availableOk ? 'True' : 'False',
      availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      false,
    );
    const status: Obj = {
      observedGeneration: d.metadata.generation,
      replicas: total,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(total - ready > 0 ? { unavailableReplicas: Math.max(0, total - ready) } : {}),
      conditions: [available, progressing],
    };
    if (ready === 0) delete status.readyReplicas;
    const annotations = { ...(d.metadata.annotations ?? {}), [REVISION]: String(revision(current)) };
    if (!same(status, d.status) || !same(annotations, d.metadata.annotations)) {
      const next = clone(d);
      next.status = status;
      next.metadata.annotations = annotations;
      sys.update('deployments', next);
    }
  }

  function reconcileRoute(route: Obj): void {
    const ns = route.metadata.namespace;
    const gen = route.metadata.generation ?? 1;
    const key = `${route.metadata.uid}/${gen}`;
    if (!seen.has(key)) seen.set(key, Date.now());
    if (Date.now() - (seen.get(key) as number) < controllers.gateway.delayMs) return;
    const missing = (route.spec?.rules ?? [])
      .flatMap((r: Obj) => r.backendRefs ?? [])
      .filter((b: Obj) => (b.kind ?? 'Service') === 'Service' && !sys.get('services', b.namespace ?? ns, b.name))
      .map((b: Obj) => b.name);
    const previous: Obj[] = route.status?.parents ?? [];
    const cond = (old: Obj | undefined, type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      observedGeneration: gen,
      lastTransitionTime:
        old?.conditions?.find((c: Obj) => c.type === type && c.status === status)?.lastTransitionTime ?? now(),
    });
    const refuse = controllers.gateway.refuse;
    const parents = (route.spec?.parentRefs ?? []).map((ref: Obj) => {
      const old = previous.find((p) => same(p.parentRef, ref));
      return {
        parentRef: clone(ref),
        controllerName: controllers.gateway.controllerName,
        conditions: [
          refuse
            ? cond(old, 'Accepted', 'False', refuse.reason, refuse.message)
            : cond(old, 'Accepted', 'True', 'Accepted', 'Route is accepted'),
          missing.length
            ? cond(old, 'ResolvedRefs', 'False', 'BackendNotFound', `Service "${missing[0]}" not found`)
            : cond(old, 'ResolvedRefs', 'True', 'ResolvedRefs', 'All references resolved'),
        ],
      };
    });
    if (!same(parents, previous)) sys.update('httproutes', { ...clone(route), status: { parents } });
  }

  function step(): void {
    if (running) return;
    running = true;
    try {
      for (const d of sys.list('deployments')) reconcileDeployment(d);
      for (const r of sys.list('httproutes')) reconcileRoute(r);
    } finally {
      running = false;
    }
  }

  const controllers: Controllers = {
    stepMs: 40,
    gateway: { controllerName: 'gateway.platform-actions.test/stand-in', delayMs: 0 },
    deleted: (o, policy) => {
      if (policy === 'Orphan') return;
      const ns = o.metadata.namespace;
      for (const plural of ['replicasets', 'pods']) {
        for (const child of sys.list(plural, ns).filter((c) => ownedBy(c, o))) {
          sys.remove(plural, ns, child.metadata.name);
          for (const grandchild of sys.list('pods', ns).filter((p) => ownedBy(p, child)))
            sys.remove('pods', ns, grandchild.metadata.name);
        }
      }
    },
    reset: () => {
      progress = new Map();
      seen = new Map();
      controllers.stepMs = 40;
      controllers.gateway = { controllerName: 'gateway.platform-actions.test/stand-in', delayMs: 0 };
    },
    stop: () => clearTimeout(timer),
  };
  const loop = () => {
    step();
    timer = setTimeout(loop, controllers.stepMs);
    timer.unref();
  };
  loop();
  return controllers;
}
