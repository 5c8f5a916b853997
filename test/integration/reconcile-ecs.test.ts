/**
 * The reconcile action through its bundle, against moto (behind the proxy, which counts
 * the calls) and the GitHub stand-in answering run status: a canary whose runner was
 * SIGKILLed at 10% with no post step, left as the dead run left it, then reconciled.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { TagResourceCommand } from '@aws-sdk/client-ecs';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, WORKLOAD } from '../support/ecs-workload.js';
import { setWorkflowRun } from '../support/github-server.js';
import { type Job } from '../support/runner.js';

let greenErrors = 0;
// Before the lab's own beforeEach, which starts the traffic that reads it.
beforeEach(() => {
  greenErrors = 0;
});
const lab = useEcsLab({
  github: true,
  traffic: () => ({ blue: { requests: 100, errors: 0 }, green: { requests: 100, errors: greenErrors } }),
});

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

const job = (runId: string): Job => lab.job(runId, lab.gh.env());

const listener = async () => await lab.weights();

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
      'github-token': lab.gh.token,
    },
  });
  await running.waitForLog(/Step 1\/3: 10% on the new version/, 45_000);
  running.kill('SIGKILL');
  await running.done;
  const tag = (await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))[RECORD] as string;
  expect(tag).toMatch(/ p=shifting .* w=10 .* r=4242\.1/);
  expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
  return tag;
}

async function rewriteRecord(edit: (text: string) => string): Promise<void> {
  const text = (await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))[RECORD] as string;
  await lab.clients.ecs.send(
    new TagResourceCommand({ resourceArn: lab.workload.web.serviceArn, tags: [{ key: RECORD, value: edit(text) }] }),
  );
}

function reconcile(extra: Record<string, string> = {}) {
  return job('9000').run('reconcile', {
    inputs: { clusters: WORKLOAD.cluster, environment: 'production', 'github-token': lab.gh.token, ...extra },
  });
}

async function expectStable(): Promise<void> {
  expect(await listener()).toEqual({ 'open-webui-blue': 100, 'open-webui-green': 0 });
  expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
    [lab.workload.web.taskSetId, 'PRIMARY'],
  ]);
  expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(RECORD);
}

describe('reconcile on ECS', () => {
  it('restores stable after a runner was SIGKILLed at 10% with no post step, and closes the Deployment the dead run left in progress', async () => {
    await killedAt10();
    const deployment = [...lab.gh.store.repo('acme', 'webapp').deployments.values()][0];
    expect(deployment?.statuses.at(-1)?.state).toBe('in_progress');
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    lab.proxy.reset();

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
    expect(lab.gh.callsOf('actions/get-workflow-run').length).toBeGreaterThanOrEqual(1);
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))['platform-actions:abort']).toMatch(
      /by=the reconcile workflow in run 9000\.1/,
    );
    expect(deployment?.statuses.at(-1)).toMatchObject({
      state: 'failure',
      description: expect.stringContaining('reconcile (run 9000.1) rolled it back'),
    });
  }, 120_000);

  it('leaves a rollout alone while GitHub reports its run in progress', async () => {
    const tag = await killedAt10();
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'in_progress' });
    lab.proxy.reset();

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
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))[RECORD]).toBe(tag);
    for (const op of MUTATING) expect([op, lab.proxy.count(op)]).toEqual([op, 0]);
  }, 120_000);

  it('finishes the promotion of a record that was promoting when its owner died', async () => {
    await killedAt10();
    await rewriteRecord((t) => t.replace(' p=shifting ', ' p=promoting '));
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });

    const result = await reconcile();
    expect(result.failure).toBeUndefined();
    expect(JSON.parse(result.outputs.actions as string)).toEqual([
      expect.objectContaining({ state: 'promoting', done: 'promoted' }),
    ]);
    expect(await listener()).toEqual({ 'open-webui-blue': 0, 'open-webui-green': 100 });
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.loadBalancers?.[0]?.targetGroupArn])).toEqual([
      ['PRIMARY', lab.workload.targetGroups.green],
    ]);
    expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(RECORD);
    const deployment = [...lab.gh.store.repo('acme', 'webapp').deployments.values()][0];
    expect(deployment?.statuses.at(-1)?.state).toBe('success');
  }, 120_000);

  it('rolls back a paused canary whose pause deadline has passed', async () => {
    await killedAt10();
    const past = Math.floor(Date.now() / 1000) - 60;
    await rewriteRecord((t) => `${t.replace(' p=shifting ', ' p=paused ')} pu=${past}`);
    // Paused rollouts have no driving owner: GitHub is not what decides them.
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'success' });

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
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'success' });
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
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    lab.proxy.reset();
    const before = lab.gh.callsOf('repos/create-deployment-status').length;

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
    for (const op of MUTATING) expect([op, lab.proxy.count(op)]).toEqual([op, 0]);
    expect(lab.gh.callsOf('repos/create-deployment-status').length).toBe(before);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))[RECORD]).toBe(tag);
  }, 120_000);
});

describe("ecs-deploy asks GitHub about another run's record", () => {
  it('finishes the record of a run GitHub reports finished at once, without waiting for its lease', async () => {
    await killedAt10();
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    const next = await job('4243').run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
        'github-token': lab.gh.token,
      },
    });
    expect(next.failure).toBeUndefined();
    expect(next.log).toContain('GitHub reports run 4242.1 as finished');
    expect(next.outputs.status).toBe('succeeded');
    expect(lab.gh.callsOf('actions/get-workflow-run').length).toBe(1);
  }, 120_000);

  it('refuses to take over a run GitHub reports in progress', async () => {
    await killedAt10();
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'in_progress' });
    const next = await job('4243').run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
        'github-token': lab.gh.token,
      },
    });
    expect(next.failure).toMatch(/its owner is still driving it \(GitHub reports run 4242\.1 as still in progress\)/);
    expect(await listener()).toEqual({ 'open-webui-blue': 90, 'open-webui-green': 10 });
  }, 120_000);
});
