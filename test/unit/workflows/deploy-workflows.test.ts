import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { condition, render, renderAll } from '../../support/expressions.js';
import { setEnvironment } from '../../support/github-release.js';
import { startGitHubServer, type GitHubServer } from '../../support/github-server.js';
import {
  callInputs,
  loadWorkflow,
  runScriptStep,
  runScriptStepAsync,
  stepOf,
  type WorkflowDoc,
} from '../../support/workflow-steps.js';

/**
 * deploy-ecs.yml and deploy-gke.yml followed through a run: the plan job's script with
 * bash, every step's `if:` and `with:` with GitHub's expression evaluator, the deploy
 * steps answered by the test, the summary script with bash, and the job and workflow
 * outputs mapped as GitHub maps them.
 */
/** Extra environment of the run: steps (GITHUB_API_URL of the GitHub stand-in, as the runner sets it). */
let stepEnv: Record<string, string> = {};
/** The secrets the caller passes. */
let secrets: Record<string, string> = {};
type Answer = { outcome: 'success' | 'failure' | 'cancelled'; outputs?: Record<string, string> };
const GITHUB = { token: 'ghs_job_token', repository: 'acme/webui', sha: 'c0ffee' };
const DIGEST = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:' + 'a'.repeat(64);

async function simulate(
  file: string,
  given: Record<string, unknown>,
  answer: (name: string, index: number) => Answer = () => ({ outcome: 'success', outputs: { status: 'succeeded' } }),
  auth: Answer['outcome'] = 'success',
  undo: (name: string) => Answer = () => ({ outcome: 'success', outputs: { status: 'rolled-back' } }),
) {
  const doc = loadWorkflow(file);
  const inputs = callInputs(doc, given);
  const plan = runScriptStep(stepOf(doc.jobs.plan!, 'plan'), { inputs });
  if (plan.status !== 0)
    return {
      doc,
      plan,
      deploys: [],
      undos: [],
      outputs: {},
      job: {} as Record<string, string>,
      summary: undefined,
      gate: undefined,
      auths: 0,
      notes: [],
    };
  const needs = { plan: { outputs: plan.outputs, result: 'success' } };
  const job = doc.jobs.deploy!;
  const steps: Record<string, { outcome: string; conclusion: string; outputs: Record<string, string> }> = {};
  const deploys: Array<{ slot: string; with: Record<string, string> }> = [];
  const undos: Array<{ slot: string; with: Record<string, string> }> = [];
  const notes: Array<Record<string, string>> = [];
  const env = renderAll((job as { env?: Record<string, unknown> }).env, { secrets, inputs });
  let status: 'success' | 'failure' | 'cancelled' = 'success';
  let summary;
  let gate;
  let auths = 0;
  for (const step of job.steps ?? []) {
    const contexts = { inputs, needs, github: GITHUB, steps, secrets, env };
    const runs = condition(step.if, contexts, status);
    if (step.run !== undefined) {
      const ran = runs
        ? step.id === 'gate'
          ? await runScriptStepAsync(step, contexts, stepEnv)
          : runScriptStep(step, contexts, stepEnv)
        : undefined;
      if (step.id === 'summary') summary = ran;
      if (step.id === 'gate') gate = ran;
      const outcome = !ran ? 'skipped' : ran.status === 0 ? 'success' : 'failure';
      if (outcome === 'failure') status = 'failure';
      if (step.id) steps[step.id] = { outcome, conclusion: outcome, outputs: ran?.outputs ?? {} };
      continue;
    }
    let result: Answer = { outcome: 'success' };
    if (runs && /-deploy@/.test(step.uses ?? '')) {
      const w = renderAll(step.with, contexts);
      deploys.push({ slot: step.id as string, with: w });
      result = answer(w.service || w.deployment || '', deploys.length - 1);
    } else if (runs && /\/rollback@/.test(step.uses ?? '')) {
      const w = renderAll(step.with, contexts);
      undos.push({ slot: step.id as string, with: w });
      result = undo(w.service || w.deployment || '');
    } else if (runs && /\/notify@/.test(step.uses ?? '')) {
      notes.push(renderAll(step.with, contexts));
    } else if (runs && /-auth@/.test(step.uses ?? '')) {
      auths++;
      result = { outcome: auth };
    }
    const outcome = runs ? result.outcome : 'skipped';
    if (outcome === 'failure' || outcome === 'cancelled') status = outcome;
    if (step.id) steps[step.id] = { outcome, conclusion: outcome, outputs: runs ? (result.outputs ?? {}) : {} };
  }
  const jobOutputs = renderAll(job.outputs, { steps });
  const outputs = Object.fromEntries(
    Object.entries(doc.on.workflow_call?.outputs ?? {}).map(([k, o]) => [
      k,
      render(o.value, { jobs: { deploy: { outputs: jobOutputs } } }),
    ]),
  );
  return { doc, plan, deploys, undos, outputs, job: jobOutputs, summary, gate, auths, notes };
}

