/**
 * The reconcile action through its bundle, against moto (behind the proxy, which counts
 * the calls) and the GitHub stand-in answering run status: a canary whose runner was
 * SIGKILLed at 10% with no post step, left as the dead run left it, then reconciled.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { TagResourceCommand } from '@aws-sdk/client-ecs';
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
  type Workload,
} from '../support/ecs-workload.js';
import { setWorkflowRun, startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = motoEndpoint();
const clients = workloadClients(moto);
let proxy: AwsProxy;
let gh: GitHubServer;
let w: Workload;
let traffic: { stop(): Promise<void> } | undefined;
let greenErrors = 0;

const RECORD = 'platform-actions:rollout';
const MUTATING = [
  'ModifyListener',
  'ModifyRule',
  'DeleteTaskSet',
  'CreateTaskSet',
  'UpdateServicePrimaryTaskSet',
  'TagResource',
  'UntagResource',
  'UpdateService',
];
const SPEC = `
interval: 30s
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;

function job(runId: string): Job {
  return new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: runId,
    ...gh.env(),
  });
}

const byName = (p: Record<string, number>) =>
  Object.fromEntries(Object.entries(p).map(([arn, v]) => [/targetgroup\/([^/]+)\//.exec(arn)?.[1], v]));
const listener = async () => byName(await forwardPercentages(clients.elbv2, w.listenerArn));

/** A deploy of run 4242 that reaches 10% (a 5 m bake), SIGKILLed there: no post step runs. */
async function killedAt10(): Promise<string> {
  const running = job('4242').start('ecs-deploy', {
    inputs: {
      cluster: WORKLOAD.cluster,
      service: WORKLOAD.web,
      'container-name': WORKLOAD.web,
      image: IMAGES.webV2,
      steps: '10,50,100',
      'step-duration': '5m',
      analysis: 'none',
      environment: 'production',
      'github-token': gh.token,
    },
  });
  await running.waitForLog(/Step 1\/3: 10% on the new version/, 45_000);
  running.kill('SIGKILL');
  await running.done;
  const tag = (await serviceTags(clients.ecs, w.web.serviceArn))[RECORD] as string;
  expect(tag).toMatch(/ p=shifting .* w=10 .* r=4242\.1/);
  expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
  return tag;
}

async function rewriteRecord(edit: (text: string) => string): Promise<void> {
  const text = (await serviceTags(clients.ecs, w.web.serviceArn))[RECORD] as string;
  await clients.ecs.send(
    new TagResourceCommand({ resourceArn: w.web.serviceArn, tags: [{ key: RECORD, value: edit(text) }] }),
  );
}

function reconcile(extra: Record<string, string> = {}) {
  return job('9000').run('reconcile', {
    inputs: { clusters: WORKLOAD.cluster, environment: 'production', 'github-token': gh.token, ...extra },
  });
}

async function expectStable(): Promise<void> {
  expect(await listener()).toEqual({ 'open-webui-blue': 100, 'open-webui-green': 0 });
  expect((await taskSetsOf(clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
    [w.web.taskSetId, 'PRIMARY'],
  ]);
  expect(await serviceTags(clients.ecs, w.web.serviceArn)).not.toHaveProperty(RECORD);
}

beforeAll(async () => {
  proxy = await startAwsProxy(moto);
  gh = await startGitHubServer();
});
afterAll(async () => {
  await traffic?.stop();
  clients.destroy();
  await proxy.close();
  await gh.close();
});
beforeEach(async () => {
  await traffic?.stop();
  await resetMoto(moto);
  w = await seedWorkload(moto);
  proxy.reset();
  gh.reset();
  greenErrors = 0;
  traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
    [w.targetGroups.blue]: { requests: 100, errors: 0 },
    [w.targetGroups.green]: { requests: 100, errors: greenErrors },
  }));
});
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

