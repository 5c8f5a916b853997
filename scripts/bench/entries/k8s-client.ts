/**
 * Bench entry: the Kubernetes client and the GKE pieces of gcp/ alone, statically
 * imported. With BENCH_KUBECONFIG set it lists Deployments once and exits.
 */
import { googleTokenSource } from '../../../src/gcp/access-token.js';
import { createCloudMonitoringProvider } from '../../../src/gcp/cloud-monitoring.js';
import { clusterAccess } from '../../../src/gcp/container.js';
import { KubeClient } from '../../../src/k8s/client.js';
import { setRouteWeights } from '../../../src/k8s/http-route.js';
import { loadKubeconfig } from '../../../src/k8s/kubeconfig.js';
import { applyManifests } from '../../../src/k8s/manifests.js';
import { DEPLOYMENTS, resource } from '../../../src/k8s/resources.js';
import { rollbackTo, waitForRollout } from '../../../src/k8s/rollout.js';

// Referenced so the bundler keeps everything a deploy would use.
export const used = [
  googleTokenSource,
  createCloudMonitoringProvider,
  clusterAccess,
  setRouteWeights,
  applyManifests,
  rollbackTo,
  waitForRollout,
];

const path = process.env.BENCH_KUBECONFIG;
if (path) {
  const kube = new KubeClient(loadKubeconfig({ path }));
  await resource(kube, DEPLOYMENTS, 'default').list();
  kube.close();
}
