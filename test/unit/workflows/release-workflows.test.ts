import { describe, expect, it } from '@jest/globals';
import { condition, render, renderAll } from '../../support/expressions.js';
import { callInputs, loadWorkflow, runScriptStep, stepOf, type WorkflowDoc } from '../../support/workflow-steps.js';

/**
 * release.yml and promote.yml followed job by job: `needs`, `if:` and `with:` evaluated
 * by GitHub's expression evaluator, run: steps with bash, the called workflows answered
 * by the test, and the workflow outputs mapped from the jobs.
 */
type JobResult = 'success' | 'failure' | 'skipped';
type Answer = { result: JobResult; outputs?: Record<string, string> };
const DIGEST = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:' + 'c'.repeat(64);
const GITHUB = { token: 'ghs_job_token', repository: 'acme/webui', event_name: 'push' };

/** Runs the jobs of a workflow in `needs` order: the `check` job's scripts with bash; `answer` stands in for every other job. */
function simulate(
  doc: WorkflowDoc,
  given: Record<string, unknown>,
  answer: (job: string, w: Record<string, string>) => Answer,
) {
  const inputs = callInputs(doc, given);
  const done: Record<string, { result: JobResult; outputs: Record<string, string> }> = {};
  const calls: Record<string, Record<string, string>> = {};
  const logs: Record<string, string> = {};
  const order = Object.keys(doc.jobs);
  while (Object.keys(done).length < order.length) {
    const next = order.find((id) => {
      const job = doc.jobs[id];
      const needs = typeof job?.needs === 'string' ? [job.needs] : (job?.needs ?? []);
      return !(id in done) && needs.every((n) => n in done);
    });
    if (!next) throw new Error('needs form a cycle');
    const job = doc.jobs[next]!;
    const needNames = typeof job.needs === 'string' ? [job.needs] : (job.needs ?? []);
    const needs = Object.fromEntries(needNames.map((n) => [n, done[n]]));
    const status = needNames.every((n) => done[n]?.result === 'success') ? 'success' : 'failure';
    const contexts = { inputs, needs, github: GITHUB };
    if (!condition(job.if, contexts, status)) {
      done[next] = { result: 'skipped', outputs: {} };
      continue;
    }
    if (job.uses) {
      calls[next] = renderAll(job.with, contexts);
      const a = answer(next, calls[next]);
      done[next] = { result: a.result, outputs: a.outputs ?? {} };
    } else if (next === 'check') {
      const runs = (job.steps ?? []).map((s) => runScriptStep(s, contexts));
      logs[next] = runs.map((r) => r.log).join('\n');
      done[next] = { result: runs.every((r) => r.status === 0) ? 'success' : 'failure', outputs: {} };
    } else {
      calls[next] = {};
      const a = answer(next, {});
      done[next] = { result: a.result, outputs: a.outputs ?? {} };
    }
  }
  const jobs = Object.fromEntries(
    Object.entries(done).map(([id, d]) => [id, { result: d.result, outputs: d.outputs }]),
  );
  const outputs = Object.fromEntries(
    Object.entries(doc.on.workflow_call?.outputs ?? {}).map(([k, o]) => [k, render(o.value, { jobs })]),
  );
  return { done, calls, logs, outputs };
}

