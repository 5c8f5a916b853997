import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { marker } from '../../src/github/markdown.js';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job, ROOT } from '../support/runner.js';
import {
  applyStack,
  backendConfig,
  copyFixture,
  createStateBucket,
  terraformEnv,
  TF_FIXTURES,
} from '../support/terraform.js';

const moto = motoEndpoint();
let gh: GitHubServer;
let job: Job;
const tfEnv = terraformEnv(moto);

function prEvent(number: number, labels: string[] = []) {
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      labels: labels.map((name) => ({ name })),
      head: { ref: 'feature', sha: 'f'.repeat(40) },
      base: { ref: 'main' },
    },
  };
}

function newJob(): Job {
  const j = new Job({ ...tfEnv, ...gh.env() });
  return j;
}

const planInputs = (extra: Record<string, string> = {}) => ({
  'working-directory': 'infra',
  'backend-config': backendConfig('changes.tfstate'),
  'github-token': gh.token,
  ...extra,
});

beforeAll(async () => {
  gh = await startGitHubServer();
  await resetMoto(moto);
  await createStateBucket(moto);
  // The applied starting point shared by the cases below, then the change under review.
  job = newJob();
  const dir = copyFixture('changes', join(job.workspace, 'infra'));
  applyStack(dir, tfEnv, { key: 'changes.tfstate' });
  copyFileSync(join(TF_FIXTURES, 'changes', 'v2', 'main.tf'), join(dir, 'main.tf'));
  rmSync(join(dir, 'v2'), { recursive: true });
  rmSync(join(dir, '.terraform'), { recursive: true });
  await fetch(`${moto}/pa-imported`, { method: 'PUT' });
}, 120_000);

afterAll(() => gh.close());
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

