import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setSecret } from '@actions/core';
import type { RollbackOptions, RollbackOutcome } from '../../delivery/rollback.js';
import { clusterRef } from '../../gcp/container.js';
import { connectCluster, lazyGoogleTokens, type ClusterTarget } from '../../gcp/gke-connection.js';
import { UserError } from '../../util/errors.js';
import type { GkeRollbackTarget } from './settings.js';

/** Variables gcp-auth exports the project in. */
const PROJECT_VARIABLES = [
  'GOOGLE_CLOUD_PROJECT',
  'CLOUDSDK_CORE_PROJECT',
  'CLOUDSDK_PROJECT',
  'GCLOUD_PROJECT',
  'GCP_PROJECT',
];

const noClusterForRollback = (target: GkeRollbackTarget): UserError =>
  new UserError(
    `Rolling back GKE Deployment ${target.namespace}/${target.deployment} needs its cluster: cluster and kubeconfig are empty, and there is no KUBECONFIG or ~/.kube/config.`,
    'Give project-id, location and cluster (run gcp-auth earlier in the job), or kubeconfig: the path of a kubeconfig.',
  );

/** GKE: undo an unfinished rollout from its record, switch back to a kept blue, or return the Deployment to the previous / a given revision. */
export async function rollbackGke(target: GkeRollbackTarget, options: RollbackOptions): Promise<RollbackOutcome> {
  if (
    !target.cluster &&
    !target.kubeconfig &&
    !process.env.KUBECONFIG &&
    !existsSync(join(process.env.HOME ?? homedir(), '.kube', 'config'))
  ) {
    throw noClusterForRollback(target);
  }
  const cluster: ClusterTarget = target.cluster
    ? {
        kind: 'gke',
        ref: clusterRef(
          target.projectId ?? PROJECT_VARIABLES.map((v) => process.env[v]).find(Boolean),
          target.location,
          target.cluster,
        ),
      }
    : { kind: 'kubeconfig', path: target.kubeconfig };
  const { KubeClient } = await import('../../k8s/client.js');
  const { rollbackKubeDeployment } = await import('../../k8s/rollback.js');
  const connection = await connectCluster(cluster, {
    google: lazyGoogleTokens(setSecret),
    onToken: setSecret,
    ...(options.signal ? { signal: options.signal } : {}),
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
  const kube = new KubeClient(connection);
  try {
    return await rollbackKubeDeployment({
      ...options,
      kube,
      namespace: target.namespace,
      deployment: target.deployment,
      to: target.to,
      httpRoute: target.httpRoute,
      allowAnyRevision: target.allowAnyRevision,
    });
  } finally {
    kube.close();
  }
}
