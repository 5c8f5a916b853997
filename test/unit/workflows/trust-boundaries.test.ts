/**
 * The trust boundaries of the reusable workflows, evaluated with GitHub's expression
 * evaluator: what a pull request's run is given (role, repository, environment) and which
 * events may apply. A pull request runs code its author wrote; it must never hold what
 * production uses.
 */
import { describe, expect, it } from '@jest/globals';
import { condition, render, renderAll } from '../../support/expressions.js';
import { callInputs, loadWorkflow, type WorkflowJob } from '../../support/workflow-steps.js';

type JobWithEnv = WorkflowJob & { env?: Record<string, unknown> };
const PR_EVENTS = ['pull_request', 'pull_request_target'];
const WRITER_EVENTS = ['push', 'workflow_dispatch', 'schedule'];

describe('build-and-scan.yml: a pull request never writes the production repository', () => {
  const doc = loadWorkflow('build-and-scan.yml');
  const given = {
    image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/web',
    'role-to-assume': 'arn:aws:iam::111111111111:role/image-push',
    'workload-identity-provider': 'projects/1/locations/global/workloadIdentityPools/gh/providers/gh',
    'service-account': 'push@acme.iam.gserviceaccount.com',
  };
  /** The step inputs and conditions the build job's steps see under an event. */
  function buildJob(event: string, extra: Record<string, unknown> = {}) {
    const job = doc.jobs.build as JobWithEnv;
    const base = { inputs: callInputs(doc, { ...given, ...extra }), github: { event_name: event }, secrets: {} };
    const env = renderAll(job.env, base);
    const contexts = { ...base, env };
    const steps = job.steps ?? [];
    const aws = steps.find((s) => s.uses?.includes('/aws-auth@'));
    const gcp = steps.find((s) => s.uses?.includes('/gcp-auth@'));
    const build = steps.find((s) => s.id === 'build');
    return {
      aws: condition(aws?.if, contexts) ? renderAll(aws?.with, contexts) : undefined,
      gcp: condition(gcp?.if, contexts) ? renderAll(gcp?.with, contexts) : undefined,
      build: renderAll(build?.with, contexts),
    };
  }

  it.each(PR_EVENTS)('a %s run assumes only the pull request role, or none', (event) => {
    expect(buildJob(event).aws).toBeUndefined();
    expect(buildJob(event).gcp).toBeUndefined();
    const quarantined = buildJob(event, {
      'pull-request-image': '111111111111.dkr.ecr.eu-west-1.amazonaws.com/web-pr',
      'pull-request-role-to-assume': 'arn:aws:iam::111111111111:role/image-pr-push',
      'pull-request-service-account': 'pr-push@acme.iam.gserviceaccount.com',
    });
    expect(quarantined.aws?.['role-to-assume']).toBe('arn:aws:iam::111111111111:role/image-pr-push');
    expect(quarantined.gcp?.['service-account']).toBe('pr-push@acme.iam.gserviceaccount.com');
    // image-build itself pushes a pull request only to the quarantine repository (see image-build.test.ts).
    expect(quarantined.build['pull-request-image']).toBe('111111111111.dkr.ecr.eu-west-1.amazonaws.com/web-pr');
  });

  it.each(WRITER_EVENTS)('a %s run assumes the push role', (event) => {
    const job = buildJob(event, { 'pull-request-role-to-assume': 'arn:aws:iam::111111111111:role/image-pr-push' });
    expect(job.aws?.['role-to-assume']).toBe(given['role-to-assume']);
    expect(job.gcp?.['service-account']).toBe(given['service-account']);
  });

  it('scans only what was pushed', () => {
    const scan = doc.jobs.scan as WorkflowJob;
    expect(condition(scan.if, { needs: { build: { result: 'success', outputs: { pushed: 'true' } } } })).toBe(true);
    expect(condition(scan.if, { needs: { build: { result: 'success', outputs: { pushed: 'false' } } } })).toBe(false);
    const pushed = render((doc.jobs.build as WorkflowJob).outputs?.pushed, {
      steps: { build: { outputs: { metadata: JSON.stringify({ pushed: false }) } } },
    });
    expect(pushed).toBe('false');
  });

  it('the starter workflow gives pull requests a quarantine repository and role of their own', () => {
    const starter = loadWorkflow('workflows-templates/build-and-scan.yml') as unknown as {
      jobs: { image: { with: Record<string, string> } };
    };
    const w = starter.jobs.image.with;
    expect(w['pull-request-image']).toBeTruthy();
    expect(w['pull-request-image']).not.toBe(w.image);
    expect(w['pull-request-role-to-assume']).not.toBe(w['role-to-assume']);
  });
});