const release = loadWorkflow('release.yml');
const SERVICES = '["bedrock-access-gateway", "mcpo", "open-webui"]';
const ECS_RELEASE = {
  platform: 'ecs',
  image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui',
  services: SERVICES,
  'aws-region': 'eu-west-1',
  'build-role-to-assume': 'arn:aws:iam::111111111111:role/image-push',
  'dev-cluster': 'webui-dev',
  'dev-role-to-assume': 'arn:aws:iam::111111111111:role/deploy-dev',
  'staging-cluster': 'webui-staging',
  'staging-role-to-assume': 'arn:aws:iam::111111111111:role/deploy-staging',
  'production-cluster': 'webui',
  'production-role-to-assume': 'arn:aws:iam::222222222222:role/deploy-production',
  'production-strategy': 'canary',
};
const GKE_RELEASE = {
  platform: 'gke',
  image: 'europe-docker.pkg.dev/acme/web/open-webui',
  services: SERVICES,
  'workload-identity-provider': 'projects/1/locations/global/workloadIdentityPools/github/providers/github',
  'build-service-account': 'image-push@acme-ci.iam.gserviceaccount.com',
  'project-id': 'acme-nonprod',
  location: 'europe-west1',
  namespace: 'webui',
  'dev-cluster': 'nonprod',
  'dev-service-account': 'deploy-dev@acme-nonprod.iam.gserviceaccount.com',
  'dev-namespace': 'webui-dev',
  'staging-cluster': 'nonprod',
  'staging-service-account': 'deploy-staging@acme-nonprod.iam.gserviceaccount.com',
  'production-cluster': 'prod',
  'production-project-id': 'acme-prod',
  'production-service-account': 'deploy-production@acme-prod.iam.gserviceaccount.com',
};
const built = (): Answer => ({
  result: 'success',
  outputs: { image: DIGEST, digest: 'sha256:' + 'c'.repeat(64), 'scan-passed': 'true' },
});
const deployed = (status = 'succeeded'): Answer => ({
  result: status === 'succeeded' ? 'success' : 'failure',
  outputs: { status, statuses: JSON.stringify({ 'open-webui': status }) },
});

