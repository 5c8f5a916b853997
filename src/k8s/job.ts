/**
 * A one-off Kubernetes Job of the new pod template (gke-deploy's pre-deploy: a database
 * migration): the target container alone, with its command / args overridden, no probes,
 * restartPolicy Never, backoffLimit 0, activeDeadlineSeconds from the timeout, and
 * labels of its own (never the Deployment's, so no Service selects the pod). Its pod's
 * log is streamed while it runs; the result is the container's exit code and reason. The
 * Job (and with it the pod) is deleted afterwards, whatever happened, also on cancel;
 * ttlSecondsAfterFinished removes it should that delete never be sent.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { isNotFound, KubeApiError, type KubeClient } from './client.js';
import { clone, JOBS, PODS, resource } from './resources.js';
import type { Container, Job, Pod, PodTemplateSpec } from './types.js';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const PRE_DEPLOY_LABEL = 'platform-actions/pre-deploy';

/** Waiting reasons a pod does not recover from by itself: the Job fails at once instead of at its deadline. */
const STUCK = [
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
];

export interface JobOptions {
  namespace: string;
  /** The Deployment it runs for: names and labels the Job. */
  owner: string;
  /** The rollout's id: the Job's name is derived from it (a re-run of the same rollout finds the same Job). */
  deploymentId: string;
  /** The new pod template; only `container` runs. */
  template: PodTemplateSpec;
  container: string;
  command: string[] | undefined;
  args: string[] | undefined;
  timeoutMs: number;
  clock?: Clock;
  /** Each line of the container's log, as it comes. */
  onLog: (line: string, at: string) => void;
  info: (line: string) => void;
  signal?: AbortSignal;
}

export interface JobResult {
  name: string;
  succeeded: boolean;
  exitCode?: number;
  /** One sentence: why it ended. */
  detail: string;
  timedOut: boolean;
  durationMs: number;
}

/** A DNS label (Job names become pod labels): the owner, `pre-deploy` and a hash of the rollout id. */
export function jobName(owner: string, deploymentId: string): string {
  const hash = createHash('sha256').update(deploymentId).digest('hex').slice(0, 8);
  return `${owner
    .slice(0, 40)
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+$/, '')}-pre-deploy-${hash}`;
}

/** The Job object: the target container of the template, overridden, as a run-to-completion pod. */
export function jobObject(
  o: Pick<JobOptions, 'owner' | 'deploymentId' | 'template' | 'container' | 'command' | 'args' | 'timeoutMs'>,
): Job {
  const name = jobName(o.owner, o.deploymentId);
  const spec = clone(o.template.spec ?? { containers: [] });
  const source = spec.containers.find((c) => c.name === o.container);
  if (!source) throw new Error(`the pod template has no container ${o.container}`);
  const container: Container = { ...source };
  delete container.livenessProbe;
  delete container.readinessProbe;
  delete container.startupProbe;
  delete container.lifecycle;
  if (o.command) container.command = o.command;
  if (o.args) container.args = o.args;
  else if (o.command) delete container.args;
  spec.containers = [container];
  spec.restartPolicy = 'Never';
  const labels = { [PRE_DEPLOY_LABEL]: name, 'app.kubernetes.io/managed-by': 'platform-actions' };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: { ...labels, 'platform-actions/owner': o.owner },
      annotations: { 'platform-actions/deployment-id': o.deploymentId },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.ceil(o.timeoutMs / 1000)),
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: {
          labels,
          ...(o.template.metadata?.annotations ? { annotations: o.template.metadata.annotations } : {}),
        },
        spec,
      },
    },
  };
}

function describeTerminated(
  t: NonNullable<NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number]['state']>['terminated'],
): string {
  if (!t) return '';
  return `exited with code ${t.exitCode}${t.reason ? ` (${t.reason}${t.message ? `: ${t.message.trim().slice(0, 200)}` : ''})` : ''}`;
}

/**
 * Creates the Job, streams its pod's log, waits until it ends or the timeout passes, and
 * deletes it. Never throws for the Job's own failure (the result says); throws for API
 * errors before the Job exists, and for cancellation (after deleting it).
 */
