/**
 * The Kubernetes stand-in's batch/v1 Jobs: a small Job controller and the kubelet's part
 * for their pods, plus the pods' logs (the `pods/{name}/log` subresource).
 *
 * - A new Job gets its pod (labels `batch.kubernetes.io/job-name`, `job-name`,
 *   `controller-uid`, owned by the Job) and status.startTime; the pod waits in
 *   ContainerCreating for one step, then runs (or stays in ImagePullBackOff for an image
 *   marked bad with `failImage`).
 * - What the container does is set per image with `behave`: log lines spread over
 *   `runMs`, then the exit code. The pod ends Succeeded / Failed with the container's
 *   terminated state, the Job Complete (with SuccessCriteriaMet) or Failed
 *   (FailureTarget, BackoffLimitExceeded) as the Job controller of Kubernetes 1.31+
 *   writes them.
 * - activeDeadlineSeconds: a Job still active past it is Failed with DeadlineExceeded and
 *   its pod removed.
 *
 * Every object written goes through the stand-in's schema check (kube-schema.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Obj } from './kube-server.js';
import type { System } from './kube-controller.js';

export interface JobBehaviour {
  lines?: string[];
  runMs?: number;
  exitCode?: number;
}

export interface JobController {
  /** What containers of this image print and how they exit. Default: nothing, exit 0 after 200 ms. */
  behave(image: string, behaviour: JobBehaviour): void;
  /** Log lines of a pod's container, with their times. */
  logs(ns: string, pod: string): Array<{ at: string; line: string }> | undefined;
  reset(): void;
  stop(): void;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
/** RFC 3339 with nanoseconds, as the kubelet stamps log lines. */
const nano = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

interface Running {
  /** Time of the last line stamped (ms): each line gets a later one. */
  lastMs: number;
  image: string;
  container: string;
  startedMs: number;
  behaviour: Required<JobBehaviour>;
  printed: number;
}

