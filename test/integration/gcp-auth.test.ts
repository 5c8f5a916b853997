import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startGoogleApis, type GoogleApis } from '../support/google-apis.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { Job } from '../support/runner.js';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/acme';
const SA = 'deployer@acme-prod.iam.gserviceaccount.com';
const REPO_MEMBER =
  'principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/acme/webapp';
let google: GoogleApis;
let issuer: OidcIssuer;

function job(env: Record<string, string> = {}): Job {
  return new Job({ ...issuer.runnerEnv(), PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS: google.endpointsEnv, ...env });
}
const inputs = (extra: Record<string, string> = {}) => ({
  'workload-identity-provider': PROVIDER,
  'service-account': SA,
  ...extra,
});

beforeAll(async () => {
  issuer = await startOidcIssuer();
  google = await startGoogleApis();
});
afterAll(async () => {
  await google.close();
  await issuer.close();
});
beforeEach(() => {
  google.reset();
  issuer.issued.length = 0;
  issuer.job = { ...issuer.job, environment: undefined };
  google.providers.push({
    name: PROVIDER,
    issuerUri: issuer.url,
    attributeMapping: {
      'google.subject': 'assertion.sub',
      'attribute.repository': 'assertion.repository',
      'attribute.ref': 'assertion.ref',
    },
    attributeCondition: "assertion.repository_owner == 'acme'",
  });
  google.serviceAccounts.push({ email: SA, workloadIdentityUsers: [REPO_MEMBER] });
});