const ECS = {
  environment: 'dev',
  cluster: 'seed',
  'aws-region': 'eu-west-1',
  'role-to-assume': 'arn:aws:iam::111111111111:role/deploy-dev',
  image: DIGEST,
};
const GKE = {
  environment: 'dev',
  'project-id': 'acme-dev',
  location: 'europe-west1',
  cluster: 'seed',
  'workload-identity-provider': 'projects/1/locations/global/workloadIdentityPools/github/providers/github',
  image: DIGEST,
};
const GATEWAY = 'public.ecr.aws/aws-samples/bedrock-access-gateway@sha256:' + 'b'.repeat(64);
const SEED = JSON.stringify([
  { service: 'bedrock-access-gateway', image: GATEWAY },
  { service: 'mcpo', image: '', 'environment-variables': { LOG_LEVEL: 'info' } },
  {
    service: 'open-webui',
    strategy: 'canary',
    steps: [10, 50, 100],
    'listener-arn': 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/seed/1/2',
  },
]);

describe('deploy-ecs.yml', () => {
  it('deploys the seed services in the given order, each with its own settings over the workflow defaults', async () => {
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'wait-timeout': '20m' });
    expect(run.plan.status).toBe(0);
    expect(run.plan.log).toContain('1. bedrock-access-gateway: image ' + GATEWAY);
    expect(run.deploys.map((d) => [d.slot, d.with.service])).toEqual([
      ['deploy-1', 'bedrock-access-gateway'],
      ['deploy-2', 'mcpo'],
      ['deploy-3', 'open-webui'],
    ]);
    const [gateway, mcpo, webui] = run.deploys.map((d) => d.with) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    expect(gateway).toMatchObject({
      cluster: 'seed',
      'aws-region': 'eu-west-1',
      image: GATEWAY,
      strategy: 'auto',
      'wait-timeout': '20m',
      'rollback-on-failure': 'true',
      'dry-run': 'false',
    });
    expect(mcpo).toMatchObject({ image: '', 'environment-variables': 'LOG_LEVEL=info', strategy: 'auto' });
    expect(webui).toMatchObject({
      image: DIGEST,
      strategy: 'canary',
      steps: '10,50,100',
      'listener-arn': 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/seed/1/2',
      'step-duration': '5m',
    });
    for (const w of [gateway, mcpo, webui])
      expect(w).toMatchObject({ environment: 'dev', 'github-token': 'ghs_job_token' });
  });

  it('maps how every service ended to the job and workflow outputs, and summarises them', async () => {
    const ids: Record<string, string> = { 'bedrock-access-gateway': '11', mcpo: '12', 'open-webui': '13' };
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, (name) => ({
      outcome: 'success',
      outputs: {
        status: 'succeeded',
        image: name === 'open-webui' ? DIGEST : name === 'mcpo' ? 'ghcr.io/open-webui/mcpo:main' : GATEWAY,
        'github-deployment-id': ids[name] as string,
        'duration-seconds': '42',
      },
    }));
    expect(run.outputs).toEqual({
      status: 'succeeded',
      statuses: JSON.stringify({ 'bedrock-access-gateway': 'succeeded', mcpo: 'succeeded', 'open-webui': 'succeeded' }),
      'failed-service': '',
      image: DIGEST,
      images: JSON.stringify({
        'bedrock-access-gateway': GATEWAY,
        mcpo: 'ghcr.io/open-webui/mcpo:main',
        'open-webui': DIGEST,
      }),
      'github-deployment-ids': JSON.stringify(ids),
      releases: JSON.stringify({ 'bedrock-access-gateway': 'c0ffee', mcpo: 'c0ffee', 'open-webui': 'c0ffee' }),
      mixed: 'false',
      gate: 'not-required',
    });
    expect(run.summary?.summary).toContain('### Deploy to dev (ECS): succeeded');
    expect(run.summary?.summary).toContain('Release `c0ffee`; at the end every service runs the same release.');
    expect(run.summary?.summary).toContain(`| 3 | \`open-webui\` | succeeded | \`c0ffee\` | \`${DIGEST}\` | 13 | 42 |`);
  });

  it('stops at the first service that fails: the ones after it are not deployed, and the outputs say where it stopped', async () => {
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, (name): Answer =>
      name === 'mcpo'
        ? { outcome: 'failure', outputs: { status: 'rolled-back', 'github-deployment-id': '12' } }
        : { outcome: 'success', outputs: { status: 'succeeded', image: GATEWAY, 'github-deployment-id': '11' } },
    );
    expect(run.deploys.map((d) => d.with.service)).toEqual(['bedrock-access-gateway', 'mcpo']);
    expect(run.outputs).toMatchObject({
      status: 'rolled-back',
      'failed-service': 'mcpo',
      statuses: JSON.stringify({ 'bedrock-access-gateway': 'succeeded', mcpo: 'rolled-back', 'open-webui': 'not-run' }),
      image: '',
      'github-deployment-ids': JSON.stringify({ 'bedrock-access-gateway': '11', mcpo: '12' }),
    });
    expect(run.summary?.summary).toContain('| 3 | `open-webui` | **not-run** |');
    expect(run.summary?.summary).toContain('Stopped at `mcpo`: the services after it were not deployed.');
  });

  it('reports a deploy step that failed before its rollout (no status) as failed, and one that was cancelled as cancelled', async () => {
    const failed = await simulate('deploy-ecs.yml', { ...ECS, services: '["mcpo", "open-webui"]' }, (name) =>
      name === 'mcpo' ? { outcome: 'failure' } : { outcome: 'success' },
    );
    expect(failed.outputs).toMatchObject({ status: 'failed', 'failed-service': 'mcpo' });
    const cancelled = await simulate('deploy-ecs.yml', { ...ECS, services: '["mcpo", "open-webui"]' }, () => ({
      outcome: 'cancelled',
    }));
    expect(cancelled.outputs).toMatchObject({
      status: 'cancelled',
      'failed-service': 'mcpo',
      statuses: JSON.stringify({ mcpo: 'cancelled', 'open-webui': 'not-run' }),
    });
  });

  it('deploys nothing and says so when authentication fails', async () => {
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, undefined, 'failure');
    expect(run.deploys).toEqual([]);
    expect(run.outputs).toMatchObject({
      status: 'failed',
      'failed-service': '',
      statuses: JSON.stringify({ 'bedrock-access-gateway': 'not-run', mcpo: 'not-run', 'open-webui': 'not-run' }),
    });
    expect(run.summary?.summary).toContain('Nothing was deployed: a step before the first service failed');
  });

  it('pauses only the canaries at pause-at (marking or adding the weight), with the pause timeout, and reports the stage paused', async () => {
    const services = JSON.stringify([
      { service: 'bedrock-access-gateway', image: GATEWAY },
      { service: 'mcpo', strategy: 'linear', steps: '20:2m,40,60,80,100' },
      { service: 'open-webui', strategy: 'canary', steps: [10, 50, 100] },
      { service: 'pipelines', strategy: 'canary' },
      { service: 'docs', strategy: 'canary', steps: '10,25:5m,100' },
    ]);
    const statuses: Record<string, string> = {
      'bedrock-access-gateway': 'succeeded',
      mcpo: 'paused',
      'open-webui': 'paused',
      pipelines: 'paused',
      docs: 'paused',
    };
    const run = await simulate(
      'deploy-ecs.yml',
      { ...ECS, services, 'pause-at': '25', 'pause-timeout': '8h' },
      (name) => ({ outcome: 'success', outputs: { status: statuses[name] as string, image: DIGEST } }),
    );
    expect(run.plan.status).toBe(0);
    expect(run.deploys.map((d) => [d.with.service, d.with.steps, d.with.resume, d.with['pause-timeout']])).toEqual([
      ['bedrock-access-gateway', '', 'false', '8h'],
      ['mcpo', '20:2m,25:pause,40,60,80,100', 'false', '8h'],
      ['open-webui', '10,25:pause,50,100', 'false', '8h'],
      ['pipelines', '25:pause,100', 'false', '8h'],
      ['docs', '10,25:5m:pause,100', 'false', '8h'],
    ]);
    expect(run.outputs).toMatchObject({ status: 'paused', 'failed-service': '', statuses: JSON.stringify(statuses) });
    expect(run.summary?.log ?? '').not.toContain('Stopped at');
    // A release whose canaries are held is one release, not a mix; people hear "paused", not "failed".
    expect(run.outputs.mixed).toBe('false');
    secrets = { notify: 'generic=https://hooks.example.com/deploys' };
    try {
      const told = await simulate('deploy-ecs.yml', { ...ECS, services, 'pause-at': '25' }, (name) => ({
        outcome: 'success',
        outputs: { status: statuses[name] as string, image: DIGEST },
      }));
      expect(told.notes).toEqual([expect.objectContaining({ event: 'paused', summary: 'Deploy to dev: paused' })]);
    } finally {
      secrets = {};
    }
  });

  it('resumes the canaries with the same steps, deploying the other entries as usual', async () => {
    const services = JSON.stringify([
      { service: 'bedrock-access-gateway', image: GATEWAY },
      { service: 'open-webui', strategy: 'canary', steps: '10,50,100' },
    ]);
    const run = await simulate('deploy-ecs.yml', { ...ECS, services, 'pause-at': '25', resume: true });
    expect(run.deploys.map((d) => [d.with.service, d.with.steps, d.with.resume])).toEqual([
      ['bedrock-access-gateway', '', 'false'],
      ['open-webui', '10,25:pause,50,100', 'true'],
    ]);
    expect(run.outputs.status).toBe('succeeded');
  });

  it('refuses a pause-at that is not a weight below 100, before anything is deployed', async () => {
    for (const bad of ['100', '0', '25%', 'half']) {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: '["open-webui"]', 'pause-at': bad });
      expect(run.plan.status).not.toBe(0);
      expect(run.plan.log).toContain(
        `::error title=services::pause-at is "${bad.replace('%', '%25')}"; give the whole percentage (1 to 99) at which each canary pauses, e.g. 25.`,
      );
      expect(run.deploys).toEqual([]);
    }
  });

  it('marks a dry run as such', async () => {
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: '["open-webui"]', 'dry-run': true }, () => ({
      outcome: 'success',
      outputs: { image: DIGEST },
    }));
    expect(run.deploys[0]?.with['dry-run']).toBe('true');
    expect(run.outputs).toMatchObject({
      status: 'dry-run',
      statuses: JSON.stringify({ 'open-webui': 'dry-run' }),
      images: '{}',
    });
  });

  it('refuses a bad list in the plan job, before the environment gate and before any service changes', async () => {
    const doc = loadWorkflow('deploy-ecs.yml');
    expect(doc.jobs.plan?.environment).toBeUndefined();
    expect(doc.jobs.deploy?.needs).toBe('plan');
    const bad = JSON.stringify([
      'bedrock-access-gateway',
      {
        service: 'mcpo',
        strategy: 'fast',
        'containr-name': 'mcpo',
        'wait-timeout': '5 minutes',
        images: ['no-equals-sign'],
      },
      { cluster: 'other' },
      { service: 'open webui' },
      42,
      'bedrock-access-gateway',
    ]);
    const run = await simulate('deploy-ecs.yml', { ...ECS, services: bad });
    expect(run.plan.status).toBe(1);
    expect(run.plan.outputs).toEqual({});
    const errors = run.plan.log.split('\n').filter((l) => l.startsWith('::error title=services::'));
    expect(errors.map((l) => l.slice('::error title=services::'.length))).toEqual([
      expect.stringMatching(
        /^services\[1\] \(mcpo\): unknown key "containr-name"; an entry takes service, cluster, container-name, /,
      ),
      'services[1] (mcpo): every line of images is NAME=value; "no-equals-sign" is not.',
      'services[1] (mcpo): strategy "fast" is not one of auto, rolling, blue-green, canary, linear.',
      'services[1] (mcpo): wait-timeout "5 minutes" is not a duration; write it like 90s, 5m or 1h30m.',
      'services[2]: no "service"; name the service to deploy.',
      'services[3] (open webui): "open webui" is not a service name (letters, digits, -, _, . or an ARN).',
      'services[4] is a number; give a service name or an object with "service" and its settings.',
      'services lists bedrock-access-gateway twice; each service is deployed once per call.',
    ]);
    expect(run.plan.log).toContain('Nothing was deployed: fix the services input and run again.');
  });

  it.each([
    ['not json', 'services is not JSON'],
    ['{"service": "mcpo"}', 'services is a JSON object, not a list.'],
    ['[]', 'services is an empty list: name at least one service to deploy.'],
    [
      JSON.stringify(Array.from({ length: 9 }, (_, i) => `svc-${i}`)),
      'services has 9 entries, but one call deploys at most 8; split the list over two jobs',
    ],
  ])('refuses services %s', async (services, message) => {
    const run = await simulate('deploy-ecs.yml', { ...ECS, services });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain(`::error title=services::${message}`);
  });

  describe('the release as a unit', () => {
    const rolledOut = (name: string, i: number): Answer => ({
      outcome: 'success',
      outputs: {
        status: 'succeeded',
        image: DIGEST,
        'deployment-id': `run-1-${i}`,
        'github-deployment-id': String(11 + i),
        'previous-task-definition-arn': `arn:aws:ecs:eu-west-1:111111111111:task-definition/${name}:${7 + i}`,
      },
    });
    const thirdFails = (name: string, i: number): Answer =>
      name === 'open-webui'
        ? { outcome: 'failure', outputs: { status: 'rolled-back', 'github-deployment-id': '13' } }
        : rolledOut(name, i);

    it('returns the services already changed to what ran before, last deployed first, when the third fails (on-failure defaults to rollback-release)', async () => {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, thirdFails);
      expect(run.undos.map((u) => [u.slot, u.with.service])).toEqual([
        ['undo-2', 'mcpo'],
        ['undo-1', 'bedrock-access-gateway'],
      ]);
      expect(run.undos[0]?.with).toMatchObject({
        platform: 'ecs',
        cluster: 'seed',
        'aws-region': 'eu-west-1',
        to: 'arn:aws:ecs:eu-west-1:111111111111:task-definition/mcpo:8',
        reason: 'rolled back with open-webui of release c0ffee',
        environment: 'dev',
        'github-token': 'ghs_job_token',
      });
      expect(run.outputs).toMatchObject({
        status: 'rolled-back',
        'failed-service': 'open-webui',
        statuses: JSON.stringify({
          'bedrock-access-gateway': 'reverted',
          mcpo: 'reverted',
          'open-webui': 'rolled-back',
        }),
        releases: JSON.stringify({ 'bedrock-access-gateway': 'previous', mcpo: 'previous', 'open-webui': 'previous' }),
        mixed: 'false',
        images: '{}',
        image: '',
      });
      expect(run.summary?.summary).toContain(
        'Release `c0ffee` rolled back as a unit: `mcpo`, `bedrock-access-gateway` returned to what ran before, in this order',
      );
      expect(run.summary?.summary).toContain('| 1 | `bedrock-access-gateway` | **reverted** | what ran before |');
      expect(run.summary?.summary).not.toContain('Mixed release');
    });

    it('names the release given, and leaves alone a service the run did not change (unchanged, or failed before its rollout)', async () => {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, release: 'v2.0.0' }, (name, i) =>
        name === 'bedrock-access-gateway'
          ? { outcome: 'success', outputs: { status: 'succeeded', image: GATEWAY, 'deployment-id': '' } }
          : thirdFails(name, i),
      );
      expect(run.undos.map((u) => u.with.service)).toEqual(['mcpo']);
      expect(run.undos[0]?.with.reason).toBe('rolled back with open-webui of release v2.0.0');
      // The unchanged gateway runs the same image as before this run: still reported as the release's.
      expect(JSON.parse(run.outputs.releases as string)).toEqual({
        'bedrock-access-gateway': 'v2.0.0',
        mcpo: 'previous',
        'open-webui': 'previous',
      });
    });

    it('on-failure stop leaves the services already changed on the new release and says what is mixed', async () => {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'on-failure': 'stop' }, thirdFails);
      expect(run.undos).toEqual([]);
      expect(run.outputs).toMatchObject({
        statuses: JSON.stringify({
          'bedrock-access-gateway': 'succeeded',
          mcpo: 'succeeded',
          'open-webui': 'rolled-back',
        }),
        releases: JSON.stringify({ 'bedrock-access-gateway': 'c0ffee', mcpo: 'c0ffee', 'open-webui': 'previous' }),
        mixed: 'true',
      });
      expect(run.summary?.summary).toContain('at the end **a mix**');
      expect(run.summary?.summary).toContain(
        '**Mixed release**: `bedrock-access-gateway`, `mcpo` still run release `c0ffee` (on-failure: stop)',
      );
    });

    it('reports an undo that failed as revert-failed, the release it runs as unknown, and what to do', async () => {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, thirdFails, 'success', (name) =>
        name === 'mcpo' ? { outcome: 'failure' } : { outcome: 'success', outputs: { status: 'rolled-back' } },
      );
      expect(run.undos.map((u) => u.with.service)).toEqual(['mcpo', 'bedrock-access-gateway']);
      expect(run.outputs).toMatchObject({
        statuses: JSON.stringify({
          'bedrock-access-gateway': 'reverted',
          mcpo: 'revert-failed',
          'open-webui': 'rolled-back',
        }),
        mixed: 'true',
      });
      expect(JSON.parse(run.outputs.releases as string).mcpo).toBe('unknown');
      expect(run.summary?.summary).toContain('**Not returned**: the rollback of `mcpo` failed');
    });

    it('undoes nothing on a dry run or when every service succeeded', async () => {
      expect((await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, rolledOut)).undos).toEqual([]);
      const dry = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'dry-run': true }, (name) =>
        name === 'open-webui' ? { outcome: 'failure' } : { outcome: 'success', outputs: { image: DIGEST } },
      );
      expect(dry.undos).toEqual([]);
    });

    it('tells people how it ended when the caller passes the notify secret, and sends nothing without it', async () => {
      secrets = { notify: 'slack=https://hooks.slack.com/services/T0/B0/x' };
      try {
        const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, thirdFails);
        expect(run.notes).toEqual([
          expect.objectContaining({
            notify: 'slack=https://hooks.slack.com/services/T0/B0/x',
            event: 'rolled-back',
            service: 'open-webui',
            environment: 'dev',
            release: 'c0ffee',
            summary: 'Deploy to dev: rolled-back',
            facts: expect.stringContaining(
              'releases={"bedrock-access-gateway":"previous","mcpo":"previous","open-webui":"previous"}',
            ),
          }),
        ]);
        const stopped = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'on-failure': 'stop' }, thirdFails);
        expect(stopped.notes[0]?.summary).toBe('Deploy to dev: rolled-back - a MIXED release, see the run');
        const ok = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, rolledOut);
        expect(ok.notes[0]).toMatchObject({ event: 'succeeded', service: 'bedrock-access-gateway, mcpo, open-webui' });
      } finally {
        secrets = {};
      }
      expect((await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, thirdFails)).notes).toEqual([]);
    });

    it('refuses an unknown on-failure before anything is deployed', async () => {
      const run = await simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'on-failure': 'continue' });
      expect(run.plan.status).toBe(1);
      expect(run.plan.log).toContain(
        '::error title=services::on-failure is "continue"; use rollback-release (return the services already changed to what ran before) or stop (leave them).',
      );
    });
  });

  it('escapes what a user wrote when it becomes a workflow command', async () => {
    const run = await simulate('deploy-ecs.yml', {
      ...ECS,
      services: JSON.stringify([{ service: 'mcpo', 'bad%key\n::warning::x': 1 }]),
    });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain('unknown key "bad%25key%0A::warning::x"');
    expect(run.plan.log.split('\n').some((l) => l.startsWith('::warning::'))).toBe(false);
  });
});