describe('release.yml', () => {
  it('checks, builds once, then moves the same digest through dev, staging and production, each bound to its own environment', () => {
    const run = simulate(release, ECS_RELEASE, (job) => (job === 'build' ? built() : deployed()));
    expect(run.logs.check).toContain(
      'Release: build 111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui, then dev (webui-dev) → staging (webui-staging) → production (webui) on ECS',
    );
    expect(Object.keys(run.calls)).toEqual(['build', 'dev-ecs', 'staging-ecs', 'production-ecs']);
    expect(run.calls.build).toMatchObject({
      image: ECS_RELEASE.image,
      'role-to-assume': ECS_RELEASE['build-role-to-assume'],
      'workload-identity-provider': '',
    });
    for (const stage of ['dev', 'staging', 'production']) {
      const w = run.calls[`${stage}-ecs`] as Record<string, string>;
      expect(w).toMatchObject({
        environment: stage,
        image: DIGEST,
        services: SERVICES,
        cluster: ECS_RELEASE[`${stage}-cluster` as keyof typeof ECS_RELEASE],
        'role-to-assume': ECS_RELEASE[`${stage}-role-to-assume` as keyof typeof ECS_RELEASE],
        'aws-region': 'eu-west-1',
        'wait-timeout': '30m',
      });
    }
    expect(run.calls['dev-ecs']?.strategy).toBe('auto');
    expect(run.calls['production-ecs']?.strategy).toBe('canary');
    expect(run.done['dev-gke']?.result).toBe('skipped');
    expect(run.outputs).toMatchObject({
      image: DIGEST,
      'dev-status': 'succeeded',
      'staging-status': 'succeeded',
      'production-status': 'succeeded',
      'production-statuses': '{"open-webui":"succeeded"}',
    });
  });

  it('pauses the production canaries at production-pause-at, waits for the promote environment, then resumes them in production', () => {
    const given = {
      ...ECS_RELEASE,
      steps: '10,50,100',
      'production-pause-at': '25',
      'production-pause-timeout': '12h',
    };
    const run = simulate(release, given, (job) =>
      job === 'build'
        ? built()
        : job === 'production-ecs'
          ? { result: 'success', outputs: { status: 'paused', statuses: '{"open-webui":"paused"}' } }
          : job === 'production-promote'
            ? { result: 'success' }
            : deployed(),
    );
    expect(run.logs.check).toContain(
      'production canaries pause at 25% until production-promote approves their resume.',
    );
    expect(run.calls['production-ecs']).toMatchObject({ 'pause-at': '25', 'pause-timeout': '12h', steps: '10,50,100' });
    expect(run.calls['dev-ecs']?.['pause-at']).toBeUndefined();
    expect(run.done['production-promote']?.result).toBe('success');
    expect(release.jobs['production-promote']?.environment).toBe('${{ inputs.production-promote-environment }}');
    // The resume: the same services, digest, steps and pause in production, with resume on.
    const resumed = run.calls['production-resume-ecs'] as Record<string, string>;
    const { resume, ...same } = resumed;
    expect(resume).toBe('true');
    expect(same).toEqual(run.calls['production-ecs']);
    expect(run.done['production-resume-gke']?.result).toBe('skipped');
    expect(run.outputs).toMatchObject({
      'production-status': 'succeeded',
      'production-statuses': '{"open-webui":"succeeded"}',
    });
  });

  it('reports production paused while the approval is pending or was rejected, and skips the gate when nothing paused or no pause was asked for', () => {
    const pausedRun = simulate(release, { ...ECS_RELEASE, 'production-pause-at': '25' }, (job) =>
      job === 'build'
        ? built()
        : job === 'production-ecs'
          ? { result: 'success', outputs: { status: 'paused', statuses: '{"open-webui":"paused"}' } }
          : job === 'production-promote'
            ? { result: 'failure' }
            : deployed(),
    );
    expect(pausedRun.done['production-resume-ecs']?.result).toBe('skipped');
    expect(pausedRun.outputs['production-status']).toBe('paused');

    const notPaused = simulate(release, { ...ECS_RELEASE, 'production-pause-at': '25' }, (job) =>
      job === 'build' ? built() : deployed(),
    );
    expect(notPaused.done['production-promote']?.result).toBe('skipped');
    expect(notPaused.done['production-resume-ecs']?.result).toBe('skipped');
    const none = simulate(release, ECS_RELEASE, (job) => (job === 'build' ? built() : deployed()));
    expect(none.calls['production-ecs']).toMatchObject({ 'pause-at': '' });
    expect(none.done['production-promote']?.result).toBe('skipped');
  });

  it('resumes on GKE through deploy-gke.yml the same way', () => {
    const run = simulate(
      release,
      { ...GKE_RELEASE, 'production-strategy': 'canary', 'production-pause-at': '10' },
      (job) =>
        job === 'build'
          ? built()
          : job === 'production-gke'
            ? { result: 'success', outputs: { status: 'paused' } }
            : job === 'production-promote'
              ? { result: 'success' }
              : deployed(),
    );
    const { resume, ...same } = run.calls['production-resume-gke'] as Record<string, string>;
    expect(resume).toBe('true');
    expect(same).toEqual(run.calls['production-gke']);
    expect(same).toMatchObject({ 'pause-at': '10', strategy: 'canary', 'project-id': 'acme-prod' });
  });

  it('refuses a production-pause-at that is not a weight, or a promote environment that is a stage’s, before anything is built', () => {
    for (const [extra, message] of [
      [{ 'production-pause-at': '100' }, 'production-pause-at is "100"; give the whole percentage (1 to 99)'],
      [
        { 'production-pause-at': '25', 'production-promote-environment': 'Production' },
        'production-promote-environment "Production" must be an environment of its own',
      ],
    ] as Array<[Record<string, string>, string]>) {
      const run = simulate(release, { ...ECS_RELEASE, ...extra }, (job) => (job === 'build' ? built() : deployed()));
      expect(run.done.check?.result).toBe('failure');
      expect(run.logs.check).toContain(message);
      expect(run.done.build?.result).toBe('skipped');
    }
  });

  it('stops at the stage that fails: production is never deployed after staging rolled back', () => {
    const run = simulate(release, ECS_RELEASE, (job) =>
      job === 'build' ? built() : job === 'staging-ecs' ? deployed('rolled-back') : deployed(),
    );
    expect(run.done['production-ecs']?.result).toBe('skipped');
    expect(run.outputs).toMatchObject({
      'dev-status': 'succeeded',
      'staging-status': 'rolled-back',
      'production-status': '',
    });
  });

  it('deploys nothing when the build or its scan fails', () => {
    const run = simulate(release, ECS_RELEASE, (job) => (job === 'build' ? { result: 'failure' } : deployed()));
    expect(Object.keys(run.calls)).toEqual(['build']);
  });

  it('runs the GKE chain with each stage’s project, namespace and service account, falling back to the shared ones', () => {
    const run = simulate(release, GKE_RELEASE, (job) => (job === 'build' ? built() : deployed()));
    expect(Object.keys(run.calls)).toEqual(['build', 'dev-gke', 'staging-gke', 'production-gke']);
    expect(run.calls.build).toMatchObject({
      'workload-identity-provider': GKE_RELEASE['workload-identity-provider'],
      'service-account': GKE_RELEASE['build-service-account'],
      'role-to-assume': '',
    });
    expect(run.calls['dev-gke']).toMatchObject({
      environment: 'dev',
      'project-id': 'acme-nonprod',
      cluster: 'nonprod',
      namespace: 'webui-dev',
      'service-account': GKE_RELEASE['dev-service-account'],
      strategy: 'rolling',
      'wait-timeout': '15m',
      image: DIGEST,
    });
    expect(run.calls['staging-gke']).toMatchObject({ 'project-id': 'acme-nonprod', namespace: 'webui' });
    expect(run.calls['production-gke']).toMatchObject({
      environment: 'production',
      'project-id': 'acme-prod',
      cluster: 'prod',
      image: DIGEST,
    });
  });

  it('builds and scans only when deploy is false (pull requests)', () => {
    const run = simulate(release, { ...ECS_RELEASE, deploy: false, services: '' }, (job) =>
      job === 'build' ? built() : deployed(),
    );
    expect(run.logs.check).toContain(
      'Build and scan 111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui only (deploy is false).',
    );
    expect(Object.keys(run.calls)).toEqual(['build']);
    expect(run.outputs).toMatchObject({ image: DIGEST, 'production-status': '' });
  });

  it('refuses settings a later stage would fail on before anything is built', () => {
    const run = simulate(
      release,
      {
        ...ECS_RELEASE,
        'production-cluster': '',
        'staging-environment': 'DEV',
        'aws-region': '',
        'staging-role-to-assume': ECS_RELEASE['dev-role-to-assume'],
      },
      () => built(),
    );
    expect(run.done.check?.result).toBe('failure');
    expect(Object.keys(run.calls)).toEqual([]);
    const lines = run.logs.check?.split('\n') ?? [];
    expect(lines.filter((l) => l.startsWith('::'))).toEqual([
      '::warning title=release::dev and staging share role-to-assume arn:aws:iam::111111111111:role/deploy-dev; a role or service account per environment, trusted only by that environment, keeps a dev job from deploying to production.',
      '::error title=release::aws-region is empty; every stage needs it (the region of the clusters).',
      '::error title=release::production-cluster is empty; the production stage needs it (the cluster it deploys to).',
      '::error title=release::dev is the environment of more than one stage; give dev, staging and production their own, each with its own reviewers and deploy role.',
    ]);
  });

  it.each([
    ['an unknown platform', { platform: 'k8s' }, 'platform is "k8s"; use ecs or gke.'],
    ['no services', { services: '' }, 'services is not JSON; give the services in deploy order'],
    ['an empty services list', { services: '[]' }, 'services is not a non-empty JSON list'],
    [
      'a GKE stage without a project',
      { ...GKE_RELEASE, 'project-id': '' },
      'dev-project-id and project-id are empty; the dev stage needs the project of its cluster.',
    ],
  ])('refuses %s', (_, change, message) => {
    const run = simulate(release, { ...ECS_RELEASE, ...change }, () => built());
    expect(run.done.check?.result).toBe('failure');
    expect(run.logs.check).toContain(`::error title=release::${message}`);
  });

  it('calls each stage after the one before it on the same platform', () => {
    const needsOf = (id: string) => release.jobs[id]?.needs;
    for (const p of ['ecs', 'gke']) {
      expect(needsOf(`dev-${p}`)).toBe('build');
      expect(needsOf(`staging-${p}`)).toEqual(['build', `dev-${p}`]);
      expect(needsOf(`production-${p}`)).toEqual(['build', `staging-${p}`, 'production-approval']);
    }
    expect(needsOf('production-approval')).toEqual(['staging-ecs', 'staging-gke']);
  });

  const APPROVAL = {
    ...ECS_RELEASE,
    approval: 'action',
    approvers: 'alice, acme/release-managers',
    'approval-timeout': '3h',
  };
  const approvedBy = (login: string): Answer => ({ result: 'success', outputs: { approved: 'true', approver: login } });

  it('approval: action puts an approval job between staging and production; production deploys only once it approved, its environment check off', () => {
    const run = simulate(release, APPROVAL, (job) =>
      job === 'build' ? built() : job === 'production-approval' ? approvedBy('alice') : deployed(),
    );
    expect(run.logs.check).toContain(
      'production waits for an approval by alice, acme/release-managers (approval job, up to 3h)',
    );
    expect(run.done['production-approval']?.result).toBe('success');
    expect(run.calls['production-ecs']).toMatchObject({ environment: 'production', image: DIGEST, gated: 'false' });
    expect(run.calls['staging-ecs']?.gated).toBeUndefined();
    expect(run.outputs).toMatchObject({ 'production-status': 'succeeded', 'production-approver': 'alice' });
    const step = release.jobs['production-approval']?.steps?.[0] as { uses?: string; with?: Record<string, string> };
    expect(step.uses).toBe('org/platform-actions/actions/approval@v1');
    expect(step.with).toMatchObject({
      approvers: '${{ inputs.approvers }}',
      environment: '${{ inputs.production-environment }}',
      timeout: '${{ inputs.approval-timeout }}',
      notify: '${{ secrets.notify }}',
    });
    expect(release.jobs['production-approval']?.permissions).toEqual({ issues: 'write', deployments: 'write' });
  });

  it('approval: action on GKE gates deploy-gke.yml the same way', () => {
    const run = simulate(release, { ...GKE_RELEASE, approval: 'action', approvers: 'alice' }, (job) =>
      job === 'build' ? built() : job === 'production-approval' ? approvedBy('alice') : deployed(),
    );
    expect(run.calls['production-gke']).toMatchObject({ environment: 'production', gated: 'false' });
  });

  it('a rejected or timed-out approval leaves production undeployed; a failed staging never asks', () => {
    for (const answer of [{ result: 'failure', outputs: { approved: 'false' } }, { result: 'failure' }] as Answer[]) {
      const run = simulate(release, APPROVAL, (job) =>
        job === 'build' ? built() : job === 'production-approval' ? answer : deployed(),
      );
      expect(run.done['production-ecs']?.result).toBe('skipped');
      expect(run.calls['production-ecs']).toBeUndefined();
      expect(run.outputs['production-status']).toBe('');
    }
    const failedStaging = simulate(release, APPROVAL, (job) =>
      job === 'build' ? built() : job === 'staging-ecs' ? deployed('rolled-back') : deployed(),
    );
    expect(failedStaging.done['production-approval']?.result).toBe('skipped');
    expect(failedStaging.done['production-ecs']?.result).toBe('skipped');
  });

  it('approval: environment (the default) skips the approval job and leaves production to its environment gate', () => {
    const run = simulate(release, ECS_RELEASE, (job) => (job === 'build' ? built() : deployed()));
    expect(run.done['production-approval']?.result).toBe('skipped');
    expect(run.calls['production-ecs']?.gated).toBe('auto');
  });

  it('passes on-failure, allow-ungated and the notify secret to every stage', () => {
    const run = simulate(release, { ...ECS_RELEASE, 'on-failure': 'stop', 'allow-ungated': true }, (job) =>
      job === 'build' ? built() : deployed(),
    );
    for (const stage of ['dev-ecs', 'staging-ecs', 'production-ecs'])
      expect(run.calls[stage]).toMatchObject({ 'on-failure': 'stop', 'allow-ungated': 'true' });
    const defaults = simulate(release, ECS_RELEASE, (job) => (job === 'build' ? built() : deployed()));
    expect(defaults.calls['dev-ecs']).toMatchObject({ 'on-failure': 'rollback-release', 'allow-ungated': 'false' });
    const deployJobs = Object.entries(release.jobs).filter(([, j]) => /deploy-(ecs|gke)\.yml/.test(j.uses ?? ''));
    expect(deployJobs).toHaveLength(8);
    for (const [, j] of deployJobs)
      expect((j as { secrets?: Record<string, string> }).secrets).toEqual({ notify: '${{ secrets.notify }}' });
  });

  it.each([
    [{ approval: 'issue' }, 'approval is "issue"; use environment'],
    [
      { approval: 'action', approvers: ' , ' },
      'approval is action but approvers is empty; name who may approve production',
    ],
    [{ 'on-failure': 'continue' }, 'on-failure is "continue"; use rollback-release'],
  ])('refuses %j before anything is built', (extra, message) => {
    const run = simulate(release, { ...ECS_RELEASE, ...extra }, (job) => (job === 'build' ? built() : deployed()));
    expect(run.logs.check).toContain(`::error title=release::${message}`);
    expect(run.calls.build).toBeUndefined();
  });

  it('warns that approval: action does not gate the resume of paused production canaries', () => {
    const run = simulate(release, { ...APPROVAL, 'production-pause-at': '25' }, (job) =>
      job === 'build' ? built() : job === 'production-approval' ? approvedBy('alice') : deployed(),
    );
    expect(run.logs.check).toContain('::warning title=release::approval is action and production-pause-at is set');
  });
});

