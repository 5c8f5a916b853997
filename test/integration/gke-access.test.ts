/**
 * From gcp-auth's credentials file to a Kubernetes API call, the way gke-deploy will do
 * it: GitHub OIDC token (test issuer) → Google STS → IAM Credentials (stand-ins that
 * verify every field) → Container API cluster endpoint and CA → the stand-in Kubernetes
 * API server, which accepts only access tokens the Google stand-in issued.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { googleTokenSource } from '../../src/gcp/access-token.js';
import { clusterAccess, clusterRef } from '../../src/gcp/container.js';
import { externalAccountConfig } from '../../src/gcp/credentials-file.js';
import { TEST_ENDPOINTS_VARIABLE } from '../../src/gcp/endpoints.js';
import { parseProviderName } from '../../src/gcp/workload-identity.js';
import { connectionTo, KubeClient } from '../../src/k8s/client.js';
import { loadKubeconfig } from '../../src/k8s/kubeconfig.js';
import { DEPLOYMENTS, resource } from '../../src/k8s/resources.js';
import { UserError } from '../../src/util/errors.js';
import { startGoogleApis, type GoogleApis } from '../support/google-apis.js';
import { startKubeServer, type KubeServer } from '../support/kube-server.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/acme';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const REPO_MEMBER =
  'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/acme/webapp';
const REF = { project: 'acme-prod', location: 'europe-west1', cluster: 'shop' };

let google: GoogleApis;
let issuer: OidcIssuer;
let kube: KubeServer;
const saved = process.env[TEST_ENDPOINTS_VARIABLE];

/** The credentials file gcp-auth writes, by the code gcp-auth uses. */
function credentialsFile(serviceAccount: string | undefined): string {
  const env = issuer.runnerEnv();
  const config = externalAccountConfig({
    provider: parseProviderName(PROVIDER),
    audience: `https://iam.googleapis.com/${PROVIDER}`,
    tokenRequestUrl: env.ACTIONS_ID_TOKEN_REQUEST_URL as string,
    tokenRequestToken: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN as string,
    serviceAccount,
    lifetimeSeconds: 3600,
  });
  const path = join(mkdtempSync(join(tmpdir(), 'pa-creds-')), 'creds.json');
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  [issuer, google, kube] = await Promise.all([startOidcIssuer(), startGoogleApis(), startKubeServer()]);
  process.env[TEST_ENDPOINTS_VARIABLE] = google.endpointsEnv;
  kube.acceptToken((t) => google.isAccessToken(t));
});
afterAll(async () => {
  process.env[TEST_ENDPOINTS_VARIABLE] = saved;
  await Promise.all([google.close(), issuer.close(), kube.close()]);
});
beforeEach(() => {
  google.reset();
  issuer.issued.length = 0;
  google.providers.push({
    name: PROVIDER,
    issuerUri: issuer.url,
    attributeMapping: { 'google.subject': 'assertion.sub', 'attribute.repository': 'assertion.repository' },
    attributeCondition: "assertion.repository_owner == 'acme'",
  });
  google.serviceAccounts.push({ email: SA, workloadIdentityUsers: [REPO_MEMBER] });
  google.clusters.push({
    project: REF.project,
    location: REF.location,
    name: REF.cluster,
    endpoint: new URL(kube.url).host,
    caPem: kube.caPem,
  });
});
afterEach(() => {
  expect(google.violations).toEqual([]);
  expect(kube.problems).toEqual([]);
  kube.reset();
  kube.acceptToken((t) => google.isAccessToken(t));
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('access tokens from the gcp-auth credentials file', () => {
  it('re-mints through STS and the service account, masks each token, and keeps it while it is fresh', async () => {
    const masked: string[] = [];
    const source = googleTokenSource({ path: credentialsFile(SA), onToken: (t) => masked.push(t) });
    expect(source.identity).toBe(SA);
    const [a, b] = await Promise.all([source.token(), source.token()]);
    expect(a).toBe(b);
    expect(await source.token()).toBe(a);
    expect(issuer.issued).toEqual([`https://iam.googleapis.com/${PROVIDER}`]);
    expect(google.minted).toEqual([
      expect.objectContaining({
        serviceAccount: SA,
        kind: 'access',
        token: a,
        lifetime: '3600s',
        scope: ['https://www.googleapis.com/auth/cloud-platform'],
      }),
    ]);
    expect(masked).toHaveLength(2);
    expect(masked[1]).toBe(a);
  });

  it('direct federation uses the STS token itself', async () => {
    const source = googleTokenSource({ path: credentialsFile(undefined) });
    expect(source.identity).toBe(`the federated identity of ${PROVIDER}`);
    const token = await source.token();
    expect(google.exchanges.has(token)).toBe(true);
    expect(google.minted).toEqual([]);
  });

  it('without gcp-auth, or with a key file, says what to run', () => {
    let missing: UserError | undefined;
    try {
      googleTokenSource({ env: {} });
    } catch (err) {
      missing = err as UserError;
    }
    expect(missing?.message).toBe(
      'No Google credentials are available to this step (GOOGLE_APPLICATION_CREDENTIALS is not set).',
    );
    expect(missing?.hint).toMatch(/Run platform-actions gcp-auth/);
    const key = join(mkdtempSync(join(tmpdir(), 'pa-key-')), 'key.json');
    writeFileSync(key, JSON.stringify({ type: 'service_account', private_key: 'x' }));
    expect(() => googleTokenSource({ path: key })).toThrow(
      /is of type 'service_account'; platform-actions uses Workload Identity Federation/,
    );
  });

  it('a service account that does not trust the repository is explained', async () => {
    google.serviceAccounts[0] = { email: SA, workloadIdentityUsers: [] };
    const err = (await failure(googleTokenSource({ path: credentialsFile(SA) }).token())) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.hint).toMatch(/roles\/iam\.workloadIdentityUser/);
  });
});

describe('GKE cluster access', () => {
  it('reads the endpoint and CA from the Container API and talks to the cluster with the same tokens', async () => {
    const source = googleTokenSource({ path: credentialsFile(SA) });
    const access = await clusterAccess(clusterRef(REF.project, REF.location, REF.cluster), await source.token());
    expect(access).toEqual({
      server: kube.url,
      caPem: kube.caPem,
      status: 'RUNNING',
      version: '1.32.4-gke.1106000',
      description: 'GKE cluster acme-prod/europe-west1/shop',
    });
    const request = google.requests.find((r) => r.path.includes('/clusters/'));
    expect(request).toEqual({
      method: 'GET',
      path: '/v1/projects/acme-prod/locations/europe-west1/clusters/shop',
      query: {},
      body: {},
    });

    const client = new KubeClient(connectionTo({ ...access, token: () => source.token() }));
    try {
      expect(await resource(client, DEPLOYMENTS, 'shop').list()).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a kubeconfig written by gcloud (gke-gcloud-auth-plugin) works with the same tokens', async () => {
    const source = googleTokenSource({ path: credentialsFile(SA) });
    const client = new KubeClient(
      loadKubeconfig({ path: kube.kubeconfig({ auth: 'gke' }), googleToken: () => source.token() }),
    );
    try {
      expect(await resource(client, DEPLOYMENTS, 'shop').list()).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a cluster with only the DNS endpoint is reached by name with public roots', async () => {
    google.clusters[0] = {
      ...(google.clusters[0] as (typeof google.clusters)[0]),
      dnsEndpoint: 'gke-0123456789abcdef.europe-west1.gke.goog',
    };
    const access = await clusterAccess(REF, await googleTokenSource({ path: credentialsFile(SA) }).token());
    expect(access).toMatchObject({ server: 'https://gke-0123456789abcdef.europe-west1.gke.goog' });
    expect(access.caPem).toBeUndefined();
  });

  it('missing clusters, refused permissions and clusters that are not running are explained', async () => {
    const token = await googleTokenSource({ path: credentialsFile(SA) }).token();
    const missing = (await failure(clusterAccess({ ...REF, cluster: 'nope' }, token))) as UserError;
    expect(missing.message).toMatch(/There is no GKE cluster nope in project acme-prod, location europe-west1/);
    expect(missing.hint).toMatch(/gcloud container clusters list --project acme-prod/);

    google.clusters[0] = { ...(google.clusters[0] as (typeof google.clusters)[0]), status: 'PROVISIONING' };
    expect((await failure(clusterAccess(REF, token))).message).toMatch(
      /is PROVISIONING, so it cannot take a deploy now/,
    );

    google.deniedPermissions.add('container.clusters.get');
    const denied = (await failure(clusterAccess(REF, token))) as UserError;
    expect(denied.hint).toMatch(/roles\/container\.clusterViewer/);

    expect((await failure(clusterAccess(REF, 'ya29.forged'))).message).toMatch(/did not accept the access token/);
  });

  it('checks the cluster inputs before any call', () => {
    expect(clusterRef(undefined, undefined, 'projects/p-123456/locations/us-central1-a/clusters/c1')).toEqual({
      project: 'p-123456',
      location: 'us-central1-a',
      cluster: 'c1',
    });
    expect(() => clusterRef('acme-prod', 'europe', 'shop')).toThrow(
      /location 'europe' is not a Google Cloud region or zone/,
    );
    expect(() => clusterRef(undefined, 'europe-west1', 'shop')).toThrow(/needs project-id/);
    expect(() => clusterRef('acme-prod', 'europe-west1', 'Shop_1')).toThrow(/is not a GKE cluster name/);
    expect(google.requests).toEqual([]);
  });
});