describe('deploy-gke.yml', () => {
  it('deploys Deployments in order on the workflow cluster, entries overriding namespace and strategy', async () => {
    const services = JSON.stringify([
      'bedrock-access-gateway',
      { deployment: 'open-webui', namespace: 'web', strategy: 'canary', 'http-route': 'open-webui' },
    ]);
    const run = await simulate('deploy-gke.yml', { ...GKE, services }, (name) => ({
      outcome: 'success',
      outputs: { status: 'succeeded', image: DIGEST, 'github-deployment-id': name === 'open-webui' ? '8' : '7' },
    }));
    expect(run.deploys.map((d) => d.with)).toEqual([
      expect.objectContaining({
        'project-id': 'acme-dev',
        location: 'europe-west1',
        cluster: 'seed',
        deployment: 'bedrock-access-gateway',
        namespace: 'default',
        image: DIGEST,
        strategy: 'rolling',
        'wait-timeout': '15m',
        environment: 'dev',
      }),
      expect.objectContaining({
        deployment: 'open-webui',
        namespace: 'web',
        strategy: 'canary',
        'http-route': 'open-webui',
        'keep-previous': '10m',
      }),
    ]);
    expect(run.outputs).toMatchObject({
      status: 'succeeded',
      image: DIGEST,
      'github-deployment-ids': JSON.stringify({ 'bedrock-access-gateway': '7', 'open-webui': '8' }),
    });
    expect(run.summary?.summary).toContain('| # | Deployment | Status |');
  });

  it('returns the Deployments already changed to their previous revisions, last first, when one fails', async () => {
    const services = JSON.stringify([
      'bedrock-access-gateway',
      { deployment: 'mcpo', namespace: 'tools' },
      { deployment: 'open-webui', 'http-route': 'open-webui' },
    ]);
    const run = await simulate('deploy-gke.yml', { ...GKE, services }, (name, i): Answer =>
      name === 'open-webui'
        ? { outcome: 'failure', outputs: { status: 'rolled-back' } }
        : {
            outcome: 'success',
            outputs: {
              status: 'succeeded',
              image: DIGEST,
              'deployment-id': `d-${i}`,
              'previous-revision': String(3 + i),
            },
          },
    );
    expect(run.undos.map((u) => u.with)).toEqual([
      expect.objectContaining({
        platform: 'gke',
        'project-id': 'acme-dev',
        location: 'europe-west1',
        cluster: 'seed',
        deployment: 'mcpo',
        namespace: 'tools',
        to: '4',
        reason: 'rolled back with open-webui of release c0ffee',
      }),
      expect.objectContaining({ deployment: 'bedrock-access-gateway', namespace: 'default', to: '3' }),
    ]);
    expect(run.outputs).toMatchObject({
      releases: JSON.stringify({ 'bedrock-access-gateway': 'previous', mcpo: 'previous', 'open-webui': 'previous' }),
      mixed: 'false',
    });
  });

  it('needs an image for every Deployment and knows only the GKE strategies', async () => {
    const run = await simulate('deploy-gke.yml', {
      ...GKE,
      image: '',
      services: JSON.stringify(['mcpo', { deployment: 'open-webui', image: DIGEST, strategy: 'linear' }]),
    });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain(
      '::error title=services::services[0] (mcpo): no image; give the entry an image or the workflow the image input.',
    );
    expect(run.plan.log).toContain(
      '::error title=services::services[1] (open-webui): strategy "linear" is not one of rolling, canary, blue-green.',
    );
  });
});