describe('promote.yml', () => {
  const promote = loadWorkflow('promote.yml');
  const GIVEN = {
    'from-environment': 'staging',
    'to-environment': 'production',
    service: 'open-webui',
    cluster: 'webui',
    'aws-region': 'eu-west-1',
    'role-to-assume': 'arn:aws:iam::222222222222:role/deploy-production',
  };
  const promoted: Answer = {
    result: 'success',
    outputs: { image: DIGEST, digest: 'sha256:' + 'c'.repeat(64), 'deployment-id': '77' },
  };

  it('deploys the promoted digest to the target environment through deploy-ecs.yml, whose plan accepts the one-service list', () => {
    const run = simulate(promote, GIVEN, (job) =>
      job === 'promote' ? promoted : job === 'abandon' ? { result: 'success' } : deployed(),
    );
    const w = run.calls['deploy-ecs'] as Record<string, string>;
    expect(w).toMatchObject({
      environment: 'production',
      image: DIGEST,
      services: '["open-webui"]',
      strategy: 'auto',
      'wait-timeout': '30m',
    });
    expect(run.done['deploy-gke']?.result).toBe('skipped');
    const deployEcs = loadWorkflow('deploy-ecs.yml');
    const inputs = callInputs(
      deployEcs,
      Object.fromEntries(
        Object.entries(w)
          .filter(([k]) => k in (deployEcs.on.workflow_call?.inputs ?? {}))
          .map(([k, v]) => [
            k,
            k === 'role-duration-seconds' || k === 'timeout-minutes'
              ? Number(v)
              : k === 'rollback-on-failure' || k === 'dry-run'
                ? v === 'true'
                : v,
          ]),
      ),
    );
    const plan = runScriptStep(stepOf(deployEcs.jobs.plan!, 'plan'), { inputs });
    expect(plan.status).toBe(0);
    expect(JSON.parse(plan.outputs.services as string)).toEqual([
      expect.objectContaining({ service: 'open-webui', image: DIGEST, cluster: 'webui' }),
    ]);
    expect(run.outputs).toMatchObject({ image: DIGEST, 'deployment-id': '77', status: 'succeeded' });
  });

  it('keeps the one-service list valid JSON whatever the service name holds', () => {
    const run = simulate(promote, { ...GIVEN, service: 'we"ird\\name' }, (job) =>
      job === 'promote' ? promoted : deployed(),
    );
    expect(JSON.parse(run.calls['deploy-ecs']?.services as string)).toEqual(['we"ird\\name']);
  });

  it.each([
    ['rejected by the reviewers (the deploy job failed)', { result: 'failure' as const }],
    ['deployed', { result: 'success' as const }],
  ])('runs abandon whenever a deployment was queued: %s', (_, deploy) => {
    const run = simulate(promote, GIVEN, (job) =>
      job === 'promote' ? promoted : job === 'deploy-ecs' ? deploy : { result: 'success' },
    );
    expect(run.done.abandon?.result).not.toBe('skipped');
  });

  it('does not run abandon when promote queued nothing', () => {
    const run = simulate(promote, GIVEN, (job) => (job === 'promote' ? { result: 'failure' } : { result: 'success' }));
    expect(run.done.abandon?.result).toBe('skipped');
  });
});