describe('reconcile on ECS', () => {
  it('restores stable after a runner was SIGKILLed at 10% with no post step, and closes the Deployment the dead run left in progress', async () => {
    await killedAt10();
    const deployment = [...gh.store.repo('acme', 'webapp').deployments.values()][0];
    expect(deployment?.statuses.at(-1)?.state).toBe('in_progress');
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    proxy.reset();

    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    await expectStable();
    expect(result.log).toMatch(/GitHub reports run 4242\.1 as finished/);
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ where: 'platform/open-webui', state: 'shifting', done: 'rolled-back' }),
    ]);
    expect(JSON.parse(result.outputs.counts as string)).toMatchObject({
      rollouts: 1,
      acted: 1,
      failed: 0,
      'deployments-closed': 1,
    });
    expect(result.summary).toContain('| `platform/open-webui` |');
    expect(result.summary).toMatch(/rolled-back \(stable [\d.]+m?s after this run started\)/);
    // The owner's run was asked about once; the abort request was written before the restore.
    expect(gh.callsOf('actions/get-workflow-run').length).toBeGreaterThanOrEqual(1);
    expect((await serviceTags(clients.ecs, w.web.serviceArn))['platform-actions:abort']).toMatch(
      /by=the reconcile workflow in run 9000\.1/,
    );
    expect(deployment?.statuses.at(-1)).toMatchObject({
      state: 'failure',
      description: expect.stringContaining('reconcile (run 9000.1) rolled it back'),
    });
  }, 120_000);

  it('leaves a rollout alone while GitHub reports its run in progress', async () => {
    const tag = await killedAt10();
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'in_progress' });
    proxy.reset();

    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(result.log).toContain('GitHub reports run 4242.1 as still in progress');
    expect(JSON.parse(result.outputs.counts as string)).toMatchObject({
      rollouts: 1,
      acted: 0,
      left: 1,
      'deployments-closed': 0,
    });
    expect(result.summary).toMatch(/\| shifting \| — \| left \|/);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
    expect((await serviceTags(clients.ecs, w.web.serviceArn))[RECORD]).toBe(tag);
    for (const op of MUTATING) expect([op, proxy.count(op)]).toEqual([op, 0]);
  }, 120_000);

  it('finishes the promotion of a record that was promoting when its owner died', async () => {
    await killedAt10();
    await rewriteRecord((t) => t.replace(' p=shifting ', ' p=promoting '));
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });

    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'promoting', done: 'promoted' }),
    ]);
    expect(await listener()).toEqual({ 'open-webui-blue': 0, 'open-webui-green': 100 });
    const sets = await taskSetsOf(clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.loadBalancers?.[0]?.targetGroupArn])).toEqual([
      ['PRIMARY', w.targetGroups.green],
    ]);
    expect(await serviceTags(clients.ecs, w.web.serviceArn)).not.toHaveProperty(RECORD);
    const deployment = [...gh.store.repo('acme', 'webapp').deployments.values()][0];
    expect(deployment?.statuses.at(-1)?.state).toBe('success');
  }, 120_000);

  it('rolls back a paused canary whose pause deadline has passed', async () => {
    await killedAt10();
    const past = Math.floor(Date.now() / 1000) - 60;
    await rewriteRecord((t) => `${t.replace(' p=shifting ', ' p=paused ')} pu=${past}`);
    // Paused rollouts have no driving owner: GitHub is not what decides them.
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'success' });

    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({
        state: 'paused',
        done: 'rolled-back',
        detail: expect.stringContaining('nobody resumed it'),
      }),
    ]);
    await expectStable();
  }, 120_000);

  it('judges a paused canary over the last interval: left while it passes, rolled back when its metrics breach', async () => {
    await killedAt10();
    const later = Math.floor(Date.now() / 1000) + 3600;
    await rewriteRecord((t) => `${t.replace(' p=shifting ', ' p=paused ')} pu=${later}`);
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'success' });
    await new Promise((r) => setTimeout(r, 4000));

    const healthy = await reconcile({ analysis: SPEC });
    expect(healthy.failure).toBeUndefined();
    expect(JSON.parse(healthy.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'paused', done: 'judged-pass' }),
    ]);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });

    greenErrors = 30;
    await new Promise((r) => setTimeout(r, 4000));
    const breached = await reconcile({ analysis: SPEC });
    expect(breached.failure).toBeUndefined();
    expect(JSON.parse(breached.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'paused', done: 'rolled-back', detail: expect.stringMatching(/judged fail/) }),
    ]);
    await expectStable();
  }, 150_000);

  it('changes nothing in a dry run', async () => {
    const tag = await killedAt10();
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    proxy.reset();
    const before = gh.callsOf('repos/create-deployment-status').length;

    const result = await reconcile({ 'dry-run': 'true' });
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ done: 'would-roll-back' }),
    ]);
    expect(JSON.parse(result.outputs.counts as string)).toMatchObject({
      acted: 0,
      'would-act': 1,
      'deployments-closed': 0,
    });
    expect(result.summary).toContain('Dry run: Reconcile ECS platform');
    for (const op of MUTATING) expect([op, proxy.count(op)]).toEqual([op, 0]);
    expect(gh.callsOf('repos/create-deployment-status').length).toBe(before);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
    expect((await serviceTags(clients.ecs, w.web.serviceArn))[RECORD]).toBe(tag);
  }, 120_000);
});

describe("ecs-deploy asks GitHub about another run's record", () => {
  it('finishes the record of a run GitHub reports finished at once, without waiting for its lease', async () => {
    await killedAt10();
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    const next = await job('4243').run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
        'github-token': gh.token,
      },
    });
    expect(next.failure).toBeUndefined();
    expect(next.log).toContain('GitHub reports run 4242.1 as finished');
    expect(next.outputs.status).toBe('succeeded');
    expect(gh.callsOf('actions/get-workflow-run').length).toBe(1);
  }, 120_000);

  it('refuses to take over a run GitHub reports in progress', async () => {
    await killedAt10();
    setWorkflowRun(gh.store, 'acme', 'webapp', 4242, { status: 'in_progress' });
    const next = await job('4243').run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
        'github-token': gh.token,
      },
    });
    expect(next.failure).toMatch(/its owner is still driving it \(GitHub reports run 4242\.1 as still in progress\)/);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
  }, 120_000);
});
