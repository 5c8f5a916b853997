import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { Job } from '../support/runner.js';
import { applyStack, copyFixture, terraformEnv } from '../support/terraform.js';

// Only terraform_data (Terraform's built-in provider) and local state: no AWS needed.
const tfEnv = terraformEnv('http://127.0.0.1:9');
let gh: GitHubServer;
let job: Job;
let pr: number;

beforeAll(async () => {
  gh = await startGitHubServer();
  job = new Job({ ...tfEnv, ...gh.env() });
  const dir = copyFixture('large', join(job.workspace, 'big'));
  applyStack(dir, tfEnv, { vars: ['doomed=30'] });
  pr = gh.store.createPullRequest('acme', 'webapp', { title: 'big', head: 'big', headSha: 'b'.repeat(40) }).number;
  job.setEvent('pull_request', {
    number: pr,
    pull_request: { number: pr, labels: [], head: { ref: 'big' }, base: { ref: 'main' } },
  });
}, 120_000);

afterAll(() => gh.close());
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

describe('terraform-plan with a large plan', () => {
  it("keeps every destroy visible and the comment under GitHub's limit", async () => {
    const step = await job.run('terraform-plan', {
      inputs: {
        'working-directory': 'big',
        variables: 'doomed = 0\ncreated = 2000\npadding = 200',
        'github-token': gh.token,
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ add: '2000', destroy: '30', change: '0' });
    const body = gh.store.commentsOn('acme', 'webapp', pr)[0]?.body ?? '';
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body.length).toBeGreaterThan(50_000);
    expect(body.indexOf('Destroy and replace (30)')).toBeLessThan(body.indexOf('Create (2000)'));
    for (let i = 0; i < 30; i++) expect(body).toContain(`\`terraform_data.doomed[${i}]\` **destroy**`);
    const shown = (body.match(/`terraform_data\.created\[\d+\]` \*\*create\*\*/g) ?? []).length;
    expect(body).toContain(`… and ${2000 - shown} more changes not shown here: the full plan is in the job summary`);
    // The job summary holds far more of it (up to 1 MiB).
    expect((step.summary.match(/`terraform_data\.created\[\d+\]` \*\*create\*\*/g) ?? []).length).toBeGreaterThan(
      shown,
    );
    expect(Buffer.byteLength(step.summary)).toBeLessThanOrEqual(1024 * 1024);
  }, 300_000);
});

describe('terraform-binary', () => {
  it('runs tofu when asked (a tofu on PATH that records its calls)', async () => {
    // OpenTofu is not installed on this machine (neither npm nor Debian carries it): a
    // shim named tofu records each call and hands it to terraform, which shows the
    // action invokes the chosen binary for every command, with the same arguments.
    const bin = join(job.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const calls = join(job.dir, 'tofu-calls');
    writeFileSync(join(bin, 'tofu'), `#!/bin/sh\necho "$1" >> ${calls}\nexec terraform "$@"\n`);
    chmodSync(join(bin, 'tofu'), 0o755);
    const step = await job.run('terraform-plan', {
      inputs: { 'working-directory': 'big', 'terraform-binary': 'tofu', comment: 'off', 'stack-name': 'tofu-stack' },
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(step.failure).toBeUndefined();
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['init', 'validate', 'fmt', 'plan', 'show']);
    expect(step.summary).toContain('tofu ');
    expect(step.outputs).toMatchObject({ 'has-changes': 'true', destroy: '30' });
  }, 300_000);

  it('says how to install tofu when it is missing', async () => {
    const step = await job.run('terraform-plan', {
      inputs: { 'working-directory': 'big', 'terraform-binary': 'tofu', comment: 'off' },
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("'tofu' was not found on PATH.");
    expect(step.failure).toContain('opentofu/setup-opentofu');
  }, 60_000);
});