describe('the release starter workflow', () => {
  const template = loadWorkflow('workflows-templates/release.yml');
  const vars = {
    IMAGE_PUSH_ROLE: 'arn:aws:iam::111111111111:role/github-image-push',
    DEV_DEPLOY_ROLE: 'arn:aws:iam::111111111111:role/github-deploy-dev',
    STAGING_DEPLOY_ROLE: 'arn:aws:iam::111111111111:role/github-deploy-staging',
    PRODUCTION_DEPLOY_ROLE: 'arn:aws:iam::111111111111:role/github-deploy-production',
    GATEWAY_IMAGE: `public.ecr.aws/aws-samples/bedrock-access-gateway@sha256:${'1'.repeat(64)}`,
    MCPO_IMAGE: `ghcr.io/open-webui/mcpo@sha256:${'2'.repeat(64)}`,
  };
  const given = (event: string) => {
    const w = template.jobs.release?.with ?? {};
    const rendered = renderAll(w, { github: { event_name: event }, vars });
    return Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, k === 'deploy' ? v === 'true' : v]));
  };

  it('passes the release check and the deploy plan on a push: the gateway and the MCP proxy first, Open WebUI with the built digest', () => {
    const run = simulate(release, given('push'), (job) => (job === 'build' ? built() : deployed()));
    expect(run.done.check?.result).toBe('success');
    expect(Object.keys(run.calls)).toEqual(['build', 'dev-ecs', 'staging-ecs', 'production-ecs']);
    expect(run.calls['production-ecs']).toMatchObject({
      environment: 'production',
      cluster: 'webui',
      'role-to-assume': vars.PRODUCTION_DEPLOY_ROLE,
    });
    const deployEcs = loadWorkflow('deploy-ecs.yml');
    const w = run.calls['dev-ecs'] as Record<string, string>;
    const inputs = callInputs(deployEcs, {
      ...Object.fromEntries(
        Object.entries(w).filter(([k]) => !['role-duration-seconds', 'timeout-minutes'].includes(k)),
      ),
      'role-duration-seconds': Number(w['role-duration-seconds']),
      'timeout-minutes': Number(w['timeout-minutes']),
    });
    const plan = runScriptStep(stepOf(deployEcs.jobs.plan!, 'plan'), { inputs });
    expect(plan.status).toBe(0);
    expect(
      (JSON.parse(plan.outputs.services as string) as Array<Record<string, string>>).map((e) => [e.service, e.image]),
    ).toEqual([
      ['bedrock-access-gateway', vars.GATEWAY_IMAGE],
      ['mcpo', vars.MCPO_IMAGE],
      ['open-webui', DIGEST],
    ]);
  });

  it('deploys third-party images only by digest, scanned before the release starts', () => {
    const services = JSON.parse(given('push').services as string) as Array<{ service: string; image?: string }>;
    const thirdParty = services.filter((e) => e.image !== undefined).map((e) => e.image);
    expect(thirdParty).toEqual([vars.GATEWAY_IMAGE, vars.MCPO_IMAGE]);
    for (const image of thirdParty) expect(image).toMatch(/@sha256:[a-f0-9]{64}$/);
    const scan = template.jobs['third-party-images'] as unknown as {
      strategy: { matrix: { image: string[] } };
      steps: Array<{ uses?: string; with?: Record<string, string> }>;
    };
    expect(scan.strategy.matrix.image.map((i) => render(i, { vars }))).toEqual(thirdParty);
    expect(scan.steps.find((st) => st.uses?.includes('/actions/image-scan@'))?.with?.image).toBe('${{ matrix.image }}');
    expect(template.jobs.release?.needs).toBe('third-party-images');
  });

  it('only builds and scans on a pull request', () => {
    const run = simulate(release, given('pull_request'), (job) => (job === 'build' ? built() : deployed()));
    expect(Object.keys(run.calls)).toEqual(['build']);
  });
});
