import { info } from '@actions/core';
import { createAnalysis } from '../../../../src/analysis/analysis.js';
import { createPrometheusProvider } from '../../../../src/analysis/prometheus.js';
import { defaultAnalysisSpec } from '../../../../src/analysis/spec.js';
import { googleTokenSource } from '../../../../src/gcp/access-token.js';
import { createCloudMonitoringProvider } from '../../../../src/gcp/cloud-monitoring.js';
import { clusterAccess } from '../../../../src/gcp/container.js';
import { KubeClient } from '../../../../src/k8s/client.js';
import { setRouteWeights } from '../../../../src/k8s/http-route.js';
import { loadKubeconfig } from '../../../../src/k8s/kubeconfig.js';
import { applyManifests } from '../../../../src/k8s/manifests.js';
import { DEPLOYMENTS, resource } from '../../../../src/k8s/resources.js';
import { rollbackTo, waitForRollout } from '../../../../src/k8s/rollout.js';

export const used = [googleTokenSource, createCloudMonitoringProvider, clusterAccess, setRouteWeights, applyManifests, rollbackTo, waitForRollout, createPrometheusProvider];

/** Builds the analysis and lists the Deployments once: the work before a rollout's first change. */
export async function main(settings: { kubeconfig: string }): Promise<void> {
  createAnalysis(defaultAnalysisSpec('prometheus'), { providers: { prometheus: createPrometheusProvider({ url: 'http://127.0.0.1:9' }) } });
  const kube = new KubeClient(loadKubeconfig({ path: settings.kubeconfig }));
  const items = await resource(kube, DEPLOYMENTS, 'default').list();
  kube.close();
  info(`${items.length} deployments`);
}
