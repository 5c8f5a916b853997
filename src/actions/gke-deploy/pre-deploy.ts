/**
 * gke-deploy's `pre-deploy`: a Kubernetes Job of the new image (a migration), run to
 * completion before the rollout changes anything. It runs after the plan is checked and
 * before the rollout record, the manifests, the Deployment or any traffic is touched; a
 * failure ends the step with all of them as they were.
 */
import { info } from '@actions/core';
import type { KubeClient } from '../../k8s/client.js';
import { runJob } from '../../k8s/job.js';
import type { PodTemplateSpec } from '../../k8s/types.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export async function runPreDeploy(
  p: NonNullable<Settings['preDeploy']>,
  o: {
    kube: KubeClient;
    namespace: string;
    deployment: string;
    template: PodTemplateSpec;
    container: string;
    deploymentId: string;
    signal: AbortSignal;
  },
): Promise<void> {
  const result = await runJob(o.kube, {
    namespace: o.namespace,
    owner: o.deployment,
    deploymentId: o.deploymentId,
    template: o.template,
    container: o.container,
    command: p.command,
    args: p.args,
    timeoutMs: p.timeoutMs,
    signal: o.signal,
    info: (l) => info(`pre-deploy: ${l}`),
    onLog: (line, at) => info(`${at ? at.slice(11, 19) : '--:--:--'} pre-deploy | ${line}`),
  });
  if (!result.succeeded) {
    throw new UserError(
      `pre-deploy Job ${result.name} failed: ${result.detail}. Nothing was deployed: the Deployment, its Services, the route and the manifests are as they were.`,
      result.timedOut
        ? 'Raise pre-deploy-timeout if it needs longer, or find what it waits for in its output above.'
        : result.detail.includes('never started')
          ? 'Check the image (name, pull access from the cluster) and what the pod needs (Secrets, ConfigMaps); kubectl describe pod shows the same reason.'
          : 'Read its output above, fix the migration (or what it needs), then deploy again. If it changed the database before failing, check that first.',
    );
  }
  info(`pre-deploy: Job ${result.name} exited with 0 after ${formatDuration(result.durationMs)}.`);
}
