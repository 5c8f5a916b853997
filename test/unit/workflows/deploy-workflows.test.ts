import { describe, expect, it } from '@jest/globals';
import { condition, render, renderAll } from '../../support/expressions.js';
import { callInputs, loadWorkflow, runScriptStep, stepOf, type WorkflowDoc } from '../../support/workflow-steps.js';

/**
 * deploy-ecs.yml and deploy-gke.yml followed through a run: the plan job's script with
 * bash, every step's `if:` and `with:` with GitHub's expression evaluator, the deploy
 * steps answered by the test, the summary script with bash, and the job and workflow
 * outputs mapped as GitHub maps them.
 */
type Answer = { outcome: 'success' | 'failure' | 'cancelled'; outputs?: Record<string, string> };
const GITHUB = { token: 'ghs_job_token', repository: 'acme/webui', sha: 'c0ffee' };
const DIGEST = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:' + 'a'.repeat(64);

function simulate(file: string, given: Record<string, unknown>, answer: (name: string, index: number) => Answer = () => ({ outcome: 'success', outputs: { status: 'succeeded' } }), auth: Answer['outcome'] = 'success') {
  const doc = loadWorkflow(file);
  const inputs = callInputs(doc, given);
  const plan = runScriptStep(stepOf(doc.jobs.plan!, 'plan'), { inputs });
  if (plan.status !== 0) return { doc, plan, deploys: [], outputs: {}, job: {} as Record<string, string>, summary: undefined };
  const needs = { plan: { outputs: plan.outputs, result: 'success' } };
  const job = doc.jobs.deploy!;
  const steps: Record<string, { outcome: string; conclusion: string; outputs: Record<string, string> }> = {};
  const deploys: Array<{ slot: string; with: Record<string, string> }> = [];
  let status: 'success' | 'failure' | 'cancelled' = 'success';
  let summary;
  for (const step of job.steps ?? []) {
    const contexts = { inputs, needs, github: GITHUB, steps };
    const runs = condition(step.if, contexts, status);
    if (step.run !== undefined) {
      if (runs) summary = runScriptStep(step, contexts);
      if (step.id && summary) steps[step.id] = { outcome: 'success', conclusion: 'success', outputs: summary.outputs };
      continue;
    }
    let result: Answer = { outcome: 'success' };
    if (runs && /-deploy@/.test(step.uses ?? '')) {
      const w = renderAll(step.with, contexts);
      deploys.push({ slot: step.id as string, with: w });
      result = answer(w.service || w.deployment || '', deploys.length - 1);
    } else if (runs && /-auth@/.test(step.uses ?? '')) {
      result = { outcome: auth };
    }
    const outcome = runs ? result.outcome : 'skipped';
    if (outcome === 'failure' || outcome === 'cancelled') status = outcome;
    if (step.id) steps[step.id] = { outcome, conclusion: outcome, outputs: runs ? (result.outputs ?? {}) : {} };
  }
  const jobOutputs = renderAll(job.outputs, { steps });
  const outputs = Object.fromEntries(Object.entries(doc.on.workflow_call?.outputs ?? {}).map(([k, o]) => [k, render(o.value, { jobs: { deploy: { outputs: jobOutputs } } })]));
  return { doc, plan, deploys, outputs, job: jobOutputs, summary };
}

