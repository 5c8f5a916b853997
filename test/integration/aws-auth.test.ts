import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { motoClientConfig, useMoto } from '../support/moto.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { Job, type StepResult } from '../support/runner.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/github-deploy`;
const moto = useMoto();
let issuer: OidcIssuer;
let proxy: AwsProxy;
let iam: IAMClient;

function trustPolicy(sub: string, host: string) {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' }, StringLike: { [`${host}:sub`]: sub } },
      },
    ],
  });
}

async function createRole(name: string, sub: string): Promise<void> {
  const host = issuer.url.replace(/^https?:\/\//, '');
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicy(sub, host) }));
}

function newJob(env: Record<string, string> = {}): Job {
  return new Job({ ...issuer.runnerEnv(), AWS_ENDPOINT_URL: proxy.url, ...env });
}

const inputs = (extra: Record<string, string> = {}) => ({
  'role-to-assume': ROLE,
  'aws-region': 'eu-west-1',
  ...extra,
});

function credentialsOf(step: StepResult): string[] {
  return [step.exported.AWS_ACCESS_KEY_ID, step.exported.AWS_SECRET_ACCESS_KEY, step.exported.AWS_SESSION_TOKEN].filter(
    (v): v is string => Boolean(v),
  );
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  proxy = await startAwsProxy(moto);
  iam = new IAMClient(motoClientConfig(moto));
});

afterAll(async () => {
  iam.destroy();
  await proxy.close();
  await issuer.close();
});

beforeEach(async () => {
  proxy.reset();
  issuer.issued.length = 0;
  issuer.job = { ...issuer.job, environment: undefined, eventName: 'push', ref: 'refs/heads/main' };
  await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: issuer.url,
      ClientIDList: ['sts.amazonaws.com'],
      ThumbprintList: ['a'.repeat(40)],
    }),
  );
  await createRole('github-deploy', 'repo:acme/webapp:ref:refs/heads/main');
});

describe('aws-auth', () => {
  it('exchanges the OIDC token for working role credentials, masks them, and blanks them in post', async () => {
    const job = newJob();
    const step = await job.run('aws-auth', { inputs: inputs() });

    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(issuer.issued).toEqual(['sts.amazonaws.com']);
    expect(step.outputs['aws-account-id']).toBe(ACCOUNT);
    expect(step.outputs['aws-role-arn']).toBe(ROLE);
    expect(step.outputs['aws-assumed-role-arn']).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/github-deploy/gha-webapp-4242-1`,
    );
    expect(Date.parse(step.outputs['aws-expiration'] ?? '')).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(step.outputs).not.toHaveProperty('aws-secret-access-key');
    expect(step.exported.AWS_REGION).toBe('eu-west-1');
    expect(step.exported.AWS_DEFAULT_REGION).toBe('eu-west-1');

    const creds = credentialsOf(step);
    expect(creds).toHaveLength(3);
    expect(step.masked).toEqual(expect.arrayContaining(creds));
    expect(step.leaks(creds)).toEqual([]);
    for (const secret of creds) {
      expect(step.summary).not.toContain(secret);
      expect(step.log).not.toContain(secret);
    }
    expect(step.summary).toContain('github-deploy');
    expect(step.summary).toContain('gha-webapp-4242-1');

    // The exported credentials are real: moto knows them as the assumed role.
    const sts = new STSClient({
      ...motoClientConfig(moto),
      credentials: {
        accessKeyId: step.exported.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: step.exported.AWS_SECRET_ACCESS_KEY as string,
        sessionToken: step.exported.AWS_SESSION_TOKEN as string,
      },
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    expect(who.Arn).toBe(step.outputs['aws-assumed-role-arn']);

    const post = await job.post(step);
    expect(post.exitCode).toBe(0);
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
    ]) {
      expect(job.env[name]).toBe('');
    }
  });

  it('sets credential outputs only when asked, masked before they are written', async () => {
    const step = await newJob().run('aws-auth', {
      inputs: inputs({ 'output-credentials': 'true', 'export-env': 'false' }),
    });
    expect(step.exitCode).toBe(0);
    expect(step.exported).toEqual({});
    const values = [
      step.outputs['aws-access-key-id'],
      step.outputs['aws-secret-access-key'],
      step.outputs['aws-session-token'],
    ];
    expect(values.every((v) => typeof v === 'string' && v.length > 10)).toBe(true);
    expect(step.masked).toEqual(expect.arrayContaining(values as string[]));
    expect(step.leaks(values as string[])).toEqual([]);
  });

  it('accepts a job bound to an environment when the trust policy names it', async () => {
    await createRole('prod-deploy', 'repo:acme/webapp:environment:production');
    issuer.job = { ...issuer.job, environment: 'production' };
    const step = await newJob().run('aws-auth', {
      inputs: inputs({
        'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/prod-deploy`,
        'role-session-name': 'release-7',
      }),
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs['aws-assumed-role-arn']).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/prod-deploy/release-7`);
  });

  it('explains AccessDenied with the token claims and a trust policy that would match, without retrying it', async () => {
    await createRole('prod-only', 'repo:acme/webapp:environment:production');
    const step = await newJob().run('aws-auth', {
      inputs: inputs({ 'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/prod-only` }),
    });

    expect(step.exitCode).toBe(1);
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(1);
    const message = step.failure ?? '';
    expect(message).toContain('AccessDenied');
    expect(message).toContain('sub: repo:acme/webapp:ref:refs/heads/main');
    expect(message).toContain('aud: sts.amazonaws.com');
    expect(message).toContain('repository: acme/webapp');
    expect(message).toContain('job_workflow_ref: acme/webapp/.github/workflows/release.yml@refs/heads/main');
    // The suggested statement, applied as the role's trust policy, lets the job in.
    const suggested = JSON.parse(/(\{[\s\S]*\})\nFor more environments/.exec(message)?.[1] ?? '{}') as object;
    expect(JSON.stringify(suggested)).not.toContain('StringLike');
    expect(message).toContain('repository_id: 2000');
    expect(message).toContain('repository_owner_id: 1000');
    expect(message).toContain('repository_owner_id:1000:repository_id:2000:environment:NAME');
    expect(message).toContain('WARNING: repo:acme/webapp:ref:refs/heads/main names no environment');
    await iam.send(new CreateRoleCommand({ RoleName: 'fixed', AssumeRolePolicyDocument: JSON.stringify(suggested) }));
    const retry = await newJob().run('aws-auth', {
      inputs: inputs({ 'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/fixed` }),
    });
    expect(retry.failure).toBeUndefined();
    expect(retry.exitCode).toBe(0);
  });

  it("warns when the refused subject is a pull request's, and proposes only that exact subject", async () => {
    await createRole('pr-refused', 'repo:acme/webapp:environment:production');
    issuer.job = { ...issuer.job, eventName: 'pull_request', ref: 'refs/pull/7/merge' };
    const step = await newJob().run('aws-auth', {
      inputs: inputs({ 'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/pr-refused` }),
    });
    expect(step.exitCode).toBe(1);
    const message = step.failure ?? '';
    expect(message).toContain("WARNING: repo:acme/webapp:pull_request is a pull request's subject");
    expect(message).toContain('never on one that deploys');
    const suggested = JSON.parse(/(\{[\s\S]*\})\nFor more environments/.exec(message)?.[1] ?? '{}') as {
      Statement: Array<{ Condition: Record<string, Record<string, string>> }>;
    };
    expect(suggested.Statement[0]?.Condition).toEqual({
      StringEquals: {
        [`${issuer.url.replace(/^https?:\/\//, '')}:aud`]: 'sts.amazonaws.com',
        [`${issuer.url.replace(/^https?:\/\//, '')}:sub`]: 'repo:acme/webapp:pull_request',
      },
    });
    // The exact subject admits the pull request's job and nothing else: main's push is still refused.
    await iam.send(new CreateRoleCommand({ RoleName: 'pr-only', AssumeRolePolicyDocument: JSON.stringify(suggested) }));
    expect(
      (await newJob().run('aws-auth', { inputs: inputs({ 'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/pr-only` }) }))
        .exitCode,
    ).toBe(0);
    issuer.job = { ...issuer.job, eventName: 'push', ref: 'refs/heads/main' };
    const push = await newJob().run('aws-auth', {
      inputs: inputs({ 'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/pr-only` }),
    });
    expect(push.failure).toContain('AccessDenied');
  });

  it('says when the account has no OIDC provider for the issuer', async () => {
    const other = await startOidcIssuer();
    try {
      const step = await new Job({ ...other.runnerEnv(), AWS_ENDPOINT_URL: proxy.url }).run('aws-auth', {
        inputs: inputs(),
      });
      expect(step.exitCode).toBe(1);
      expect(step.failure).toContain(`no IAM OIDC identity provider for ${other.url}`);
      expect(step.failure).toContain('Identity providers');
    } finally {
      await other.close();
    }
  });

  it('says when the audience is not one the provider accepts', async () => {
    const step = await newJob().run('aws-auth', { inputs: inputs({ audience: 'my-audience' }) });
    expect(step.exitCode).toBe(1);
    expect(issuer.issued).toEqual(['my-audience']);
    expect(step.failure).toContain("rejected the token's audience 'my-audience'");
  });

  it('tells a job without id-token permission how to get it, before any AWS call', async () => {
    const job = new Job({ AWS_ENDPOINT_URL: proxy.url });
    const step = await job.run('aws-auth', { inputs: inputs() });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('cannot request a GitHub OIDC token');
    expect(step.failure).toContain('id-token: write');
    expect(proxy.calls).toEqual([]);
  });

  it('retries throttling and 5xx, then succeeds', async () => {
    proxy.inject({
      operation: 'AssumeRoleWithWebIdentity',
      times: 2,
      status: 400,
      code: 'Throttling',
      message: 'Rate exceeded',
    });
    proxy.inject({ operation: 'GetCallerIdentity', times: 1, status: 503, code: 'ServiceUnavailable' });
    const step = await newJob().run('aws-auth', { inputs: inputs() });
    expect(step.failure).toBeUndefined();
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(3);
    expect(proxy.count('GetCallerIdentity')).toBe(2);
  });

  it('gives up after retry-max-attempts', async () => {
    proxy.inject({ operation: 'AssumeRoleWithWebIdentity', times: 5, status: 503, code: 'ServiceUnavailable' });
    const step = await newJob().run('aws-auth', { inputs: inputs({ 'retry-max-attempts': '2' }) });
    expect(step.exitCode).toBe(1);
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(2);
    expect(step.failure).toContain('ServiceUnavailable');
  });

  it('refuses a role outside allowed-account-ids before requesting anything', async () => {
    const step = await newJob().run('aws-auth', {
      inputs: inputs({ 'allowed-account-ids': '111111111111, 222222222222' }),
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      `account ${ACCOUNT}, which allowed-account-ids (111111111111, 222222222222) does not allow`,
    );
    expect(issuer.issued).toEqual([]);
    expect(proxy.calls).toEqual([]);
    expect(step.exported).toEqual({});
  });

  it('accepts a role inside allowed-account-ids', async () => {
    const step = await newJob().run('aws-auth', {
      inputs: inputs({ 'allowed-account-ids': `111111111111\n${ACCOUNT}` }),
    });
    expect(step.failure).toBeUndefined();
  });

  it('masks the account id everywhere when asked', async () => {
    const step = await newJob().run('aws-auth', { inputs: inputs({ 'mask-aws-account-id': 'true' }) });
    expect(step.exitCode).toBe(0);
    expect(step.masked).toContain(ACCOUNT);
    expect(step.leaks([ACCOUNT])).toEqual([]);
    expect(step.summary).not.toContain(ACCOUNT);
  });

  it('chains a second role with the credentials of the first', async () => {
    const job = newJob();
    const first = await job.run('aws-auth', { inputs: inputs() });
    expect(first.exitCode).toBe(0);
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'target',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    const second = await job.run('aws-auth', {
      inputs: inputs({
        'role-to-assume': `arn:aws:iam::${ACCOUNT}:role/target`,
        'role-chaining': 'true',
        'role-session-name': 'chained',
      }),
    });
    expect(second.failure).toBeUndefined();
    expect(proxy.count('AssumeRole')).toBe(1);
    expect(second.outputs['aws-assumed-role-arn']).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/target/chained`);
    expect(second.exported.AWS_ACCESS_KEY_ID).not.toBe(first.exported.AWS_ACCESS_KEY_ID);
    expect(issuer.issued).toHaveLength(1);
  });

  it('reads the token from web-identity-token-file without the runner token service', async () => {
    const job = new Job({ AWS_ENDPOINT_URL: proxy.url });
    const file = join(job.workspace, 'token');
    writeFileSync(file, issuer.mint('sts.amazonaws.com'));
    const step = await job.run('aws-auth', { inputs: inputs({ 'web-identity-token-file': file }) });
    expect(step.failure).toBeUndefined();
    expect(step.outputs['aws-account-id']).toBe(ACCOUNT);
  });

  it.each([
    [{ 'role-to-assume': 'github-deploy' }, "role-to-assume 'github-deploy' is not an IAM role ARN"],
    [{ 'role-to-assume': 'arn:aws:iam::12345:role/x' }, 'is not an IAM role ARN'],
    [{ 'role-to-assume': '' }, "Input 'role-to-assume' is required"],
    [{ 'aws-region': 'Europe' }, "aws-region 'Europe' is not an AWS region name"],
    [{ 'role-duration-seconds': '600' }, "'role-duration-seconds' must be between 900 and 43200, not 600"],
    [{ 'role-duration-seconds': 'one hour' }, "'role-duration-seconds' must be a whole number"],
    [{ 'role-chaining': 'true', 'role-duration-seconds': '7200' }, 'too long with role-chaining'],
    [{ 'role-session-name': 'my session' }, "role-session-name 'my session' is not a valid session name"],
    [{ 'inline-session-policy': '{"Version":' }, 'inline-session-policy is not valid JSON'],
    [{ 'managed-session-policies': 'ReadOnlyAccess' }, "'ReadOnlyAccess' is not an IAM policy ARN"],
    [{ 'allowed-account-ids': '12345' }, "'12345' is not an AWS account id"],
    [{ 'export-env': 'yes' }, "Input 'export-env' must be true or false, not 'yes'"],
    [{ 'retry-max-attempts': '0' }, "'retry-max-attempts' must be between 1 and 10"],
  ])('rejects bad input %j before any network call', async (bad, expected) => {
    const step = await newJob().run('aws-auth', { inputs: inputs(bad) });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(expected);
    expect(step.log).not.toMatch(/at .*index\.js/); // no stack trace
    expect(issuer.issued).toEqual([]);
    expect(proxy.calls).toEqual([]);
  });
});
