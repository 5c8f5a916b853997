import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetBucketTaggingCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { addCommitStatus, startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { motoClientConfig, motoEndpoint, resetMoto } from '../support/moto.js';
import { Job, type StepResult } from '../support/runner.js';
import { applyStack, backendConfig, copyFixture, createStateBucket, terraformEnv } from '../support/terraform.js';

const moto = motoEndpoint();
const tfEnv = terraformEnv(moto);
let gh: GitHubServer;
let job: Job;
let pr: number;
const s3 = new S3Client({ ...motoClientConfig(moto), forcePathStyle: true });
const ec2 = new EC2Client(motoClientConfig(moto));

const planInputs = (team: string, extra: Record<string, string> = {}) => ({
  'working-directory': 'app',
  'backend-config': backendConfig('app.tfstate'),
  variables: `team = "${team}"`,
  'github-token': gh.token,
  ...extra,
});

const applyInputs = (plan: StepResult, planId = plan.outputs['plan-id'] as string) => ({
  'working-directory': 'app',
  'plan-file': plan.outputs['plan-file'] as string,
  'plan-id': planId,
  'github-token': gh.token,
});

async function team(): Promise<string | undefined> {
  const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: 'pa-app' }));
  return tags.TagSet?.find((t) => t.Key === 'team')?.Value;
}

const comment = () => gh.store.commentsOn('acme', 'webapp', pr)[0]?.body ?? '';

beforeAll(async () => {
  gh = await startGitHubServer();
  await resetMoto(moto);
  await createStateBucket(moto);
  job = new Job({ ...tfEnv, ...gh.env() });
  const dir = copyFixture('apply', join(job.workspace, 'app'));
  applyStack(dir, tfEnv, { key: 'app.tfstate' });
  pr = gh.store.createPullRequest('acme', 'webapp', { title: 'app', head: 'feature', headSha: 'f'.repeat(40) }).number;
  job.setEvent('pull_request', {
    number: pr,
    pull_request: { number: pr, labels: [], head: { ref: 'feature', sha: 'f'.repeat(40) }, base: { ref: 'main' } },
  });
}, 120_000);

afterAll(() => {
  s3.destroy();
  ec2.destroy();
  return gh.close();
});
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

