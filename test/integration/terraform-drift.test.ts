import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateTagsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { PutBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import type { StackReport } from '../../src/terraform/drift.js';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { motoClientConfig, motoEndpoint, resetMoto } from '../support/moto.js';
import { Job, type StepResult } from '../support/runner.js';
import { applyStack, copyFixture, createStateBucket, MOTO_BACKEND, terraformEnv } from '../support/terraform.js';

const moto = motoEndpoint();
const tfEnv = terraformEnv(moto);
let gh: GitHubServer;
let job: Job;
const s3 = new S3Client({ ...motoClientConfig(moto), forcePathStyle: true });
const ec2 = new EC2Client(motoClientConfig(moto));
const SSH = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };

const driftInputs = (extra: Record<string, string> = {}) => ({
  stacks: 'stacks/*',
  'backend-config': `${MOTO_BACKEND}\nkey={stack}.tfstate`,
  concurrency: '2',
  'github-token': gh.token,
  ...extra,
});

function reportOf(step: StepResult): { stacks: StackReport[] } {
  return JSON.parse(readFileSync(step.outputs.report as string, 'utf8')) as { stacks: StackReport[] };
}
const stack = (step: StepResult, name: string) => reportOf(step).stacks.find((s) => s.stack === name) as StackReport;
const issues = () => [...gh.store.repo('acme', 'webapp').issues.values()];

async function groupId(): Promise<string> {
  const sg = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['pa-drift-app'] }));
  return sg.SecurityGroups?.[0]?.GroupId as string;
}

beforeAll(async () => {
  gh = await startGitHubServer();
  await resetMoto(moto);
  await createStateBucket(moto);
  job = new Job({ ...tfEnv, ...gh.env(), GITHUB_EVENT_NAME: 'schedule' });
  for (const name of ['network', 'storage']) {
    const dir = copyFixture(`drift/${name}`, join(job.workspace, 'stacks', name));
    applyStack(dir, tfEnv, { key: `stacks/${name}.tfstate` });
  }
}, 120_000);

afterAll(() => {
  s3.destroy();
  ec2.destroy();
  return gh.close();
});
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

