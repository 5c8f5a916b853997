/**
 * Day-two operations: a change made by hand through the AWS API and caught by the nightly
 * drift detection (drift-detection.yml: terraform-drift over every stack, an issue per
 * drifted stack), and the DORA report over the deployment record.
 */
import { readFileSync } from 'node:fs';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { StackReport } from '../../src/terraform/drift.js';
import type { EnvironmentFigures, Verdict } from '../../src/release/dora.js';
import { MOTO_BACKEND, terraformEnv } from '../../test/support/terraform.js';
import { checkoutStack, type Stack } from './infrastructure.js';
import type { World } from './world.js';

export interface OutOfBandChange {
  environment: string;
  securityGroup: string;
  description: string;
}

/** Someone opens SSH to the world on a stack's services security group, by hand. */
export async function changeByHand(world: World, stack: Stack): Promise<OutOfBandChange> {
  const name = `${stack.name}-services`;
  return world.act(
    {
      stage: 'Drift',
      environment: stack.environment,
      title: `by hand, through the EC2 API: AuthorizeSecurityGroupIngress tcp/22 from 0.0.0.0/0 on ${name}`,
    },
    async () => {
      const groups = await world.clients.ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }),
      );
      const id = groups.SecurityGroups?.[0]?.GroupId as string;
      await world.clients.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'debugging, remove me' }],
            },
          ],
        }),
      );
      return { environment: stack.environment, securityGroup: id, description: `tcp/22 from 0.0.0.0/0 on ${name}` };
    },
    (c) => [`security group ${c.securityGroup}`],
  );
}

export interface DriftOutcome {
  drifted: string[];
  reports: StackReport[];
  issues: Array<{ number: number; title: string; body: string; state: string }>;
}

/** The scheduled drift check of every stack, in one terraform-drift step. */
export async function detectDrift(world: World, stacks: Stack[]): Promise<DriftOutcome> {
  const run = world.run('drift-detection', 'schedule', world.repo.branches.get('main') as string);
  const job = world.job(run, 'drift', { env: terraformEnv(world.proxy.url) });
  job.setEvent('schedule', { schedule: '17 3 * * *' });
  for (const s of stacks) checkoutStack(job.workspace, s.environment);
  const step = await world.step(
    job,
    'terraform-drift',
    {
      stacks: 'infra/*',
      'backend-config': `${MOTO_BACKEND}\nkey={stack}.tfstate`,
      concurrency: String(stacks.length),
      'github-token': world.github.token,
    },
    { stage: 'Drift', title: 'terraform-drift infra/* (drift-detection.yml, nightly)' },
    {
      facts: (s) => {
        const reports = (JSON.parse(readFileSync(s.outputs.report as string, 'utf8')) as { stacks: StackReport[] })
          .stacks;
        return reports.map(
          (r) =>
            `${r.stack}: ${r.status}${
              r.drift.length
                ? ` (${r.drift
                    .map(
                      (d) =>
                        `${d.address}: ${d.attributes
                          .map((a) => a.path)
                          .slice(0, 3)
                          .join(', ')}`,
                    )
                    .join('; ')})`
                : ''
            }`,
        );
      },
    },
  );
  const reports = (JSON.parse(readFileSync(step.outputs.report as string, 'utf8')) as { stacks: StackReport[] }).stacks;
  const issues = [...world.repo.issues.values()]
    .filter((i) => !i.isPullRequest)
    .map((i) => ({ number: i.number, title: i.title, body: i.body ?? '', state: i.state }));
  for (const issue of issues) world.timeline.note('Drift', `issue #${issue.number} ${issue.state}: ${issue.title}`);
  return { drifted: JSON.parse(step.outputs['drifted-stacks'] as string) as string[], reports, issues };
}

export interface DoraReport {
  targets: Record<string, number>;
  environments: Array<EnvironmentFigures & { verdicts: Record<string, Verdict> }>;
}

const mins = (s: number | undefined) => (s === undefined ? '-' : s < 120 ? `${s}s` : `${Math.round(s / 60)}m`);

/** The dora-report action over everything the sandbox recorded today. */
export async function doraReport(world: World, environments: string[]): Promise<DoraReport> {
  const run = world.run('dora-report', 'schedule', world.repo.branches.get('main') as string);
  const job = world.job(run, 'dora');
  const step = await world.step(
    job,
    'dora-report',
    { environments: environments.join(','), window: '1d', 'github-token': world.github.token },
    { stage: 'DORA', title: `dora-report ${environments.join(', ')} (window 1d)` },
    {
      facts: (s) => {
        const r = JSON.parse(readFileSync(s.outputs['report-file'] as string, 'utf8')) as DoraReport;
        return r.environments.map(
          (e) =>
            `${e.environment}: ${e.deploymentFrequency.count} deployments (${e.deploymentFrequency.perDay}/day), lead time median ${mins(e.leadTime?.medianSeconds)}, ` +
            `change failure rate ${e.changeFailureRate === null ? '-' : `${Math.round(e.changeFailureRate * 1000) / 10}%`}, time to restore median ${mins(e.timeToRestore?.medianSeconds)}`,
        );
      },
    },
  );
  return JSON.parse(readFileSync(step.outputs['report-file'] as string, 'utf8')) as DoraReport;
}
