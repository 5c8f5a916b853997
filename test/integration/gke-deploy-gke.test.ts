/**
 * gke-deploy on a GKE cluster the way a workflow runs it: gcp-auth (the real bundle) makes
 * the credentials file from the job's OIDC token, then gke-deploy describes the cluster with
 * the Container API, talks to its API server with Google access tokens, and asks Managed
 * Prometheus (the Google stand-in's query API, served from a real Prometheus) for the
 * analysis. Every token is masked before anything could print it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startGoogleApis, type GoogleApis } from '../support/google-apis.js';
import { IMAGES, imageOf, NS, seedWeb } from '../support/gke-workload.js';
import { startKubeServer, type KubeServer } from '../support/kube-server.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { startMetricsLab, type MetricsLab } from '../support/prometheus.js';
import { Job } from '../support/runner.js';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/acme';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const REPO_MEMBER =
  'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/acme/webapp';
const SPEC = `
interval: 10s
failure-limit: 1
provider: prometheus
min-count: 100
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    count-query: sum(increase(http_requests_total{namespace="{{namespace}}", deployment="{{deployment}}"}[{{range}}]))
    judge: { threshold: { max: 1% } }
`;

let google: GoogleApis;
let issuer: OidcIssuer;
let kube: KubeServer;
let lab: MetricsLab;

beforeAll(async () => {
  [issuer, google, kube, lab] = await Promise.all([
    startOidcIssuer(),
    startGoogleApis(),
    startKubeServer(),
    startMetricsLab({ namespace: NS, deployments: { web: { behaviour: { errorRate: 0, latencyMs: 20 }, rps: 20 } } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([google.close(), issuer.close(), kube.close(), lab.stop()]);
});
beforeEach(() => {
  google.reset();
  kube.reset();
  kube.acceptToken((t) => google.isAccessToken(t));
  google.providers.push({
    name: PROVIDER,
    issuerUri: issuer.url,
    attributeMapping: { 'google.subject': 'assertion.sub', 'attribute.repository': 'assertion.repository' },
    attributeCondition: "assertion.repository_owner == 'acme'",
  });
  google.serviceAccounts.push({ email: SA, workloadIdentityUsers: [REPO_MEMBER] });
  google.clusters.push({
    project: 'acme-prod',
    location: 'europe-west1',
    name: 'shop',
    endpoint: new URL(kube.url).host,
    caPem: kube.caPem,
  });
  google.prometheusUpstream = lab.prometheus.url;
});
afterEach(() => {
  expect(google.violations).toEqual([]);
  expect(kube.problems).toEqual([]);
});

describe('gke-deploy: GKE access', () => {
  it("reaches the cluster through the Container API with gcp-auth's credentials, judges with Managed Prometheus, and masks every token", async () => {
    await seedWeb(kube);
    const job = new Job({ ...issuer.runnerEnv(), PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS: google.endpointsEnv });
    const auth = await job.run('gcp-auth', {
      inputs: { 'workload-identity-provider': PROVIDER, 'service-account': SA },
    });
    expect(auth.failure).toBeUndefined();
    const issuedBefore = new Set([...google.exchanges.keys(), ...google.minted.map((m) => m.token)]);

    const step = await job.run('gke-deploy', {
      inputs: {
        'project-id': 'acme-prod',
        location: 'europe-west1',
        cluster: 'shop',
        namespace: NS,
        deployment: 'web',
        image: IMAGES.v2,
        'step-duration': '10s',
        analysis: SPEC,
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('succeeded');
    expect(step.log).toContain('Cluster: GKE cluster acme-prod/europe-west1/shop.');
    expect(step.log).toMatch(/analysis run 1 \(\+10s\): pass — error-rate 0% ≤ 1% \(\d+ requests\)/);
    expect(imageOf(kube)).toBe(IMAGES.v2);

    const paths = google.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain('GET /v1/projects/acme-prod/locations/europe-west1/clusters/shop');
    expect(paths.some((p) => p.startsWith('GET /v1/projects/acme-prod/location/global/prometheus/api/v1/query'))).toBe(
      true,
    );
    // Every Google token gke-deploy minted from the credentials file (federated, then the service account's) was masked before use.
    const tokens = [
      ...google.exchanges.keys(),
      ...google.minted.filter((m) => m.kind === 'access').map((m) => m.token),
    ].filter((t) => !issuedBefore.has(t));
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const t of tokens) expect(step.masked).toContain(t);
    expect(step.leaks(tokens)).toEqual([]);
  }, 90_000);
});