const ECS = { environment: 'dev', cluster: 'seed', 'aws-region': 'eu-west-1', 'role-to-assume': 'arn:aws:iam::111111111111:role/deploy-dev', image: DIGEST };
const GKE = { environment: 'dev', 'project-id': 'acme-dev', location: 'europe-west1', cluster: 'seed', 'workload-identity-provider': 'projects/1/locations/global/workloadIdentityPools/github/providers/github', image: DIGEST };
const GATEWAY = 'public.ecr.aws/aws-samples/bedrock-access-gateway@sha256:' + 'b'.repeat(64);
const SEED = JSON.stringify([
  { service: 'bedrock-access-gateway', image: GATEWAY },
  { service: 'mcpo', image: '', 'environment-variables': { LOG_LEVEL: 'info' } },
  { service: 'open-webui', strategy: 'canary', steps: [10, 50, 100], 'listener-arn': 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/seed/1/2' },
]);

describe('deploy-ecs.yml', () => {
  it('deploys the seed services in the given order, each with its own settings over the workflow defaults', () => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services: SEED, 'wait-timeout': '20m' });
    expect(run.plan.status).toBe(0);
    expect(run.plan.log).toContain('1. bedrock-access-gateway: image ' + GATEWAY);
    expect(run.deploys.map((d) => [d.slot, d.with.service])).toEqual([
      ['deploy-1', 'bedrock-access-gateway'],
      ['deploy-2', 'mcpo'],
      ['deploy-3', 'open-webui'],
    ]);
    const [gateway, mcpo, webui] = run.deploys.map((d) => d.with) as [Record<string, string>, Record<string, string>, Record<string, string>];
    expect(gateway).toMatchObject({ cluster: 'seed', 'aws-region': 'eu-west-1', image: GATEWAY, strategy: 'auto', 'wait-timeout': '20m', 'rollback-on-failure': 'true', 'dry-run': 'false' });
    expect(mcpo).toMatchObject({ image: '', 'environment-variables': 'LOG_LEVEL=info', strategy: 'auto' });
    expect(webui).toMatchObject({ image: DIGEST, strategy: 'canary', steps: '10,50,100', 'listener-arn': 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/seed/1/2', 'step-duration': '5m' });
    for (const w of [gateway, mcpo, webui]) expect(w).toMatchObject({ environment: 'dev', 'github-token': 'ghs_job_token' });
  });

  it('maps how every service ended to the job and workflow outputs, and summarises them', () => {
    const ids: Record<string, string> = { 'bedrock-access-gateway': '11', mcpo: '12', 'open-webui': '13' };
    const run = simulate('deploy-ecs.yml', { ...ECS, services: SEED }, (name) => ({
      outcome: 'success',
      outputs: { status: 'succeeded', image: name === 'open-webui' ? DIGEST : name === 'mcpo' ? 'ghcr.io/open-webui/mcpo:main' : GATEWAY, 'github-deployment-id': ids[name] as string, 'duration-seconds': '42' },
    }));
    expect(run.outputs).toEqual({
      status: 'succeeded',
      statuses: JSON.stringify({ 'bedrock-access-gateway': 'succeeded', mcpo: 'succeeded', 'open-webui': 'succeeded' }),
      'failed-service': '',
      image: DIGEST,
      images: JSON.stringify({ 'bedrock-access-gateway': GATEWAY, mcpo: 'ghcr.io/open-webui/mcpo:main', 'open-webui': DIGEST }),
      'github-deployment-ids': JSON.stringify(ids),
    });
    expect(run.summary?.summary).toContain('### Deploy to dev (ECS): succeeded');
    expect(run.summary?.summary).toContain(`| 3 | \`open-webui\` | succeeded | \`${DIGEST}\` | 13 | 42 |`);
  });

  it('stops at the first service that fails: the ones after it are not deployed, and the outputs say where it stopped', () => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services: SEED }, (name): Answer =>
      name === 'mcpo' ? { outcome: 'failure', outputs: { status: 'rolled-back', 'github-deployment-id': '12' } } : { outcome: 'success', outputs: { status: 'succeeded', image: GATEWAY, 'github-deployment-id': '11' } },
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

  it('reports a deploy step that failed before its rollout (no status) as failed, and one that was cancelled as cancelled', () => {
    const failed = simulate('deploy-ecs.yml', { ...ECS, services: '["mcpo", "open-webui"]' }, (name) => (name === 'mcpo' ? { outcome: 'failure' } : { outcome: 'success' }));
    expect(failed.outputs).toMatchObject({ status: 'failed', 'failed-service': 'mcpo' });
    const cancelled = simulate('deploy-ecs.yml', { ...ECS, services: '["mcpo", "open-webui"]' }, () => ({ outcome: 'cancelled' }));
    expect(cancelled.outputs).toMatchObject({ status: 'cancelled', 'failed-service': 'mcpo', statuses: JSON.stringify({ mcpo: 'cancelled', 'open-webui': 'not-run' }) });
  });

  it('deploys nothing and says so when authentication fails', () => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services: SEED }, undefined, 'failure');
    expect(run.deploys).toEqual([]);
    expect(run.outputs).toMatchObject({ status: 'failed', 'failed-service': '', statuses: JSON.stringify({ 'bedrock-access-gateway': 'not-run', mcpo: 'not-run', 'open-webui': 'not-run' }) });
    expect(run.summary?.summary).toContain('Nothing was deployed: a step before the first service failed');
  });

  it('pauses only the canaries at pause-at (marking or adding the weight), with the pause timeout, and reports the stage paused', () => {
    const services = JSON.stringify([
      { service: 'bedrock-access-gateway', image: GATEWAY },
      { service: 'mcpo', strategy: 'linear', steps: '20:2m,40,60,80,100' },
      { service: 'open-webui', strategy: 'canary', steps: [10, 50, 100] },
      { service: 'pipelines', strategy: 'canary' },
      { service: 'docs', strategy: 'canary', steps: '10,25:5m,100' },
    ]);
    const statuses: Record<string, string> = { 'bedrock-access-gateway': 'succeeded', mcpo: 'paused', 'open-webui': 'paused', pipelines: 'paused', docs: 'paused' };
    const run = simulate('deploy-ecs.yml', { ...ECS, services, 'pause-at': '25', 'pause-timeout': '8h' }, (name) => ({ outcome: 'success', outputs: { status: statuses[name] as string, image: DIGEST } }));
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
  });

  it('resumes the canaries with the same steps, deploying the other entries as usual', () => {
    const services = JSON.stringify([{ service: 'bedrock-access-gateway', image: GATEWAY }, { service: 'open-webui', strategy: 'canary', steps: '10,50,100' }]);
    const run = simulate('deploy-ecs.yml', { ...ECS, services, 'pause-at': '25', resume: true });
    expect(run.deploys.map((d) => [d.with.service, d.with.steps, d.with.resume])).toEqual([
      ['bedrock-access-gateway', '', 'false'],
      ['open-webui', '10,25:pause,50,100', 'true'],
    ]);
    expect(run.outputs.status).toBe('succeeded');
  });

  it('refuses a pause-at that is not a weight below 100, before anything is deployed', () => {
    for (const bad of ['100', '0', '25%', 'half']) {
      const run = simulate('deploy-ecs.yml', { ...ECS, services: '["open-webui"]', 'pause-at': bad });
      expect(run.plan.status).not.toBe(0);
      expect(run.plan.log).toContain(`::error title=services::pause-at is "${bad.replace("%", "%25")}"; give the whole percentage (1 to 99) at which each canary pauses, e.g. 25.`);
      expect(run.deploys).toEqual([]);
    }
  });

  it('marks a dry run as such', () => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services: '["open-webui"]', 'dry-run': true }, () => ({ outcome: 'success', outputs: { image: DIGEST } }));
    expect(run.deploys[0]?.with['dry-run']).toBe('true');
    expect(run.outputs).toMatchObject({ status: 'dry-run', statuses: JSON.stringify({ 'open-webui': 'dry-run' }), images: '{}' });
  });

  it('refuses a bad list in the plan job, before the environment gate and before any service changes', () => {
    const doc = loadWorkflow('deploy-ecs.yml');
    expect(doc.jobs.plan?.environment).toBeUndefined();
    expect(doc.jobs.deploy?.needs).toBe('plan');
    const bad = JSON.stringify([
      'bedrock-access-gateway',
      { service: 'mcpo', strategy: 'fast', 'containr-name': 'mcpo', 'wait-timeout': '5 minutes', images: ['no-equals-sign'] },
      { cluster: 'other' },
      { service: 'open webui' },
      42,
      'bedrock-access-gateway',
    ]);
    const run = simulate('deploy-ecs.yml', { ...ECS, services: bad });
    expect(run.plan.status).toBe(1);
    expect(run.plan.outputs).toEqual({});
    const errors = run.plan.log.split('\n').filter((l) => l.startsWith('::error title=services::'));
    expect(errors.map((l) => l.slice('::error title=services::'.length))).toEqual([
      expect.stringMatching(/^services\[1\] \(mcpo\): unknown key "containr-name"; an entry takes service, cluster, container-name, /),
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
    [JSON.stringify(Array.from({ length: 9 }, (_, i) => `svc-${i}`)), 'services has 9 entries, but one call deploys at most 8; split the list over two jobs'],
  ])('refuses services %s', (services, message) => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain(`::error title=services::${message}`);
  });

  it('escapes what a user wrote when it becomes a workflow command', () => {
    const run = simulate('deploy-ecs.yml', { ...ECS, services: JSON.stringify([{ service: 'mcpo', 'bad%key\n::warning::x': 1 }]) });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain('unknown key "bad%25key%0A::warning::x"');
    expect(run.plan.log.split('\n').some((l) => l.startsWith('::warning::'))).toBe(false);
  });
});