describe('terraform-apply', () => {
  it('applies the reviewed plan in a fresh checkout after the merge and marks the PR comment applied', async () => {
    const plan = await job.run('terraform-plan', { inputs: planInputs('platform') });
    expect(plan.exitCode).toBe(0);
    expect(plan.outputs.change).toBe('1');
    expect(comment()).toContain(`plan-id:${plan.outputs['plan-id']}`);

    // The apply job: another runner, a fresh checkout of the merge commit, the plan from the artifact.
    gh.store.mergePullRequest('acme', 'webapp', pr, '9'.repeat(40));
    const applyJob = new Job({ ...tfEnv, ...gh.env(), GITHUB_SHA: '9'.repeat(40), GITHUB_RUN_ID: '5000' });
    copyFixture('apply', join(applyJob.workspace, 'app'));
    const artifact = join(applyJob.workspace, 'plan.tfplan');
    copyFileSync(plan.outputs['plan-file'] as string, artifact);
    applyJob.setEvent('push', { ref: 'refs/heads/main', after: '9'.repeat(40) });
    // No plan-id given: the reviewed one is read from the plan's commit status on the merged pull request's head.
    const applied = await applyJob.run('terraform-apply', {
      inputs: { ...applyInputs(plan), 'plan-file': '../plan.tfplan', 'plan-id': '' },
    });

    expect(applied.failure).toBeUndefined();
    expect(applied.exitCode).toBe(0);
    expect(applied.log).toContain('init -input=false -no-color -backend=false');
    expect(applied.log).toContain(
      `reviewed: ${plan.outputs['plan-id']} (from the terraform-plan: app status by github-actions[bot] on ffffffffffff, pull request #${pr})`,
    );
    expect(applied.outputs).toMatchObject({ add: '0', change: '1', destroy: '0' });
    expect(await team()).toBe('platform');
    expect(comment()).toContain('✅ **Applied** in [run 5000]');
    expect(comment()).toContain('0 added, 1 changed, 0 destroyed');
    expect(comment()).toContain('Update in place (1)');
    expect(applied.summary).toContain('Applied the reviewed plan');
    expect(gh.store.commentsOn('acme', 'webapp', pr)).toHaveLength(1);
  }, 300_000);

  it("takes the reviewed plan-id only from the status plan-author set: a commenter's marker or status is ignored", async () => {
    const head = 'e'.repeat(40);
    const number = gh.store.createPullRequest('acme', 'webapp', {
      title: 'forged',
      head: 'forged',
      headSha: head,
    }).number;
    const prJob = new Job({ ...tfEnv, ...gh.env() });
    copyFixture('apply', join(prJob.workspace, 'app'));
    prJob.setEvent('pull_request', {
      number,
      pull_request: { number, labels: [], head: { ref: 'forged', sha: head }, base: { ref: 'main' } },
    });
    const reviewed = await prJob.run('terraform-plan', { inputs: planInputs('reviewed-x') });
    expect(reviewed.exitCode).toBe(0);
    // What the attacker wants applied, with its plan-id planted where a careless reader looks.
    const evil = await prJob.run('terraform-plan', { inputs: planInputs('evil', { comment: 'off' }) });
    const evilId = evil.outputs['plan-id'] as string;
    const mallory = { login: 'mallory', id: 666 };
    gh.store.comment(
      'acme',
      'webapp',
      number,
      `<!-- platform-actions:terraform-plan:app -->\n<!-- platform-actions:plan-id:${evilId} -->\nLGTM`,
      mallory,
    );
    addCommitStatus(gh.store, 'acme', 'webapp', {
      sha: head,
      state: 'success',
      context: 'terraform-plan: app',
      description: `plan-id ${evilId}`,
      target_url: null,
      creator: mallory,
    });

    gh.store.mergePullRequest('acme', 'webapp', number, '8'.repeat(40));
    const applyJob = new Job({ ...tfEnv, ...gh.env(), GITHUB_SHA: '8'.repeat(40), GITHUB_RUN_ID: '5001' });
    copyFixture('apply', join(applyJob.workspace, 'app'));
    applyJob.setEvent('push', { ref: 'refs/heads/main', after: '8'.repeat(40) });
    const refused = await applyJob.run('terraform-apply', { inputs: { ...applyInputs(evil), 'plan-id': '' } });
    expect(refused.exitCode).toBe(1);
    expect(refused.failure).toContain('does not mean what was reviewed');
    expect(refused.log).toContain('Ignored the terraform-plan: app status set by mallory');
    expect(refused.log).toContain(`reviewed: ${reviewed.outputs['plan-id'] as string}`);
    expect(await team()).not.toBe('evil');
    // The refusal went to our own comment, not to mallory's.
    expect(
      gh.store.commentsOn('acme', 'webapp', number).find((c) => c.user.login === 'github-actions[bot]')?.body,
    ).toContain('⛔ **Apply refused**');
    expect(gh.store.commentsOn('acme', 'webapp', number).find((c) => c.user.login === 'mallory')?.body).not.toContain(
      'Apply refused',
    );

    // With only a forged status and no status of ours, there is no reviewed plan-id at all.
    const lone = 'd'.repeat(40);
    const other = gh.store.createPullRequest('acme', 'webapp', {
      title: 'unplanned',
      head: 'unplanned',
      headSha: lone,
    }).number;
    addCommitStatus(gh.store, 'acme', 'webapp', {
      sha: lone,
      state: 'success',
      context: 'terraform-plan: app',
      description: `plan-id ${evilId}`,
      target_url: null,
      creator: mallory,
    });
    gh.store.mergePullRequest('acme', 'webapp', other, '7'.repeat(40));
    const noneJob = new Job({ ...tfEnv, ...gh.env(), GITHUB_SHA: '7'.repeat(40) });
    copyFixture('apply', join(noneJob.workspace, 'app'));
    noneJob.setEvent('push', { ref: 'refs/heads/main', after: '7'.repeat(40) });
    const none = await noneJob.run('terraform-apply', { inputs: { ...applyInputs(evil), 'plan-id': '' } });
    expect(none.exitCode).toBe(1);
    expect(none.failure).toContain(`has no terraform-plan: app status set by github-actions[bot]`);
    expect(await team()).not.toBe('evil');
  }, 300_000);

  it('refuses a plan whose meaning changed since the review, and shows what differs', async () => {
    const reviewed = await job.run('terraform-plan', { inputs: planInputs('reviewed-team') });
    expect(reviewed.exitCode).toBe(0);
    const changed = await job.run('terraform-plan', { inputs: planInputs('other-team', { comment: 'off' }) });
    expect(changed.outputs['plan-id']).not.toBe(reviewed.outputs['plan-id']);

    const refused = await job.run('terraform-apply', { inputs: applyInputs(changed, reviewed.outputs['plan-id']) });
    expect(refused.exitCode).toBe(1);
    expect(refused.failure).toContain('does not mean what was reviewed');
    expect(refused.failure).toContain(
      '~ aws_s3_bucket.app.tags.team: reviewed "platform" → "reviewed-team", now "platform" → "other-team"',
    );
    expect(await team()).toBe('platform');
    expect(comment()).toContain('⛔ **Apply refused**');
    expect(comment()).toContain('now "platform" → "other-team"');
  }, 300_000);

  it('accepts a plan that differs from the reviewed one only by refresh noise', async () => {
    const reviewed = await job.run('terraform-plan', { inputs: planInputs('quiet') });
    const before = readFileSync(reviewed.outputs['plan-json'] as string, 'utf8');

    // Out of band: a rule on the security group (no inline rules in the config) and
    // versioning on the bucket (not in the config): both show up in the next refresh.
    const sg = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['pa-app'] }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: sg.SecurityGroups?.[0]?.GroupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
      }),
    );
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'pa-app', VersioningConfiguration: { Status: 'Enabled' } }));

    const replanned = await job.run('terraform-plan', { inputs: planInputs('quiet', { comment: 'off' }) });
    const after = readFileSync(replanned.outputs['plan-json'] as string, 'utf8');
    const drift = (JSON.parse(after) as { resource_drift?: Array<{ address: string }> }).resource_drift ?? [];
    expect(drift.map((d) => d.address).sort()).toEqual(['aws_s3_bucket.app', 'aws_security_group.app']);
    expect(after).not.toBe(before);
    expect(replanned.outputs['plan-id']).toBe(reviewed.outputs['plan-id']);

    const applied = await job.run('terraform-apply', { inputs: applyInputs(replanned, reviewed.outputs['plan-id']) });
    expect(applied.failure).toBeUndefined();
    expect(applied.exitCode).toBe(0);
    expect(await team()).toBe('quiet');
  }, 300_000);

  it("explains Terraform's refusal of a stale plan", async () => {
    const first = await job.run('terraform-plan', { inputs: planInputs('first', { comment: 'off' }) });
    const second = await job.run('terraform-plan', { inputs: planInputs('second', { comment: 'off' }) });
    expect((await job.run('terraform-apply', { inputs: applyInputs(second) })).exitCode).toBe(0);

    const stale = await job.run('terraform-apply', { inputs: applyInputs(first) });
    expect(stale.exitCode).toBe(1);
    expect(stale.failure).toContain('is stale: the state changed after it was made');
    expect(stale.failure).toContain('Re-run terraform-plan');
    expect(await team()).toBe('second');
  }, 300_000);

  it('checks its inputs before touching anything', async () => {
    const bad = await job.run('terraform-apply', { inputs: { 'plan-file': 'x', 'plan-id': 'not-an-id' } });
    expect(bad.exitCode).toBe(1);
    expect(bad.failure).toContain("plan-id 'not-an-id' is not a plan id");
    const missing = await job.run('terraform-apply', {
      inputs: { 'working-directory': 'app', 'plan-file': 'nope.tfplan', 'plan-id': 'a'.repeat(64) },
    });
    expect(missing.failure).toContain("plan-file 'nope.tfplan' does not exist");
  }, 300_000);
});