describe('terraform-plan', () => {
  it('counts every kind of change from the JSON plan and posts one comment per stack', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', {
      title: 'infra v2',
      head: 'feature',
      headSha: 'f'.repeat(40),
    });
    job.setEvent('pull_request', prEvent(pr.number));
    const step = await job.run('terraform-plan', { inputs: planInputs() });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(step.outputs).toMatchObject({
      'has-changes': 'true',
      // reports, logs.retention[0], logs.retention[1] + the replaced security group
      add: '4',
      // assets tags, secret input (the import of `imported` is a no-op import)
      change: '2',
      // legacy + the replaced security group
      destroy: '2',
      replace: '1',
      import: '1',
      move: '1',
    });
    expect(step.outputs['plan-id']).toMatch(/^[0-9a-f]{64}$/);

    const comments = gh.store.commentsOn('acme', 'webapp', pr.number);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? '';
    expect(body).toContain(marker('terraform-plan:infra'));
    expect(body).toContain(marker(`plan-id:${step.outputs['plan-id']}`));
    // Destroys and replaces come first, flagged, with Terraform's reason.
    const destroyAt = body.indexOf('Destroy and replace (2)');
    expect(destroyAt).toBeGreaterThan(0);
    expect(destroyAt).toBeLessThan(body.indexOf('Update in place (2)'));
    expect(body.indexOf('Update in place (2)')).toBeLessThan(body.indexOf('Create (3)'));
    expect(body).toMatch(/`terraform_data\.legacy` \*\*destroy\*\*: _removed from the configuration_/);
    expect(body).toMatch(/`aws_security_group\.web` \*\*replace \(destroy then create\)\*\*/);
    expect(body).toContain('~ description: "web v1" → "web v2"   # forces replacement');
    expect(body).toContain('~ tags.team: "web" → "platform"');
    expect(body).toMatch(/`terraform_data\.new_name` \*\*move\*\* \(moved from `terraform_data\.old_name`\)/);
    expect(body).toMatch(/`aws_s3_bucket\.imported` \*\*import\*\* \(import `pa-imported`\)/);
    expect(body).toContain('`terraform_data.forgotten` **forget**');
    expect(body).toContain('| 4 | 2 | 2 | 1 | 1 | 1 | 1 | 0 | 0 |');
    // Creates grouped by module.
    expect(body).toContain('**module.logs**');
    expect(body).toContain('`module.logs.terraform_data.retention[1]` **create**');
    // Sensitive values never appear, only the fact that they change.
    expect(body).toContain('~ input: (sensitive value) → (sensitive value)');
    for (const text of [body, step.summary, step.log]) {
      expect(text).not.toContain('hunter2');
    }
    // The job summary has the same plan, and the files are there for an artifact.
    expect(step.summary).toContain('Destroy and replace (2)');
    expect(readFileSync(step.outputs['summary-path'] as string, 'utf8')).toBe(
      step.summary.trimEnd() + (step.summary.endsWith('\n') ? '\n' : ''),
    );
    const json = JSON.parse(readFileSync(step.outputs['plan-json'] as string, 'utf8')) as {
      resource_changes: unknown[];
    };
    expect(json.resource_changes.length).toBeGreaterThan(5);

    // A second run edits the same comment instead of adding one.
    const again = await job.run('terraform-plan', { inputs: planInputs() });
    expect(again.exitCode).toBe(0);
    expect(gh.store.commentsOn('acme', 'webapp', pr.number)).toHaveLength(1);
    expect(again.outputs['plan-id']).toBe(step.outputs['plan-id']);
  }, 300_000);

  it('refuses destroys without the label, and passes with it', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', {
      title: 'guarded',
      head: 'guarded',
      headSha: 'e'.repeat(40),
    });
    job.setEvent('pull_request', prEvent(pr.number));
    const refused = await job.run('terraform-plan', {
      inputs: planInputs({ 'fail-on-destroy': 'true', 'stack-name': 'guarded' }),
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.failure).toContain('destroys or replaces 2 resource(s)');
    expect(refused.failure).toContain('Add the `allow-destroy` label');
    const comment = gh.store.commentsOn('acme', 'webapp', pr.number)[0]?.body ?? '';
    expect(comment).toContain('⛔ This plan destroys or replaces 2 resource(s)');
    expect(refused.outputs.destroy).toBe('2');

    // Labels are read from the API, not the (stale) event payload.
    gh.store.repo('acme', 'webapp').issues.get(pr.number)?.labels.push('allow-destroy');
    const allowed = await job.run('terraform-plan', {
      inputs: planInputs({ 'fail-on-destroy': 'true', 'stack-name': 'guarded' }),
    });
    expect(allowed.failure).toBeUndefined();
    expect(allowed.exitCode).toBe(0);
    const updated = gh.store.commentsOn('acme', 'webapp', pr.number);
    expect(updated).toHaveLength(1);
    expect(updated[0]?.body).toContain(
      '✅ This plan destroys or replaces 2 resource(s); allowed by the `allow-destroy` label.',
    );
  }, 300_000);

  it('guards protected resources even when destroys are otherwise allowed', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', { title: 'protected', head: 'p', headSha: 'd'.repeat(40) });
    job.setEvent('pull_request', prEvent(pr.number));
    const refused = await job.run('terraform-plan', {
      inputs: planInputs({
        'protected-resources': 'aws_security_group.*\nmodule.db.**',
        'stack-name': 'protected',
        comment: 'off',
      }),
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.failure).toContain('destroys or replaces protected resources (`aws_security_group.web`)');
    expect(refused.summary).toContain('`aws_security_group.web` **replace (destroy then create)** 🛡️ **protected**');
    expect(gh.store.commentsOn('acme', 'webapp', pr.number)).toHaveLength(0);
  }, 300_000);

  it('shows init, validate and plan errors with file and line, in annotations and the comment', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', { title: 'broken', head: 'b', headSha: 'c'.repeat(40) });
    const broken = newJob();
    broken.setEvent('pull_request', prEvent(pr.number));
    copyFixture('broken', join(broken.workspace, 'stacks', 'broken'));
    const step = await broken.run('terraform-plan', {
      inputs: {
        'working-directory': 'stacks/broken',
        'backend-config': backendConfig('broken.tfstate'),
        'github-token': gh.token,
      },
    });
    expect(step.exitCode).toBe(1);
    const error = step.annotations.find((a) => a.level === 'error' && a.properties.file);
    expect(error?.properties).toMatchObject({ file: 'stacks/broken/main.tf', line: '15' });
    expect(error?.message).toContain('Reference to undeclared resource');
    const body = gh.store.commentsOn('acme', 'webapp', pr.number)[0]?.body ?? '';
    expect(body).toContain('❌ failed');
    expect(body).toContain('Reference to undeclared resource');
    expect(body).toContain('`stacks/broken/main.tf:15`');
    expect(step.outputs['plan-id']).toBe('');
  }, 300_000);

  it('plans the seed workload (VPC, ALB with blue/green target groups, ECS cluster, task-set and rolling services) from scratch', async () => {
    const seed = newJob();
    cpSync(join(ROOT, 'examples', 'seed-workload', 'terraform'), join(seed.workspace, 'seed'), { recursive: true });
    const step = await seed.run('terraform-plan', {
      inputs: {
        'working-directory': 'seed',
        'backend-config': `${backendConfig('seed.tfstate')}\n`,
        'github-token': gh.token,
        'fmt-check': 'fail',
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ 'has-changes': 'true', add: '26', change: '0', destroy: '0' });
    // The execution policy document depends on the log group's ARN: read during apply.
    expect(step.summary).toContain(
      '`data.aws_iam_policy_document.execution` **read**: _its configuration depends on values known only after apply_',
    );
    for (const address of [
      'aws_lb_target_group.open_webui["blue"]',
      'aws_lb_target_group.open_webui["green"]',
      'aws_lb_target_group.gateway',
      'aws_ecs_cluster.main',
      'aws_ecs_service.open_webui',
      'aws_ecs_service.rolling["mcpo"]',
      'terraform_data.open_webui_initial_task_set',
    ]) {
      expect(step.summary).toContain(`\`${address}\` **create**`);
    }
  }, 300_000);
});