describe('terraform-drift', () => {
  it("reports nothing right after apply, where Terraform's exit code would", async () => {
    // The exit code says "changes" for the untagged VPC (tags null → {}) although nothing drifted.
    const exit = spawnSync('terraform', ['plan', '-refresh-only', '-detailed-exitcode', '-input=false', '-no-color'], {
      cwd: join(job.workspace, 'stacks', 'network'),
      env: { ...process.env, ...tfEnv },
      encoding: 'utf8',
    });
    expect(exit.status).toBe(2);

    const step = await job.run('terraform-drift', { inputs: driftInputs() });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(step.outputs).toMatchObject({ drifted: 'false', 'drifted-stacks': '[]' });
    expect(reportOf(step).stacks.map((s) => [s.stack, s.status])).toEqual([
      ['stacks/network', 'clean'],
      ['stacks/storage', 'clean'],
    ]);
    expect(step.log).toContain('Checking 2 stack(s) for drift, 2 at a time');
    expect(issues()).toHaveLength(0);
  }, 300_000);

  it('finds drift made through the AWS API, attribute by attribute, and opens one issue per stack', async () => {
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'pa-drift-data',
        Tagging: {
          TagSet: [
            { Key: 'owner', Value: 'intruder' },
            { Key: 'extra', Value: '1' },
          ],
        },
      }),
    );
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: await groupId(), IpPermissions: [SSH] }));

    const step = await job.run('terraform-drift', { inputs: driftInputs() });
    expect(step.exitCode).toBe(0);
    expect(step.outputs.drifted).toBe('true');
    expect(JSON.parse(step.outputs['drifted-stacks'] as string)).toEqual(['stacks/network', 'stacks/storage']);

    const storage = stack(step, 'stacks/storage');
    expect(storage.status).toBe('drifted');
    expect(storage.drift).toEqual([
      {
        address: 'aws_s3_bucket.data',
        change: 'changed',
        attributes: expect.arrayContaining([
          { path: 'tags.owner', before: '"platform"', after: '"intruder"' },
          { path: 'tags.extra', before: 'null', after: '"1"' },
        ]),
      },
    ]);
    // A plain apply would put the tags back: that is undoing drift, not pending configuration.
    expect(storage.pending).toEqual([
      { address: 'aws_s3_bucket.data', kind: 'update', attributes: [], revertsDrift: true },
    ]);

    const network = stack(step, 'stacks/network');
    expect(network.drift).toHaveLength(1);
    expect(network.drift[0]?.address).toBe('aws_security_group.app');
    expect(network.drift[0]?.attributes).toEqual(
      expect.arrayContaining([{ path: 'ingress[0].from_port', before: 'null', after: '22' }]),
    );
    expect(network.pending).toEqual([]);

    const opened = issues();
    expect(opened.map((i) => [i.title, i.state, i.labels])).toEqual([
      ['Drift detected in stacks/network', 'open', ['drift']],
      ['Drift detected in stacks/storage', 'open', ['drift']],
    ]);
    expect(opened[1]?.body).toContain('<!-- platform-actions:terraform-drift:stacks/storage -->');
    expect(opened[1]?.body).toContain('| `tags.owner` | "platform" | "intruder" |');
    expect(step.summary).toContain('⚠️ drifted');

    // Next run: the network drift is the same (its issue stays as it is), the storage
    // drift changed (its issue is rewritten, with a comment saying so).
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'pa-drift-data',
        Tagging: { TagSet: [{ Key: 'owner', Value: 'someone-else' }] },
      }),
    );
    const again = await job.run('terraform-drift', { inputs: driftInputs() });
    expect(again.outputs.drifted).toBe('true');
    expect(issues()).toHaveLength(2);
    const [networkIssue, storageIssue] = issues();
    expect(gh.callsOf('issues/update').map((c) => c.path)).toEqual([
      `/repos/acme/webapp/issues/${storageIssue?.number}`,
    ]);
    expect(storageIssue?.body).toContain('"someone-else"');
    expect(gh.store.commentsOn('acme', 'webapp', storageIssue?.number as number).map((c) => c.body)).toEqual([
      expect.stringContaining('The drift changed'),
    ]);
    expect(gh.store.commentsOn('acme', 'webapp', networkIssue?.number as number)).toEqual([]);
  }, 300_000);

  it('closes the issue with a comment when the stack is clean again', async () => {
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'pa-drift-data',
        Tagging: { TagSet: [{ Key: 'owner', Value: 'platform' }] },
      }),
    );
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: await groupId(), IpPermissions: [SSH] }));

    const step = await job.run('terraform-drift', { inputs: driftInputs() });
    expect(step.outputs.drifted).toBe('false');
    expect(issues().map((i) => [i.title, i.state, i.state_reason])).toEqual([
      ['Drift detected in stacks/network', 'closed', 'completed'],
      ['Drift detected in stacks/storage', 'closed', 'completed'],
    ]);
    const network = issues()[0] as { number: number };
    expect(gh.store.commentsOn('acme', 'webapp', network.number).map((c) => c.body)).toEqual([
      expect.stringContaining('stacks/network has no drift any more'),
    ]);
  }, 300_000);

  it('reports a stack whose plan fails as an error, not as drift', async () => {
    copyFixture('drift/broken', join(job.workspace, 'more', 'broken'));
    const step = await job.run('terraform-drift', {
      inputs: driftInputs({ stacks: 'stacks/storage\nmore/broken', 'fail-on-drift': 'true' }),
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('1 stack(s) could not be checked for drift');
    expect(step.failure).toContain('These are errors, not drift');
    expect(step.outputs).toMatchObject({ drifted: 'false', 'drifted-stacks': '[]' });
    const broken = stack(step, 'more/broken');
    expect(broken.status).toBe('error');
    expect(broken.drift).toEqual([]);
    expect(broken.errors[0]).toMatchObject({ severity: 'error', file: 'main.tf', line: 10 });
    expect(
      step.annotations.find((a) => a.level === 'error' && a.properties.file === 'more/broken/main.tf'),
    ).toBeDefined();
    expect(stack(step, 'stacks/storage').status).toBe('clean');
    expect(issues().filter((i) => i.state === 'open')).toHaveLength(0);
  }, 300_000);
  it('sets aside what lifecycle ignore_changes leaves to others, and still reports the rest', async () => {
    const dir = copyFixture('drift/ignored', join(job.workspace, 'more', 'ignored'));
    applyStack(dir, tfEnv, { key: 'more/ignored.tfstate' });
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['pa-drift-ignored'] })))
      .SecurityGroups?.[0]?.GroupId as string;
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [SSH] }));

    const quiet = await job.run('terraform-drift', { inputs: driftInputs({ stacks: 'more/ignored' }) });
    expect(quiet.failure).toBeUndefined();
    const ignored = stack(quiet, 'more/ignored');
    expect(ignored.status).toBe('clean');
    expect(ignored.drift).toEqual([]);
    expect(ignored.ignored).toEqual([
      {
        address: 'aws_security_group.web',
        attributes: expect.arrayContaining([{ path: 'ingress[0].from_port', reason: 'ignore_changes' }]),
      },
    ]);
    expect(quiet.log).toMatch(
      /\[more\/ignored\] \d+ attribute\(s\) changed outside terraform that the configuration leaves to others/,
    );
    expect(quiet.summary).toContain('Changed outside Terraform, not drift (1)');
    expect(issues().filter((i) => i.title.includes('more/ignored'))).toEqual([]);

    await ec2.send(new CreateTagsCommand({ Resources: [sg], Tags: [{ Key: 'owner', Value: 'intruder' }] }));
    const step = await job.run('terraform-drift', { inputs: driftInputs({ stacks: 'more/ignored' }) });
    const drifted = stack(step, 'more/ignored');
    expect(drifted.status).toBe('drifted');
    expect(drifted.drift).toEqual([
      {
        address: 'aws_security_group.web',
        change: 'changed',
        attributes: expect.arrayContaining([{ path: 'tags.owner', before: '"platform"', after: '"intruder"' }]),
      },
    ]);
    expect(drifted.drift[0]?.attributes.some((a) => a.path.startsWith('ingress'))).toBe(false);
    const issue = issues().find((i) => i.title === 'Drift detected in more/ignored');
    expect(issue?.body).toContain('| `tags.owner` | "platform" | "intruder" |');
    expect(issue?.body).toContain('Changed outside Terraform, not drift');
  }, 300_000);
});
