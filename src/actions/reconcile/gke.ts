import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { info, setSecret } from '@actions/core';
import { createAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { Analysis, MetricProvider } from '../../analysis/types.js';
import { clusterRef } from '../../gcp/container.js';
import { connectCluster, lazyGoogleTokens, type ClusterTarget } from '../../gcp/gke-connection.js';
import { UserError } from '../../util/errors.js';
import type { PlatformScan } from './platform.js';
import type { GkeScope, Settings } from './settings.js';

const PROJECT_VARIABLES = [
  'GOOGLE_CLOUD_PROJECT',
  'CLOUDSDK_CORE_PROJECT',
  'CLOUDSDK_PROJECT',
  'GCLOUD_PROJECT',
  'GCP_PROJECT',
];

const noGkeCluster = (): UserError =>
  new UserError(
    'Reconciling on GKE needs the cluster: cluster and kubeconfig are empty, and there is no KUBECONFIG or ~/.kube/config.',
    'Give project-id, location and cluster (run gcp-auth earlier in the job), or kubeconfig: the path of a kubeconfig.',
  );

export async function scanGkeScope(scope: GkeScope, s: Settings, signal: AbortSignal): Promise<PlatformScan> {
  if (
    !scope.cluster &&
    !scope.kubeconfig &&
    !process.env.KUBECONFIG &&
    !existsSync(join(process.env.HOME ?? homedir(), '.kube', 'config'))
  ) {
    throw noGkeCluster();
  }
  const cluster: ClusterTarget = scope.cluster
    ? {
        kind: 'gke',
        ref: clusterRef(
          scope.projectId ?? PROJECT_VARIABLES.map((v) => process.env[v]).find(Boolean),
          scope.location,
          scope.cluster,
        ),
      }
    : { kind: 'kubeconfig', path: scope.kubeconfig };
  const { KubeClient } = await import('../../k8s/client.js');
  const { scanKube, KUBE_LABELS } = await import('../../k8s/reconcile-scan.js');
  const connection = await connectCluster(cluster, {
    google: lazyGoogleTokens(setSecret),
    onToken: setSecret,
    signal,
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
  const kube = new KubeClient(connection);
  const scan = await scanKube({
    kube,
    namespaces: scope.namespaces,
    waitTimeoutMs: s.restoreTimeoutMs,
    log: info,
    signal,
  });
  const providers: Record<string, MetricProvider> = {};
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  const text = s.analysis.trim();
  let analysis: Analysis | undefined | null = null;
  const analysisFor = () => {
    if (analysis !== null) return analysis;
    analysis =
      text === 'none' || (text === '' && !providers.prometheus)
        ? undefined
        : createAnalysis(
            parseAnalysisSpec(text, {
              ...(providers.prometheus ? { defaultProvider: 'prometheus' } : {}),
              providers: Object.keys(providers),
              labels: [...KUBE_LABELS],
            }),
            { providers },
          );
    return analysis;
  };
  return {
    seen: scan.deployments,
    calls: 0,
    items: scan.findings.map((f) => {
      const subjects = f.subjects;
      return {
        where: `${f.namespace}/${f.deployment}`,
        service: f.deployment,
        found: f,
        ...(f.target ? { target: f.target } : {}),
        ...(f.retire ? { retire: f.retire } : {}),
        ...(subjects ? { subjects: async () => subjects } : {}),
        analysis: analysisFor,
      };
    }),
    close: () => kube.close(),
  };
}
