/**
 * ecs-deploy when the job dies mid-rollout: cancelled (SIGTERM), killed outright
 * (SIGKILL, then the post step), and killed with no post step at all (the next run
 * finds the record on the service and finishes it first).
 */
import { describe, expect, it } from '@jest/globals';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, WORKLOAD } from '../support/ecs-workload.js';
import { setWorkflowRun } from '../support/github-server.js';
import { type Job } from '../support/runner.js';

const ok = { requests: 100, errors: 0 };
const lab = useEcsLab({ github: true, traffic: () => ({ blue: ok, green: ok }) });

const SPEC = `
interval: 10s
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;

const job = (runId = '4242'): Job => lab.job(runId);

const inputs = (extra: Record<string, string> = {}) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.web,
  'container-name': WORKLOAD.web,
  image: IMAGES.webV2,
  steps: '10,50,100',
  'step-duration': '5m',
  analysis: SPEC,
  ...extra,
});

/** Starts a rollout with 10% passing in 10 s, then stays at 50% (a 5 m bake) until the test kills it. */
async function startAndReach50(j: Job) {
  const running = j.start('ecs-deploy', { inputs: inputs({ steps: '10:10s,50,100' }) });
  await running.waitForLog(/Step 2\/3: 50% on the new version/, 45_000);
  return running;
}

async function expectStable(): Promise<void> {
  expect(await lab.weights()).toEqual({
    'open-webui-blue': 100,
    'open-webui-green': 0,
  });
  expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
    [lab.workload.web.taskSetId, 'PRIMARY'],
  ]);
  expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
    'platform-actions:rollout',
  );
}

describe('ecs-deploy: crash safety', () => {
  it('rolls back within the grace period when the job is cancelled (SIGTERM) at 50%', async () => {
    const j = job();
    const running = await startAndReach50(j);
    running.kill('SIGTERM');
    const main = await running.done;

    expect(main.log).toContain('The job was cancelled at step 2 (50%).');
    expect(main.log).toMatch(/All traffic is back on ecs-svc\/\d+/);
    expect(main.outputs.status).toBe('rolled-back');
    await expectStable();
    const post = await j.post(main);
    expect(post.exitCode).toBe(0);
    expect(post.log).not.toContain('Found');
  }, 90_000);

  it('lets the post step return all traffic to stable after the main step was killed (SIGKILL) at 50%', async () => {
    const j = job();
    const running = await startAndReach50(j);
    running.kill('SIGKILL');
    const main = await running.done;
    expect(main.signal).toBe('SIGKILL');
    const tag = (await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))['platform-actions:rollout'];
    expect(tag).toMatch(
      /^v1 id=4242\.1-\w+ e=ecs-task-set p=shifting s=ecs-svc\/\d+ c=ecs-svc\/\d+ w=50 i=1 t=\d+ r=4242\.1 l=\d+$/,
    );
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 50,
      'open-webui-green': 50,
    });

    const post = await j.post(main);
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain('Found an unfinished rollout');
    expect(post.summary).toContain('cleaned up by the post step');
    expect(lab.proxy.requests('ModifyListener').length).toBe(3);
    await expectStable();
  }, 90_000);

  it('finishes a killed rollout first on the next run (no post step ran), then rolls out its own', async () => {
    const first = await startAndReach50(job('4242'));
    first.kill('SIGKILL');
    await first.done;

    // Its lease still runs and nobody asked GitHub: it may still be driving, so the next run refuses.
    const early = await job('4243').run('ecs-deploy', {
      inputs: inputs({ steps: '100', 'step-duration': '0s', analysis: 'none' }),
    });
    expect(early.failure).toMatch(/is in the middle of rollout 4242\.1-\w+ .*its lease runs for another/);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 50,
      'open-webui-green': 50,
    });

    // GitHub says run 4242 ended: the next run finishes the rollout at once.
    setWorkflowRun(lab.gh.store, 'acme', 'webapp', 4242, { status: 'completed', conclusion: 'cancelled' });
    const next = await lab.job('4243', lab.gh.env()).run('ecs-deploy', {
      inputs: inputs({ steps: '100', 'step-duration': '0s', analysis: 'none', 'github-token': lab.gh.token }),
    });
    expect(next.failure).toBeUndefined();
    expect(next.log).toContain('GitHub reports run 4242.1 as finished');
    expect(next.log).toMatch(
      /Found an unfinished rollout 4242\.1-\w+ \(ecs-task-set\), shifting at step 2 with up to 50% on the new version/,
    );
    expect(next.log).toMatch(/The earlier rollout 4242\.1-\w+ was rolled-back/);
    expect(next.summary).toContain('Cleaned up first');
    expect(next.outputs.status).toBe('succeeded');
    // The interrupted canary went; the new rollout's task set is primary, in green again.
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.externalId, t.loadBalancers?.[0]?.targetGroupArn])).toEqual([
      ['PRIMARY', next.outputs['deployment-id'], lab.workload.targetGroups.green],
    ]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
  }, 90_000);
});
