/**
 * Credentials that outlive aws-auth's session, and the time budget, through the bundles:
 * aws-auth (GitHub OIDC issuer → AssumeRoleWithWebIdentity, checked by the proxy against
 * moto's IAM) then ecs-deploy in the same job, against the seeded workload. The proxy
 * refuses an expired access key as AWS does (moto never does).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import {
  forwardPercentages,
  IMAGES,
  seedWorkload,
  serviceTags,
  startAlbTraffic,
  taskSetsOf,
  workloadClients,
  WORKLOAD,
  type SideTraffic,
  type Workload,
} from '../support/ecs-workload.js';
import { motoClientConfig, motoEndpoint, resetMoto } from '../support/moto.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { Job } from '../support/runner.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/github-deploy`;
const moto = motoEndpoint();
const clients = workloadClients(moto);
let iam: IAMClient;
let issuer: OidcIssuer;
let proxy: AwsProxy;
let w: Workload;

const ERROR_RATE = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.1 };
const MUTATING = [
  'RegisterTaskDefinition',
  'CreateTaskSet',
  'UpdateServicePrimaryTaskSet',
  'DeleteTaskSet',
  'UpdateService',
  'TagResource',
  'UntagResource',
  'ModifyListener',
  'ModifyRule',
];

function deployInputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: WORKLOAD.web,
    'container-name': WORKLOAD.web,
    image: IMAGES.webV2,
    analysis: ERROR_RATE,
    ...extra,
  };
}

const byName = (percentages: Record<string, number>) =>
  Object.fromEntries(Object.entries(percentages).map(([arn, p]) => [/targetgroup\/([^/]+)\//.exec(arn)?.[1], p]));

/** A job that authenticated with aws-auth (OIDC → role) through the proxy. */
async function authenticatedJob(): Promise<{ job: Job; key: string }> {
  const job = new Job({ ...issuer.runnerEnv(), AWS_ENDPOINT_URL: proxy.url });
  const auth = await job.run('aws-auth', { inputs: { 'role-to-assume': ROLE, 'aws-region': WORKLOAD.region } });
  expect(auth.failure).toBeUndefined();
  return { job, key: auth.exported.AWS_ACCESS_KEY_ID as string };
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  proxy = await startAwsProxy(moto);
  iam = new IAMClient(motoClientConfig(moto));
});
afterAll(async () => {
  clients.destroy();
  iam.destroy();
  await proxy.close();
  await issuer.close();
});
beforeEach(async () => {
  await resetMoto(moto);
  w = await seedWorkload(moto);
  const host = issuer.url.replace(/^https?:\/\//, '');
  await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: issuer.url,
      ClientIDList: ['sts.amazonaws.com'],
      ThumbprintList: ['a'.repeat(40)],
    }),
  );
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'github-deploy',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' },
              StringLike: { [`${host}:sub`]: 'repo:acme/webapp:*' },
            },
          },
        ],
      }),
    }),
  );
  proxy.reset();
  issuer.issued.length = 0;
});