describe('the deploy workflows', () => {
  const docs: Record<string, WorkflowDoc> = {
    ecs: loadWorkflow('deploy-ecs.yml'),
    gke: loadWorkflow('deploy-gke.yml'),
  };

  it.each(['ecs', 'gke'])(
    '%s: one step per list position, each passing exactly the entry keys the plan resolves',
    async (platform) => {
      const doc = docs[platform] as WorkflowDoc;
      const plan = stepOf(doc.jobs.plan!, 'plan');
      // The entry's own keys, and what the plan works out per entry (resume: only canaries resume).
      const keys = [...(JSON.parse(String(plan.env?.ENTRY_KEYS)) as string[]), 'resume'];
      const max = Number(plan.env?.MAX_SERVICES);
      const slots = (doc.jobs.deploy?.steps ?? []).filter((s) => /^deploy-\d+$/.test(s.id ?? ''));
      expect(slots.map((s) => s.id)).toEqual(Array.from({ length: max }, (_, i) => `deploy-${i + 1}`));
      slots.forEach((slot, i) => {
        expect(slot.if).toBe(`fromJSON(needs.plan.outputs.count) >= ${i + 1}`);
        const fromEntry = Object.entries(slot.with ?? {}).filter(([, v]) =>
          String(v).includes('needs.plan.outputs.services'),
        );
        for (const [k, v] of fromEntry) expect(v).toBe(`\${{ fromJSON(needs.plan.outputs.services)[${i}]['${k}'] }}`);
        expect(fromEntry.map(([k]) => k).sort()).toEqual([...keys].sort());
        // Everything else is the same in every slot.
        const rest = (s: typeof slot) =>
          JSON.stringify({
            ...s,
            id: undefined,
            if: undefined,
            name: undefined,
            with: Object.fromEntries(Object.entries(s.with ?? {}).filter(([k]) => !keys.includes(k))),
          });
        expect(rest(slot)).toBe(rest(slots[0] as typeof slot));
      });
      const shared = JSON.parse(String(plan.env?.SHARED_KEYS)) as string[];
      for (const k of shared) expect(Object.keys(doc.on.workflow_call?.inputs ?? {})).toContain(k);
    },
  );

  it.each(['ecs', 'gke'])(
    '%s: one undo step per list position, after every deploy step, last position first, each undoing only its own slot',
    async (platform) => {
      const steps = (docs[platform] as WorkflowDoc).jobs.deploy?.steps ?? [];
      const ids = steps.map((s) => s.id ?? '');
      const undos = steps.filter((s) => /^undo-\d+$/.test(s.id ?? ''));
      expect(undos.map((s) => s.id)).toEqual([
        'undo-8',
        'undo-7',
        'undo-6',
        'undo-5',
        'undo-4',
        'undo-3',
        'undo-2',
        'undo-1',
      ]);
      expect(ids.indexOf('undo-8')).toBeGreaterThan(ids.indexOf('deploy-8'));
      expect(ids.indexOf('failed')).toBeLessThan(ids.indexOf('undo-8'));
      expect(ids.indexOf('summary')).toBeGreaterThan(ids.indexOf('undo-1'));
      for (const s of undos) {
        const n = (s.id as string).slice('undo-'.length);
        expect(s.if).toBe(
          `failure() && inputs.on-failure == 'rollback-release' && steps.deploy-${n}.outputs.status == 'succeeded' && steps.deploy-${n}.outputs.deployment-id != ''`,
        );
        expect(
          JSON.stringify(s.with)
            .match(/\[(\d)\]/g)
            ?.every((m) => m === `[${Number(n) - 1}]`),
        ).toBe(true);
        expect(
          JSON.stringify(s.with)
            .match(/deploy-\d/g)
            ?.every((m) => m === `deploy-${n}`),
        ).toBe(true);
      }
    },
  );

  it('share one plan script and one summary script', async () => {
    for (const id of ['plan', 'summary']) {
      const [ecs, gke] = [docs.ecs, docs.gke].map(
        (d) => (id === 'plan' ? stepOf(d!.jobs.plan!, id) : stepOf(d!.jobs.deploy!, id)).run,
      );
      expect(gke).toBe(ecs);
    }
  });

  it('put every deploy to one environment in one queue-max concurrency group that never cancels a rollout, and rollback in a group of its own', async () => {
    const rollback = loadWorkflow('rollback.yml');
    const jobs = [
      [docs.ecs!, docs.ecs!.jobs.deploy!, 'platform-actions-deploy-production'],
      [docs.gke!, docs.gke!.jobs.deploy!, 'platform-actions-deploy-production'],
      [rollback, rollback.jobs.rollback!, 'platform-actions-rollback-production'],
    ] as const;
    for (const [doc, job, group] of jobs) {
      const given = Object.fromEntries(
        Object.entries(doc.on.workflow_call?.inputs ?? {})
          .filter(([, s]) => s.required)
          .map(([k]) => [k, k === 'environment' ? 'production' : 'x']),
      );
      expect(render(job.concurrency?.group, { inputs: callInputs(doc, given) })).toBe(group);
      expect(
        render(job.concurrency?.group, {
          inputs: callInputs(doc, { ...given, 'concurrency-group': 'webui-production' }),
        }),
      ).toBe('webui-production');
      expect(job.concurrency?.['cancel-in-progress']).toBe(false);
      expect((job.concurrency as Record<string, unknown> | undefined)?.queue).toBe('max');
    }
    for (const doc of [docs.ecs!, docs.gke!])
      expect(render(doc.jobs.deploy?.environment, { inputs: { environment: 'production' } })).toBe('production');
  });
});