export function startJobController(sys: System, stepMs = 40): JobController {
  let behaviours = new Map<string, JobBehaviour>();
  let logs = new Map<string, Array<{ at: string; line: string }>>();
  let running = new Map<string, Running>();
  let timer: ReturnType<typeof setTimeout>;

  const podsOf = (job: Obj) =>
    sys
      .list('pods', job.metadata.namespace)
      .filter((p) => (p.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === job.metadata.uid));
  const finished = (job: Obj) =>
    (job.status?.conditions ?? []).some(
      (c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: 'True',
    reason,
    message,
    lastProbeTime: now(),
    lastTransitionTime: now(),
  });

  function createPod(job: Obj): void {
    const ns = job.metadata.namespace;
    const uid = job.metadata.uid;
    const name = job.metadata.name;
    const template = JSON.parse(JSON.stringify(job.spec.template)) as Obj;
    sys.create('pods', ns, {
      metadata: {
        name: `${name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        labels: {
          ...(template.metadata?.labels ?? {}),
          'batch.kubernetes.io/job-name': name,
          'job-name': name,
          'controller-uid': uid,
          'batch.kubernetes.io/controller-uid': uid,
        },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: template.spec,
      status: {
        phase: 'Pending',
        containerStatuses: (template.spec.containers as Obj[]).map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason: 'ContainerCreating' } },
        })),
      },
    });
    sys.update('jobs', {
      ...job,
      status: { ...(job.status ?? {}), startTime: now(), active: 1, ready: 0, terminating: 0 },
    });
  }

  function syncPod(job: Obj, pod: Obj): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const c = pod.spec.containers[0] as Obj;
    const st = pod.status.containerStatuses?.[0] as Obj | undefined;
    if (pod.status.phase === 'Pending') {
      const failure = sys.failure(c.image);
      if (failure === 'ImagePullBackOff') {
        if (st?.state?.waiting?.reason !== 'ImagePullBackOff') {
          sys.update('pods', {
            ...pod,
            status: {
              ...pod.status,
              containerStatuses: [
                {
                  ...st,
                  state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } },
                },
              ],
            },
          });
        }
        return;
      }
      const b = behaviours.get(c.image) ?? {};
      running.set(key, {
        lastMs: 0,
        image: c.image,
        container: c.name,
        startedMs: Date.now(),
        behaviour: { lines: b.lines ?? [], runMs: b.runMs ?? 200, exitCode: b.exitCode ?? 0 },
        printed: 0,
      });
      logs.set(key, []);
      sys.update('pods', {
        ...pod,
        status: {
          ...pod.status,
          phase: 'Running',
          startTime: now(),
          containerStatuses: [{ ...st, ready: true, started: true, state: { running: { startedAt: now() } } }],
        },
      });
      sys.update('jobs', { ...job, status: { ...job.status, ready: 1 } });
      return;
    }
    const r = running.get(key);
    if (pod.status.phase !== 'Running' || !r) return;
    const elapsed = Date.now() - r.startedMs;
    const { lines, runMs, exitCode } = r.behaviour;
    // Line i comes at i/n of the run: the first at once.
    const due = Math.min(lines.length, Math.floor((elapsed * lines.length) / runMs) + 1);
    const out = logs.get(key) as Array<{ at: string; line: string }>;
    const print = (upTo: number) => {
      for (; r.printed < upTo; r.printed++) {
        r.lastMs = Math.max(r.lastMs + 1, Date.now());
        out.push({ at: nano(r.lastMs), line: lines[r.printed] as string });
      }
    };
    print(due);
    if (elapsed < runMs) return;
    print(lines.length);
    running.delete(key);
    const ok = exitCode === 0;
    const terminated = {
      exitCode,
      reason: ok ? 'Completed' : 'Error',
      startedAt: st?.state?.running?.startedAt ?? now(),
      finishedAt: now(),
      containerID: `containerd://${randomBytes(8).toString('hex')}`,
    };
    sys.update('pods', {
      ...pod,
      status: {
        ...pod.status,
        phase: ok ? 'Succeeded' : 'Failed',
        containerStatuses: [{ ...st, ready: false, started: false, state: { terminated } }],
      },
    });
    const status = {
      ...job.status,
      active: 0,
      ready: 0,
      ...(ok ? { succeeded: 1, completionTime: now() } : { failed: 1 }),
    };
    status.conditions = ok
      ? [
          condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
          condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        ]
      : [
          condition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
          condition('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        ];
    sys.update('jobs', { ...job, status });
  }

  function reconcile(job: Obj): void {
    if (finished(job)) return;
    const pods = podsOf(job);
    if (!job.status?.startTime || pods.length === 0) {
      if (pods.length === 0 && !job.status?.failed && !job.status?.succeeded) createPod(job);
      return;
    }
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline !== undefined && Date.now() - Date.parse(job.status.startTime) > deadline * 1000) {
      for (const p of pods) {
        running.delete(`${p.metadata.namespace}/${p.metadata.name}`);
        sys.remove('pods', p.metadata.namespace, p.metadata.name);
      }
      const message = 'Job was active longer than specified deadline';
      sys.update('jobs', {
        ...job,
        status: {
          ...job.status,
          active: 0,
          ready: 0,
          failed: 1,
          conditions: [
            condition('FailureTarget', 'DeadlineExceeded', message),
            condition('Failed', 'DeadlineExceeded', message),
          ],
        },
      });
      return;
    }
    for (const p of pods) syncPod(job, p);
  }

  const loop = () => {
    for (const job of sys.list('jobs')) reconcile(job);
    timer = setTimeout(loop, stepMs);
    timer.unref();
  };
  loop();

  return {
    behave: (image, behaviour) => behaviours.set(image, behaviour),
    logs: (ns, pod) => logs.get(`${ns}/${pod}`),
    reset: () => {
      behaviours = new Map();
      logs = new Map();
      running = new Map();
    },
    stop: () => clearTimeout(timer),
  };
}

/** Query parameters of the pods/log subresource (PodLogOptions in the Kubernetes API reference). */
export const POD_LOG_QUERY = [
  'container',
  'follow',
  'insecureSkipTLSVerifyBackend',
  'limitBytes',
  'pretty',
  'previous',
  'sinceSeconds',
  'sinceTime',
  'stream',
  'tailLines',
  'timestamps',
];

/**
 * Answers GET .../pods/{name}/log as the API server does: 404 for a missing pod, 400 for
 * a container the pod does not have or one still waiting, else text/plain lines (with
 * RFC 3339 timestamps when asked), from sinceTime on.
 */
export function podLogAnswer(
  pod: Obj | undefined,
  query: Record<string, string>,
  lines: Array<{ at: string; line: string }> | undefined,
  problem: (p: string) => void,
): { code: number; message?: string; reason?: string; text?: string } {
  for (const q of Object.keys(query))
    if (!POD_LOG_QUERY.includes(q)) problem(`query parameter '${q}' is not part of PodLogOptions`);
  if (query.timestamps !== undefined && !['true', 'false'].includes(query.timestamps))
    problem(`timestamps=${query.timestamps} is not a boolean`);
  if (
    query.sinceTime !== undefined &&
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(query.sinceTime)
  )
    problem(`sinceTime=${query.sinceTime} is not RFC 3339`);
  if (query.sinceTime !== undefined && query.sinceSeconds !== undefined)
    problem('sinceTime and sinceSeconds are exclusive');
  if (!pod) return { code: 404, reason: 'NotFound', message: 'pods not found' };
  const containers = (pod.spec.containers as Obj[]).map((c) => c.name as string);
  const container = query.container ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container)
    return {
      code: 400,
      reason: 'BadRequest',
      message: `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(' ')}]`,
    };
  if (!containers.includes(container))
    return {
      code: 400,
      reason: 'BadRequest',
      message: `container ${container} is not valid for pod ${pod.metadata.name}`,
    };
  const st = (pod.status?.containerStatuses as Obj[] | undefined)?.find((c) => c.name === container);
  if (!st || st.state?.waiting) {
    return {
      code: 400,
      reason: 'BadRequest',
      message: `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${st?.state?.waiting?.reason ?? 'ContainerCreating'}`,
    };
  }
  const since = query.sinceTime ? Date.parse(query.sinceTime) : -Infinity;
  const shown = (lines ?? []).filter((l) => Date.parse(l.at.replace(/(\.\d{3})\d*Z$/, '$1Z')) >= since);
  return { code: 200, text: shown.map((l) => `${query.timestamps === 'true' ? `${l.at} ` : ''}${l.line}\n`).join('') };
}