describe('deploy-gke.yml', () => {
  it('deploys Deployments in order on the workflow cluster, entries overriding namespace and strategy', () => {
    const services = JSON.stringify(['bedrock-access-gateway', { deployment: 'open-webui', namespace: 'web', strategy: 'canary', 'http-route': 'open-webui' }]);
    const run = simulate('deploy-gke.yml', { ...GKE, services }, (name) => ({ outcome: 'success', outputs: { status: 'succeeded', image: DIGEST, 'github-deployment-id': name === 'open-webui' ? '8' : '7' } }));
    expect(run.deploys.map((d) => d.with)).toEqual([
      expect.objectContaining({ 'project-id': 'acme-dev', location: 'europe-west1', cluster: 'seed', deployment: 'bedrock-access-gateway', namespace: 'default', image: DIGEST, strategy: 'rolling', 'wait-timeout': '15m', environment: 'dev' }),
      expect.objectContaining({ deployment: 'open-webui', namespace: 'web', strategy: 'canary', 'http-route': 'open-webui', 'keep-previous': '10m' }),
    ]);
    expect(run.outputs).toMatchObject({ status: 'succeeded', image: DIGEST, 'github-deployment-ids': JSON.stringify({ 'bedrock-access-gateway': '7', 'open-webui': '8' }) });
    expect(run.summary?.summary).toContain('| # | Deployment | Status |');
  });

  it('needs an image for every Deployment and knows only the GKE strategies', () => {
    const run = simulate('deploy-gke.yml', { ...GKE, image: '', services: JSON.stringify(['mcpo', { deployment: 'open-webui', image: DIGEST, strategy: 'linear' }]) });
    expect(run.plan.status).toBe(1);
    expect(run.plan.log).toContain('::error title=services::services[0] (mcpo): no image; give the entry an image or the workflow the image input.');
    expect(run.plan.log).toContain('::error title=services::services[1] (open-webui): strategy "linear" is not one of rolling, canary, blue-green.');
  });
});