describe('credentials that last as long as the rollout', () => {
  it('hands later steps the role settings, nothing secret', async () => {
    const job = new Job({ ...issuer.runnerEnv(), AWS_ENDPOINT_URL: proxy.url });
    const auth = await job.run('aws-auth', {
      inputs: { 'role-to-assume': ROLE, 'aws-region': WORKLOAD.region, 'role-duration-seconds': '900' },
    });
    const settings = JSON.parse(auth.exported.PLATFORM_ACTIONS_AWS_ROLE as string);
    expect(settings).toMatchObject({
      version: 1,
      source: 'github-oidc',
      roleArn: ROLE,
      sessionName: 'gha-webapp-4242-1',
      durationSeconds: 900,
      audience: 'sts.amazonaws.com',
      region: WORKLOAD.region,
      expiration: auth.outputs['aws-expiration'],
    });
    const text = auth.exported.PLATFORM_ACTIONS_AWS_ROLE as string;
    for (const secret of [
      auth.exported.AWS_ACCESS_KEY_ID,
      auth.exported.AWS_SECRET_ACCESS_KEY,
      auth.exported.AWS_SESSION_TOKEN,
    ])
      expect(text).not.toContain(secret as string);
    const post = await job.post(auth);
    expect(post.exitCode).toBe(0);
    expect(job.env.PLATFORM_ACTIONS_AWS_ROLE).toBe('');
  }, 30_000);

  it('renews the session when AWS refuses it mid-bake, rolls a breaching canary back with the new one, and the post step renews again', async () => {
    const { job, key } = await authenticatedJob();
    let bad = false;
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.blue]: healthy,
      [w.targetGroups.green]: bad ? { ...healthy, errors: 20 } : healthy,
    }));
    const running = job.start('ecs-deploy', {
      inputs: deployInputs({ steps: '10,100', 'step-duration': '90s', 'job-timeout': '60' }),
    });
    await running.waitForLog(/Judging 10% for/);
    // The session ends now (as if its hour were up), and the canary starts failing.
    proxy.expiry.expire(key);
    const expiredAt = Date.now();
    bad = true;
    const step = await running.done;
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    expect(step.failure).toMatch(/^Step 1 \(10%\) analysis failed: A run failed: error-rate/);
    // AWS refused the first key; a second AssumeRoleWithWebIdentity renewed the session.
    expect(proxy.expiry.refused.length).toBeGreaterThan(0);
    expect(proxy.expiry.refused.every((r) => r.accessKeyId === key)).toBe(true);
    expect(proxy.calls.filter((c) => c.operation === 'AssumeRoleWithWebIdentity' && c.status === 200)).toHaveLength(2);
    expect(issuer.issued).toEqual(['sts.amazonaws.com', 'sts.amazonaws.com']);
    expect(step.log).toMatch(
      /Renewed the AWS session of arn:aws:iam::123456789012:role\/github-deploy \(gha-webapp-4242-1\)/,
    );
    const renewedKey = proxy.expiry.seen.find((k) => k !== key && k !== 'test');
    expect(renewedKey).toBeDefined();
    // The renewed credentials were masked before anything printed them.
    expect(step.masked).toContain(renewedKey);
    expect(step.leaks([renewedKey as string])).toEqual([]);

    // Restored with the renewed session: stable at 100%, canary gone, record removed.
    expect(byName(await forwardPercentages(clients.elbv2, w.listenerArn))).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await taskSetsOf(clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
      [w.web.taskSetId, 'PRIMARY'],
    ]);
    expect(await serviceTags(clients.ecs, w.web.serviceArn)).not.toHaveProperty('platform-actions:rollout');
    const restore = proxy.calls.find((c) => c.operation === 'ModifyListener' && c.at > expiredAt && c.status === 200);
    expect(restore).toBeDefined();
    const report = JSON.parse(readFileSync(step.outputs['analysis-report'] as string, 'utf8'));
    process.stdout.write(
      `breach → stable with renewed credentials: ${report.failure.recoverySeconds}s (restore ${((restore?.at ?? 0) - expiredAt) / 1000}s after the key expired)\n`,
    );

    // The post step starts from the job's (expired) environment and renews on its own.
    const before = proxy.count('AssumeRoleWithWebIdentity');
    const post = await job.post(step);
    expect(post.exitCode).toBe(0);
    expect(post.failure).toBeUndefined();
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(before + 1);
  }, 120_000);

  it('says why static credentials cannot renew when AWS refuses them as expired, and tries no renewal', async () => {
    const job = new Job({
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE01',
      AWS_SECRET_ACCESS_KEY: 'static',
      AWS_REGION: WORKLOAD.region,
      ...issuer.runnerEnv(),
    });
    proxy.expiry.expire('AKIASTATICEXAMPLE01');
    const step = await job.run('ecs-deploy', { inputs: deployInputs({ analysis: 'none', 'step-duration': '0s' }) });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('ExpiredTokenException');
    expect(step.failure).toContain(
      'The AWS credentials of this step have expired and cannot be renewed: they were not exported by platform-actions aws-auth (PLATFORM_ACTIONS_AWS_ROLE is not set)',
    );
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(0);
    expect(issuer.issued).toEqual([]);
  }, 30_000);
});

describe('a time budget checked before any change', () => {
  it('refuses a plan longer than the job before any mutating call, with the breakdown and what to do', async () => {
    const job = new Job({
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: WORKLOAD.region,
    });
    const step = await job.run('ecs-deploy', {
      inputs: deployInputs({ steps: '10,50,100', 'step-duration': '20m', 'wait-timeout': '10m', 'job-timeout': '45' }),
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(
      "The rollout could take up to 1h40s, longer than the job's timeout-minutes (job-timeout 45m), 45m. Nothing was changed.",
    );
    expect(step.failure).toContain('10m: waiting for the new version to be healthy (wait-timeout 10m)');
    expect(step.failure).toContain('40m: bakes (10% for 20m, 50% for 20m)');
    expect(step.failure).toContain("40s: runs past a bake's end until one decides (up to 2 × interval 10s × 2 steps)");
    expect(step.failure).toContain('10m: a rollback to its deadline');
    expect(step.failure).toMatch(/Shorten the bakes .* self-hosted runner/);
    for (const op of MUTATING) expect([op, proxy.count(op)]).toEqual([op, 0]);
    expect(proxy.count('DescribeServices')).toBeGreaterThan(0);
  }, 30_000);

  it('assumes 360 minutes without job-timeout, and refuses a plan outliving credentials that cannot renew', async () => {
    const { job } = await authenticatedJob();
    proxy.reset();
    // No OIDC in this step: aws-auth's session (1 h) cannot renew.
    const step = await job.run('ecs-deploy', {
      inputs: deployInputs({ steps: '10,100', 'step-duration': '45m', 'wait-timeout': '10m' }),
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(
      /The rollout could take up to 1h5m20s, longer than the AWS credentials, which expire at .* and cannot renew \(this step cannot request a GitHub OIDC token/,
    );
    expect(step.failure).toContain('role-duration-seconds');
    for (const op of MUTATING) expect([op, proxy.count(op)]).toEqual([op, 0]);
    expect(proxy.count('AssumeRoleWithWebIdentity')).toBe(0);

    // The same plan fits when the step can renew; the log says 360 minutes were assumed.
    const dry = await job.run('ecs-deploy', {
      inputs: deployInputs({ steps: '10,100', 'step-duration': '45m', 'wait-timeout': '10m', 'dry-run': 'true' }),
    });
    expect(dry.failure).toBeUndefined();
    expect(dry.log).toContain('within the 360 minutes a job gets by default (job-timeout is not set');
  }, 60_000);
});