export async function runJob(kube: KubeClient, o: JobOptions): Promise<JobResult> {
  const clock = o.clock ?? systemClock;
  const jobs = resource(kube, JOBS, o.namespace);
  const pods = resource(kube, PODS, o.namespace);
  const job = jobObject(o);
  const name = job.metadata?.name as string;
  const started = clock.now();
  const existing = await jobs.find(name, o.signal);
  if (existing) {
    o.info(`Job ${name} of this rollout exists already (an earlier attempt): deleting it and starting again.`);
    await jobs.delete(name, { propagationPolicy: 'Background', ...(o.signal ? { signal: o.signal } : {}) });
  }
  await jobs.create(job, { ...(o.signal ? { signal: o.signal } : {}) });
  o.info(
    `Started Job ${name} (container ${o.container}${o.command ? `: ${JSON.stringify(o.command)}` : ''}${o.args ? ` ${JSON.stringify(o.args)}` : ''}); its deadline is ${formatDuration(o.timeoutMs)}.`,
  );

  let lastStamp = '';
  let podName: string | undefined;
  const readLog = async (signal?: AbortSignal) => {
    if (!podName) return;
    let text: string;
    try {
      text = await kube.request<string>({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(podName)}/log`,
        query: {
          container: o.container,
          timestamps: 'true',
          ...(lastStamp ? { sinceTime: `${lastStamp.slice(0, 19)}Z` } : {}),
        },
        text: true,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      // 400: the container has not started yet; 404: the pod is gone.
      if (isNotFound(err) || (err instanceof KubeApiError && err.httpStatus === 400)) return;
      throw err;
    }
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      const space = raw.indexOf(' ');
      const stamp = space > 0 ? raw.slice(0, space) : '';
      if (stamp && stamp <= lastStamp) continue;
      if (stamp) lastStamp = stamp;
      o.onLog(space > 0 ? raw.slice(space + 1) : raw, stamp);
    }
  };

  const finish = async (result: Omit<JobResult, 'name' | 'durationMs'>): Promise<JobResult> => {
    const cleanup = AbortSignal.timeout(30_000);
    try {
      await readLog(cleanup);
    } catch (err) {
      o.info(`Could not read the rest of the Job's log: ${errorMessage(err)}`);
    }
    try {
      if (await jobs.delete(name, { propagationPolicy: 'Background', signal: cleanup }))
        o.info(`Deleted Job ${name} and its pod.`);
    } catch (err) {
      o.info(
        `Could not delete Job ${name} (${errorMessage(err)}); its ttlSecondsAfterFinished removes it within the hour after it finished.`,
      );
    }
    return { name, durationMs: clock.now() - started, ...result };
  };

  try {
    for (let delay = 500; ; delay = Math.min(2000, delay * 1.5)) {
      await clock.sleep(delay, o.signal);
      const live = await jobs.find(name, o.signal);
      if (!live)
        return await finish({
          succeeded: false,
          timedOut: false,
          detail: `Job ${name} was deleted by someone else while it ran`,
        });
      const list = await pods.list({
        labelSelector: `${JOB_NAME_LABEL}=${name}`,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      const pod = list[0];
      if (pod?.metadata?.name) podName = pod.metadata.name;
      const status = pod?.status?.containerStatuses?.find((c) => c.name === o.container);
      if (status?.state?.running || status?.state?.terminated) await readLog(o.signal);
      const terminated = status?.state?.terminated;
      const failed = live.status?.conditions?.find(
        (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
      );
      const complete = live.status?.conditions?.find(
        (c) => (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') && c.status === 'True',
      );
      if (terminated && (terminated.exitCode !== 0 || complete)) {
        const ok = terminated.exitCode === 0;
        return await finish({
          succeeded: ok,
          exitCode: terminated.exitCode,
          timedOut: false,
          detail: `container ${o.container} ${describeTerminated(terminated)}`,
        });
      }
      if (complete) return await finish({ succeeded: true, exitCode: 0, timedOut: false, detail: 'the Job completed' });
      if (failed) {
        const timedOut = failed.reason === 'DeadlineExceeded';
        return await finish({
          succeeded: false,
          timedOut,
          detail: timedOut
            ? `it was still running after ${formatDuration(o.timeoutMs)} (DeadlineExceeded); the Job was stopped`
            : `the Job failed (${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''})`,
        });
      }
      const waiting = status?.state?.waiting;
      if (waiting?.reason && STUCK.includes(waiting.reason)) {
        return await finish({
          succeeded: false,
          timedOut: false,
          detail: `its pod never started: ${waiting.reason}${waiting.message ? ` (${waiting.message.slice(0, 200)})` : ''}`,
        });
      }
      if (clock.now() - started > o.timeoutMs + 10_000) {
        return await finish({
          succeeded: false,
          timedOut: true,
          detail: `it was still ${status?.state?.running ? 'running' : `waiting (${waiting?.reason ?? pod?.status?.phase ?? 'no pod yet'})`} after ${formatDuration(o.timeoutMs)}; the Job was stopped`,
        });
      }
    }
  } catch (err) {
    if (o.signal?.aborted) {
      await finish({ succeeded: false, timedOut: false, detail: 'cancelled' });
    }
    throw err;
  }
}