describe('the deploy workflows', () => {
  const docs: Record<string, WorkflowDoc> = { ecs: loadWorkflow('deploy-ecs.yml'), gke: loadWorkflow('deploy-gke.yml') };

  it.each(['ecs', 'gke'])('%s: one step per list position, each passing exactly the entry keys the plan resolves', (platform) => {
    const doc = docs[platform] as WorkflowDoc;
    const plan = stepOf(doc.jobs.plan!, 'plan');
    // The entry's own keys, and what the plan works out per entry (resume: only canaries resume).
    const keys = [...(JSON.parse(String(plan.env?.ENTRY_KEYS)) as string[]), 'resume'];
    const max = Number(plan.env?.MAX_SERVICES);
    const slots = (doc.jobs.deploy?.steps ?? []).filter((s) => /^deploy-\d+$/.test(s.id ?? ''));
    expect(slots.map((s) => s.id)).toEqual(Array.from({ length: max }, (_, i) => `deploy-${i + 1}`));
    slots.forEach((slot, i) => {
      expect(slot.if).toBe(`fromJSON(needs.plan.outputs.count) >= ${i + 1}`);
      const fromEntry = Object.entries(slot.with ?? {}).filter(([, v]) => String(v).includes('needs.plan.outputs.services'));
      for (const [k, v] of fromEntry) expect(v).toBe(`\${{ fromJSON(needs.plan.outputs.services)[${i}]['${k}'] }}`);
      expect(fromEntry.map(([k]) => k).sort()).toEqual([...keys].sort());
      // Everything else is the same in every slot.
      const rest = (s: typeof slot) => JSON.stringify({ ...s, id: undefined, if: undefined, name: undefined, with: Object.fromEntries(Object.entries(s.with ?? {}).filter(([k]) => !keys.includes(k))) });
      expect(rest(slot)).toBe(rest(slots[0] as typeof slot));
    });
    const shared = JSON.parse(String(plan.env?.SHARED_KEYS)) as string[];
    for (const k of shared) expect(Object.keys(doc.on.workflow_call?.inputs ?? {})).toContain(k);
  });

  it('share one plan script and one summary script', () => {
    for (const id of ['plan', 'summary']) {
      const [ecs, gke] = [docs.ecs, docs.gke].map((d) => (id === 'plan' ? stepOf(d!.jobs.plan!, id) : stepOf(d!.jobs.deploy!, id)).run);
      expect(gke).toBe(ecs);
    }
  });

  it('put every deploy to one environment in one queue-max concurrency group that never cancels a rollout, and rollback in a group of its own', () => {
    const rollback = loadWorkflow('rollback.yml');
    const jobs = [
      [docs.ecs!, docs.ecs!.jobs.deploy!, 'platform-actions-deploy-production'],
      [docs.gke!, docs.gke!.jobs.deploy!, 'platform-actions-deploy-production'],
      [rollback, rollback.jobs.rollback!, 'platform-actions-rollback-production'],
    ] as const;
    for (const [doc, job, group] of jobs) {
      const given = Object.fromEntries(Object.entries(doc.on.workflow_call?.inputs ?? {}).filter(([, s]) => s.required).map(([k]) => [k, k === 'environment' ? 'production' : 'x']));
      expect(render(job.concurrency?.group, { inputs: callInputs(doc, given) })).toBe(group);
      expect(render(job.concurrency?.group, { inputs: callInputs(doc, { ...given, 'concurrency-group': 'webui-production' }) })).toBe('webui-production');
      expect(job.concurrency?.['cancel-in-progress']).toBe(false);
      expect((job.concurrency as Record<string, unknown> | undefined)?.queue).toBe('max');
    }
    for (const doc of [docs.ecs!, docs.gke!]) expect(render(doc.jobs.deploy?.environment, { inputs: { environment: 'production' } })).toBe('production');
  });
});