describe('terraform.yml: a pull request plans with its own role, and only the default branch applies', () => {
  const doc = loadWorkflow('terraform.yml');
  const given = {
    'working-directory': 'infra/prod',
    'plan-role-to-assume': 'arn:aws:iam::111111111111:role/terraform-plan',
    'pull-request-plan-role-to-assume': 'arn:aws:iam::111111111111:role/terraform-pr-plan',
    'apply-role-to-assume': 'arn:aws:iam::111111111111:role/terraform-apply',
    'plan-environment': 'plan',
  };
  const secrets = {
    TF_VARIABLES: 'db_password = "main-only"',
    PULL_REQUEST_TF_VARIABLES: 'db_password = "placeholder"',
  };
  function planJob(event: string) {
    const job = doc.jobs.plan as JobWithEnv;
    const base = { inputs: callInputs(doc, given), github: { event_name: event }, secrets };
    const contexts = { ...base, env: renderAll(job.env, base) };
    const aws = job.steps?.find((s) => s.uses?.includes('/aws-auth@'));
    const plan = job.steps?.find((s) => s.id === 'plan');
    return {
      environment: render(job.environment, contexts),
      role: condition(aws?.if, contexts) ? render(aws?.with?.['role-to-assume'], contexts) : undefined,
      variables: render(plan?.with?.variables, contexts),
      uploads: (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/upload-artifact')),
    };
  }

  it.each(PR_EVENTS)('a %s plan gets the pull request role, no environment and no main-only secret', (event) => {
    const plan = planJob(event);
    expect(plan.role).toBe(given['pull-request-plan-role-to-assume']);
    expect(plan.environment).toBe('');
    expect(plan.variables).toContain('placeholder');
    expect(plan.variables).not.toContain('main-only');
  });

  it('a push plan gets the plan role, the plan environment and the secret variables', () => {
    const plan = planJob('push');
    expect(plan.role).toBe(given['plan-role-to-assume']);
    expect(plan.environment).toBe('plan');
    expect(plan.variables).toContain('main-only');
  });

  it('saves no plan artifact: the apply job plans again with the apply role', () => {
    expect(planJob('push').uploads).toEqual([]);
    const apply = doc.jobs.apply as WorkflowJob;
    expect((apply.steps ?? []).some((s) => s.uses?.startsWith('actions/download-artifact'))).toBe(false);
    const replan = apply.steps?.find((s) => s.id === 'replan');
    expect(replan?.uses).toMatch(/\/actions\/terraform-plan@/);
    expect(replan?.with?.comment).toBe('off');
    expect(apply.steps?.find((s) => s.id === 'apply')?.with?.['plan-file']).toBe(
      '${{ steps.replan.outputs.plan-file }}',
    );
  });

  it('applies only on a push or a dispatch of the default branch (an allowlist of events)', () => {
    const apply = doc.jobs.apply as WorkflowJob;
    const applies = (event: string, ref = 'refs/heads/main') =>
      condition(apply.if, {
        github: { event_name: event, ref, event: { repository: { default_branch: 'main' } } },
        needs: { plan: { result: 'success', outputs: { 'has-changes': 'true' } } },
      });
    expect(applies('push')).toBe(true);
    expect(applies('workflow_dispatch')).toBe(true);
    for (const event of [
      'pull_request',
      'pull_request_target',
      'issue_comment',
      'workflow_run',
      'merge_group',
      'schedule',
      'repository_dispatch',
    ])
      expect([event, applies(event)]).toEqual([event, false]);
    expect(applies('push', 'refs/heads/feature')).toBe(false);
  });
});
