/**
 * Pause and resume of a task-set canary across jobs, through the bundles against moto
 * behind the fault proxy: a pause step ends the job with the canary held; a later job (a
 * new process, another run) resumes and promotes it, or the rollback action aborts it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { decodeRecord } from '../../src/delivery/record.js';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, serviceTags, taskSetsOf, WORKLOAD, type SideTraffic } from '../support/ecs-workload.js';
import { type Job, type StepResult } from '../support/runner.js';

const lab = useEcsLab({ github: true });

const ERROR_RATE = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0, latency: () => 0.1 };
const RECORD_TAG = 'platform-actions:rollout';
const WEB_V3 = 'ghcr.io/open-webui/open-webui:v0.7.0';

const job = (runId: string, env: Record<string, string> = {}): Job => lab.job(runId, { ...lab.gh.env(), ...env });

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: WORKLOAD.web,
    'container-name': WORKLOAD.web,
    image: IMAGES.webV2,
    analysis: 'none',
    'step-duration': '0s',
    steps: '10,25:pause,100',
    ...extra,
  };
}

const listener = async () => await lab.weights();
const record = async () => decodeRecord((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))[RECORD_TAG]);

/** Deploys up to the pause (run 4242) and checks the service holds it. */
async function pause(extra: Record<string, string> = {}): Promise<StepResult> {
  const step = await job('4242').run('ecs-deploy', { inputs: inputs(extra) });
  expect(step.failure).toBeUndefined();
  expect(step.exitCode).toBe(0);
  expect(step.outputs.status).toBe('paused');
  expect(await listener()).toEqual({ 'open-webui-blue': 75, 'open-webui-green': 25 });
  return step;
}