describe('gcp-auth', () => {
  it('impersonates the service account and writes a credentials file that re-mints tokens by itself', async () => {
    const j = job();
    const step = await j.run('gcp-auth', { inputs: inputs() });
    expect(step.failure).toBeUndefined();
    expect(google.violations).toEqual([]);

    // The exchange request, field by field.
    const exchange = google.requests.find((r) => r.path === '/v1/token');
    expect(exchange?.body).toEqual({
      audience: `//iam.googleapis.com/${PROVIDER}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken: expect.stringMatching(/^ey/),
    });
    expect(issuer.issued).toEqual([`https://iam.googleapis.com/${PROVIDER}`]);
    expect(google.minted).toEqual([expect.objectContaining({ serviceAccount: SA, kind: 'access', lifetime: '3600s' })]);

    // The file: outside the workspace, 0600, external_account, exported.
    const file = step.outputs['credentials-file-path'] as string;
    expect(file.startsWith(j.temp)).toBe(true);
    expect(file.startsWith(j.workspace)).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      type: 'external_account',
      audience: `//iam.googleapis.com/${PROVIDER}`,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${google.url}/v1/token`,
      service_account_impersonation_url: `${google.url}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: {
        headers: { Authorization: `Bearer ${issuer.requestToken}` },
        format: { type: 'json', subject_token_field_name: 'value' },
      },
    });
    for (const name of [
      'GOOGLE_APPLICATION_CREDENTIALS',
      'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE',
      'GOOGLE_GHA_CREDS_PATH',
    ])
      expect(step.exported[name]).toBe(file);
    for (const name of ['CLOUDSDK_CORE_PROJECT', 'GCLOUD_PROJECT', 'GOOGLE_CLOUD_PROJECT'])
      expect(step.exported[name]).toBe('acme-prod');
    expect(step.outputs['project-id']).toBe('acme-prod');

    // Secrets: none printed before masking, none in the summary.
    const secrets = [
      issuer.requestToken,
      exchange?.body.subjectToken as string,
      ...google.minted.map((m) => m.token),
      ...google.exchanges.keys(),
    ];
    expect(step.masked).toEqual(expect.arrayContaining(secrets));
    expect(step.leaks(secrets)).toEqual([]);
    for (const s of secrets) expect(step.summary).not.toContain(s);
    expect(step.summary).toContain(SA);

    // Follow the file the way a Google client library does: it works with no help from the action.
    const source = config.credential_source as { url: string; headers: Record<string, string> };
    const subject = ((await (await fetch(source.url, { headers: source.headers })).json()) as { value: string }).value;
    const fed = (await (
      await fetch(config.token_url as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          audience: config.audience,
          grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
          requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
          scope: 'https://www.googleapis.com/auth/cloud-platform',
          subjectTokenType: config.subject_token_type,
          subjectToken: subject,
        }),
      })
    ).json()) as { access_token: string };
    const sa = await fetch(config.service_account_impersonation_url as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fed.access_token}` },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s' }),
    });
    expect(sa.status).toBe(200);

    const post = await j.post(step);
    expect(post.exitCode).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(j.env.GOOGLE_APPLICATION_CREDENTIALS).toBe('');
  });

  it('outputs an access token with the requested lifetime and scopes', async () => {
    const step = await job().run('gcp-auth', {
      inputs: inputs({
        'token-format': 'access_token',
        'access-token-lifetime': '10m',
        'access-token-scopes':
          'https://www.googleapis.com/auth/cloud-platform\nhttps://www.googleapis.com/auth/userinfo.email',
        'create-credentials-file': 'false',
      }),
    });
    expect(step.failure).toBeUndefined();
    const minted = google.minted[0];
    expect(minted).toMatchObject({
      lifetime: '600s',
      scope: ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/userinfo.email'],
    });
    expect(step.outputs['access-token']).toBe(minted?.token);
    const left = Date.parse(step.outputs['access-token-expiration'] ?? '') - Date.now();
    expect(left).toBeGreaterThan(8 * 60_000);
    expect(left).toBeLessThanOrEqual(10 * 60_000);
    expect(step.leaks([minted?.token ?? 'x'])).toEqual([]);
    expect(step.outputs['credentials-file-path']).toBeUndefined();
    expect(step.exported.GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
  });

  it('outputs a Google-signed ID token for the audience', async () => {
    const step = await job().run('gcp-auth', {
      inputs: inputs({
        'token-format': 'id_token',
        'id-token-audience': 'https://api.example.run.app',
        'id-token-include-email': 'true',
      }),
    });
    expect(step.failure).toBeUndefined();
    const token = step.outputs['id-token'] as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ aud: 'https://api.example.run.app', email: SA, iss: 'https://accounts.google.com' });
    expect(step.masked).toContain(token);
  });

  it('federates directly without a service account, and warns that the token dies with the GitHub token', async () => {
    const step = await job().run('gcp-auth', {
      inputs: { 'workload-identity-provider': PROVIDER, 'token-format': 'access_token', 'project-id': 'acme-dev-1' },
    });
    expect(step.failure).toBeUndefined();
    expect(google.minted).toEqual([]);
    expect(step.outputs['access-token']).toMatch(/^ya29\.fed-/);
    expect(
      step.annotations.find(
        (a) => a.level === 'warning' && /direct-federation access token expires in/.test(a.message),
      ),
    ).toBeDefined();
    expect(step.exported.GOOGLE_CLOUD_PROJECT).toBe('acme-dev-1');
    const config = JSON.parse(readFileSync(step.outputs['credentials-file-path'] as string, 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config.service_account_impersonation_url).toBeUndefined();
  });

  it('explains an attribute-condition refusal with the claims and a condition that admits the job', async () => {
    (google.providers[0] as { attributeCondition?: string }).attributeCondition =
      "assertion.ref == 'refs/heads/release'";
    const step = await job().run('gcp-auth', { inputs: inputs() });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("the provider's attribute condition rejects it");
    expect(step.failure).toContain('ref: refs/heads/main');
    expect(step.failure).toContain('repository: acme/webapp');
    const suggested = /admits exactly this job:\n\s+(.+)\n/.exec(step.failure ?? '')?.[1] ?? '';
    expect(suggested).toBe("assertion.repository == 'acme/webapp' && assertion.ref == 'refs/heads/main'");
    (google.providers[0] as { attributeCondition?: string }).attributeCondition = suggested;
    expect((await job().run('gcp-auth', { inputs: inputs() })).failure).toBeUndefined();
  });

  it('explains a missing workloadIdentityUser binding with the command that grants it', async () => {
    (google.serviceAccounts[0] as { workloadIdentityUsers: string[] }).workloadIdentityUsers = [];
    const step = await job().run('gcp-auth', { inputs: inputs() });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(`may not impersonate ${SA}`);
    const member = /--member="([^"]+)"/.exec(step.failure ?? '')?.[1];
    expect(member).toBe(REPO_MEMBER);
    (google.serviceAccounts[0] as { workloadIdentityUsers: string[] }).workloadIdentityUsers = [member as string];
    expect((await job().run('gcp-auth', { inputs: inputs() })).failure).toBeUndefined();
  });

  it('explains an audience the provider does not accept', async () => {
    const step = await job().run('gcp-auth', { inputs: inputs({ audience: 'my-audience' }) });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("Google refused the token's audience 'my-audience'");
  });

  it('explains an unknown or disabled provider', async () => {
    (google.providers[0] as { disabled?: boolean }).disabled = true;
    const step = await job().run('gcp-auth', { inputs: inputs() });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(`Google does not know the provider ${PROVIDER}, or it is disabled`);
  });

  it('tells a job without id-token permission how to get it', async () => {
    const step = await new Job({ PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS: google.endpointsEnv }).run('gcp-auth', {
      inputs: inputs(),
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('id-token: write');
    expect(google.requests).toEqual([]);
  });

  it('refuses to write the credentials file inside the workspace', async () => {
    const j = job();
    const inside = join(j.workspace, 'tmp');
    mkdirSync(inside);
    const step = await j.run('gcp-auth', { inputs: inputs(), env: { RUNNER_TEMP: inside } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('is inside the workspace');
  });

  it.each([
    [{ 'workload-identity-provider': 'github/acme' }, "is not a provider's full resource name"],
    [
      {
        'workload-identity-provider': 'projects/acme-prod/locations/global/workloadIdentityPools/github/providers/acme',
      },
      "uses the project id 'acme-prod'",
    ],
    [{ 'service-account': 'deployer' }, "service-account 'deployer' is not a service account email"],
    [
      { 'service-account': '', 'token-format': 'id_token', 'id-token-audience': 'x' },
      'token-format id_token needs service-account',
    ],
    [{ 'token-format': 'id_token' }, 'token-format id_token needs id-token-audience'],
    [{ 'token-format': 'jwt' }, "Input 'token-format' must be one of 'access_token', 'id_token', not 'jwt'"],
    [{ 'access-token-lifetime': '13h' }, 'access-token-lifetime must be between 1s and 12h'],
    [{ 'access-token-lifetime': 'an hour' }, "Input 'access-token-lifetime' is not a duration"],
    [{ 'access-token-scopes': 'cloud-platform' }, "'cloud-platform' is not an OAuth scope"],
    [{ 'project-id': 'Acme_Prod' }, "project-id 'Acme_Prod' is not a project id"],
    [{ 'service-account': '', delegates: SA }, 'delegates needs service-account'],
    [{ 'create-credentials-file': 'maybe' }, "Input 'create-credentials-file' must be true or false"],
  ])('rejects bad input %j before any request', async (bad, expected) => {
    const step = await job().run('gcp-auth', { inputs: inputs(bad) });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(expected);
    expect(issuer.issued).toEqual([]);
    expect(google.requests).toEqual([]);
  });
});