describe('the environment gate (against the GitHub stand-in, checked by @octokit/openapi)', () => {
  let gh: GitHubServer;
  beforeAll(async () => {
    gh = await startGitHubServer({ token: GITHUB.token });
  });
  afterAll(() => gh.close());
  afterEach(() => {
    const problems = [...gh.problems];
    gh.reset();
    stepEnv = {};
    expect(problems).toEqual([]);
  });
  const PROD = { ...ECS, environment: 'production', services: SEED };
  const deployed = (name: string, i: number): Answer => ({
    outcome: 'success',
    outputs: { status: 'succeeded', image: DIGEST, 'deployment-id': `d-${i}` },
  });

  it('refuses production with no reviewers, wait timer or custom rule before any AWS call, and says what to do', async () => {
    stepEnv = { GITHUB_API_URL: gh.url };
    setEnvironment(gh.store, 'acme', 'webui', 'production', { branchPolicy: 'protected' });
    const run = await simulate('deploy-ecs.yml', PROD, deployed);
    expect(run.gate?.status).toBe(1);
    expect(run.auths).toBe(0);
    expect(run.deploys).toEqual([]);
    expect(run.gate?.log).toContain(
      '::error title=gate::Environment production has no required reviewer, wait timer or custom protection rule (protected branches only), so nothing held this deploy for approval.',
    );
    expect(run.gate?.log).toContain(
      'Nothing was deployed. Add required reviewers or a wait timer to the environment (Settings, Environments), or, to deploy without a gate on purpose, set allow-ungated: true',
    );
    expect(run.outputs).toMatchObject({ status: 'failed', 'failed-service': '' });
    expect(gh.callsOf('repos/get-environment')).toHaveLength(1);
  });

  it('refuses an environment with no settings at all (as a job bound to it creates it) the same way', async () => {
    stepEnv = { GITHUB_API_URL: gh.url };
    const run = await simulate('deploy-ecs.yml', { ...PROD, environment: 'prod' }, deployed);
    expect(run.gate?.status).toBe(1);
    expect(run.gate?.log).toContain(
      'Environment prod has no required reviewer, wait timer or custom protection rule (any branch)',
    );
  });

  it.each([
    [
      'required reviewers',
      { reviewers: [{ login: 'alice', id: 1 }, { team: 'platform' }] },
      'required reviewers @alice, team platform; deploys from any branch',
    ],
    [
      'a wait timer',
      { waitTimerMinutes: 30, branchPolicy: 'custom' as const },
      'a wait timer of 30 min; deploys from named branches only',
    ],
    [
      'a custom protection rule',
      { customRules: ['datadog-gate'] },
      'custom protection rules datadog-gate; deploys from any branch',
    ],
  ])('proceeds when production has %s, and names the gate in the summary', async (_what, settings, text) => {
    stepEnv = { GITHUB_API_URL: gh.url };
    setEnvironment(gh.store, 'acme', 'webui', 'production', settings);
    const run = await simulate('deploy-ecs.yml', PROD, deployed);
    expect(run.gate?.status).toBe(0);
    expect(run.gate?.outputs.gate).toBe('gated');
    expect(run.gate?.summary).toContain(`Gate of \`production\`: ${text}.`);
    expect(run.auths).toBe(1);
    expect(run.deploys).toHaveLength(3);
    expect(run.job.gate).toBe('gated');
  });

  it('with allow-ungated proceeds, warns, and says ungated in bold in the summary', async () => {
    stepEnv = { GITHUB_API_URL: gh.url };
    const run = await simulate(
      'deploy-gke.yml',
      { ...GKE, environment: 'staging', services: '["open-webui"]', 'allow-ungated': true },
      deployed,
    );
    expect(run.gate?.status).toBe(0);
    expect(run.gate?.log).toContain('::warning title=gate::Environment staging has no required reviewer');
    expect(run.gate?.summary).toMatch(/^\*\*ungated\*\*: Environment staging has no required reviewer/);
    expect(run.outputs.gate).toBe('ungated');
    expect(run.deploys).toHaveLength(1);
  });

  it('does not check dev (not gated by name) unless gated: true, and refuses a bad gated value', async () => {
    stepEnv = { GITHUB_API_URL: gh.url };
    const dev = await simulate('deploy-ecs.yml', { ...ECS, services: SEED }, deployed);
    expect(dev.gate?.outputs.gate).toBe('not-required');
    expect(gh.calls).toEqual([]);
    expect((await simulate('deploy-ecs.yml', { ...ECS, services: SEED, gated: 'true' }, deployed)).gate?.status).toBe(
      1,
    );
    expect((await simulate('deploy-ecs.yml', { ...ECS, services: SEED, gated: 'yes' }, deployed)).gate?.log).toContain(
      '::error title=gate::gated is "yes"; use auto',
    );
  });

  it('says which permission is missing when GitHub refuses to show the environment', async () => {
    stepEnv = { GITHUB_API_URL: gh.url };
    gh.handle('repos/get-environment', () => ({
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
        status: '403',
      },
    }));
    const run = await simulate('deploy-ecs.yml', PROD, deployed);
    expect(run.gate?.status).toBe(1);
    expect(run.gate?.log).toContain(
      '(HTTP 403). Nothing was deployed. Give the calling job `permissions: actions: read`',
    );
    // GitHub answers 403 "Resource not accessible by integration" to a token without the
    // permission, though its OpenAPI description lists only 200 for this operation.
    expect(gh.problems).toEqual([
      'GET /repos/{owner}/{repo}/environments/{environment_name} (repos/get-environment): GitHub never answers this operation with HTTP 403',
    ]);
    gh.problems.length = 0;
  });

  it('the deploy jobs ask for actions: read, and run the gate first (before checkout and credentials), with one shared script', async () => {
    for (const file of ['deploy-ecs.yml', 'deploy-gke.yml']) {
      const job = loadWorkflow(file).jobs.deploy!;
      expect(job.permissions).toMatchObject({ actions: 'read' });
      expect(job.steps?.[0]?.id).toBe('gate');
    }
    expect(stepOf(loadWorkflow('deploy-gke.yml').jobs.deploy!, 'gate').run).toBe(
      stepOf(loadWorkflow('deploy-ecs.yml').jobs.deploy!, 'gate').run,
    );
  });
});