describe('ecs-deploy: pause and resume across jobs', () => {
  it('pauses at 25% after a judged step, the post step leaves it, and a later job resumes it in a new process, judges 50% and promotes', async () => {
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: healthy,
    }));
    try {
      const env = {
        environment: 'production',
        'github-token': lab.gh.token,
        analysis: ERROR_RATE,
        steps: '10:0s,25:10s:pause,50:10s,100',
        'pause-timeout': '2h',
      };
      const before = Date.now();
      const paused = await pause(env);
      const held = await record();
      expect(held).toMatchObject({
        phase: 'paused',
        weight: 25,
        step: 1,
        run: '4242.1',
        id: paused.outputs['deployment-id'],
      });
      expect(held?.lease).toBeUndefined();
      expect((held?.pauseUntil as number) * 1000).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1000);
      expect(held?.pauseUntil as number).toBeLessThanOrEqual(Math.ceil((Date.now() + 2 * 3_600_000) / 1000));
      expect(paused.summary).toContain('### ⏸️ open-webui on platform (ECS): paused');
      expect(paused.summary).toContain('resume: true');
      expect(paused.summary).toContain('org/platform-actions/actions/rollback@v1');
      expect(paused.summary).toContain('steps: 10:0s,25:10s:pause,50:10s,100');
      const report = JSON.parse(readFileSync(paused.outputs['analysis-report'] as string, 'utf8'));
      expect(
        report.steps.map((s: { confirmed: { canary: number }; analysis?: { verdict: string } }) => [
          s.confirmed.canary,
          s.analysis?.verdict,
        ]),
      ).toEqual([
        [10, undefined],
        [25, 'pass'],
      ]);
      const deployment = lab.gh.store
        .repo('acme', 'webapp')
        .deployments.get(Number(paused.outputs['github-deployment-id']));
      expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress']);
      expect(deployment?.statuses.at(-1)?.description).toMatch(/^Paused at 25% until \S+; waiting for a resume$/);

      // The job ends: its post step must not undo the pause.
      const post = await job('4242').post(paused);
      expect(post.exitCode).toBe(0);
      expect(post.log).toContain('left paused for a resume');
      expect(await listener()).toEqual({ 'open-webui-blue': 75, 'open-webui-green': 25 });

      // Hours later, after the reviewers approved: another run, a new process.
      lab.proxy.reset();
      const resumed = await job('5151').run('ecs-deploy', { inputs: inputs({ ...env, resume: 'true' }) });
      expect(resumed.failure).toBeUndefined();
      expect(resumed.outputs).toMatchObject({
        status: 'succeeded',
        'deployment-id': paused.outputs['deployment-id'],
        'task-definition-arn': paused.outputs['task-definition-arn'],
        'github-deployment-id': paused.outputs['github-deployment-id'],
      });
      expect(resumed.log).toContain('Resuming the paused canary rollout');
      expect(lab.proxy.count('RegisterTaskDefinition')).toBe(0);
      expect(lab.proxy.count('CreateTaskSet')).toBe(0);
      const again = JSON.parse(readFileSync(resumed.outputs['analysis-report'] as string, 'utf8'));
      expect(
        again.steps.map((s: { confirmed: { canary: number }; analysis?: { verdict: string } }) => [
          s.confirmed.canary,
          s.analysis?.verdict,
        ]),
      ).toEqual([
        [50, 'pass'],
        [100, undefined],
      ]);
      expect(await listener()).toEqual({ 'open-webui-blue': 0, 'open-webui-green': 100 });
      const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
      expect(sets.map((t) => [t.status, t.taskDefinition])).toEqual([
        ['PRIMARY', paused.outputs['task-definition-arn']],
      ]);
      expect(await record()).toBeUndefined();
      expect(deployment?.statuses.map((s) => s.state)).toEqual([
        'in_progress',
        'in_progress',
        'in_progress',
        'success',
      ]);
    } finally {
      await traffic.stop();
    }
  }, 120_000);

  it('aborts a paused canary with the rollback action: all traffic back on stable, the new task set gone', async () => {
    await pause();
    const step = await job('6000').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'not approved' },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.status).toBe('rolled-back');
    expect(await listener()).toEqual({ 'open-webui-blue': 100, 'open-webui-green': 0 });
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.status, t.taskDefinition])).toEqual([
      ['PRIMARY', lab.workload.web.taskDefinitionArn],
    ]);
    expect(await record()).toBeUndefined();
  }, 60_000);

  it('refuses to resume a service with no paused rollout, or one whose rollout is not paused, and changes nothing', async () => {
    const none = await job('5151').run('ecs-deploy', { inputs: inputs({ resume: 'true' }) });
    expect(none.exitCode).not.toBe(0);
    expect(none.failure).toContain(
      `resume is true, but ${WORKLOAD.web} has no paused rollout (no rollout record on it). Nothing was changed.`,
    );

    await pause();
    // Someone else's run is driving it now (a record that is not paused, with a live lease).
    const tags = await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn);
    const driving = (tags[RECORD_TAG] as string)
      .replace('p=paused', 'p=shifting')
      .replace(/ pu=\d+/, ` l=${Math.floor(Date.now() / 1000) + 600}`);
    const { TagResourceCommand } = await import('@aws-sdk/client-ecs');
    await lab.clients.ecs.send(
      new TagResourceCommand({ resourceArn: lab.workload.web.serviceArn, tags: [{ key: RECORD_TAG, value: driving }] }),
    );
    lab.proxy.reset();
    const step = await job('5151').run('ecs-deploy', { inputs: inputs({ resume: 'true' }) });
    expect(step.exitCode).not.toBe(0);
    expect(step.failure).toMatch(
      /resume is true, but open-webui carries rollout \S+ \(ecs-task-set\), shifting at step 2 .* which is not paused, so there is nothing to resume\. Nothing was changed\./,
    );
    for (const op of ['ModifyListener', 'TagResource', 'CreateTaskSet', 'DeleteTaskSet'])
      expect(lab.proxy.count(op)).toBe(0);
    expect(await listener()).toEqual({ 'open-webui-blue': 75, 'open-webui-green': 25 });
  }, 60_000);

  it('refuses to resume with another image, naming both, and changes nothing', async () => {
    await pause();
    lab.proxy.reset();
    const step = await job('5151').run('ecs-deploy', { inputs: inputs({ resume: 'true', image: WEB_V3 }) });
    expect(step.exitCode).not.toBe(0);
    expect(step.failure).toContain(
      `runs ${WORKLOAD.web}: ${IMAGES.webV2}, but this job was given ${WORKLOAD.web}: ${WEB_V3}. Nothing was changed.`,
    );
    for (const op of ['ModifyListener', 'TagResource', 'RegisterTaskDefinition', 'DeleteTaskSet'])
      expect(lab.proxy.count(op)).toBe(0);
    expect((await record())?.phase).toBe('paused');
  }, 60_000);

  it('refuses an ordinary deploy over a paused canary, saying to resume or roll it back', async () => {
    await pause();
    lab.proxy.reset();
    const step = await job('7000').run('ecs-deploy', { inputs: inputs({ image: WEB_V3, steps: '50,100' }) });
    expect(step.exitCode).not.toBe(0);
    expect(step.failure).toContain('holds a paused canary');
    expect(step.failure).toContain('resume: true');
    expect(step.failure).toContain('rollback action');
    for (const op of ['ModifyListener', 'TagResource', 'RegisterTaskDefinition', 'CreateTaskSet'])
      expect(lab.proxy.count(op)).toBe(0);
    expect(await listener()).toEqual({ 'open-webui-blue': 75, 'open-webui-green': 25 });
  }, 60_000);
});
