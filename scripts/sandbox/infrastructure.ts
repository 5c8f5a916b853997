/**
 * Infrastructure: the account setup (once per account: the state bucket, and GitHub's
 * OIDC provider with a deploy role per environment from examples/seed-workload/github-oidc,
 * as docs/getting-started.md applies it), then the seed workload's Terraform stack once
 * per environment, through terraform.yml's flow: plan on the pull request (comment),
 * merge, plan on main, apply that plan in a fresh checkout once it means what was
 * reviewed. Every environment's stack is its own folder and state (`infra/<env>`,
 * `name = seed-<env>`), as separate accounts would be.
 */
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ROOT, type StepResult } from '../../test/support/runner.js';
import { createStateBucket, MOTO_BACKEND, terraformAsync, terraformEnv } from '../../test/support/terraform.js';
import { OWNER, REGION, REPO, SandboxError, type World } from './world.js';

export const STACK_SOURCE = join(ROOT, 'examples', 'seed-workload', 'terraform');
export const IDENTITY_SOURCE = join(ROOT, 'examples', 'seed-workload', 'github-oidc');
const STAGE = 'Infrastructure (terraform.yml)';

export interface Stack {
  environment: string;
  /** Folder in the repository, also the stack's name in comments, issues and state keys. */
  folder: string;
  /** The `name` variable: prefix of every resource. */
  name: string;
  cluster: string;
  roleArn: string;
  loadBalancerArn: string;
  listenerArn: string;
  targetGroups: { blue: string; green: string; gateway: string };
}

const short = (id: string) => id.slice(0, 12);
const folderOf = (environment: string) => `infra/${environment}`;

/** What the account setup made: the IAM OIDC provider, and each environment's deploy role. */
export interface AccountSetup {
  providerArn: string;
  /** GitHub Environment → the role its deploy jobs assume (github-oidc's deploy_role_arns). */
  deployRoles: Record<string, string>;
}

/** The stack name of an environment: its cluster, load balancer and the prefix of every other resource. */
export const stackName = (environment: string) => `seed-${environment}`;

/**
 * The one-time account setup, by an administrator's hand in real life: the Terraform
 * state bucket, then examples/seed-workload/github-oidc applied with Terraform as
 * docs/getting-started.md does (`terraform init && terraform apply`), with the sandbox's
 * issuer in place of GitHub's, its region, and its environments' stack names.
 */
export async function bootstrapAccount(world: World, environments: string[]): Promise<AccountSetup> {
  const issuer = world.issuer.url.replace(/^https?:\/\//, '');
  return world.act(
    {
      stage: 'Account bootstrap (once per account)',
      title: `Terraform state bucket; terraform apply examples/seed-workload/github-oidc (IAM OIDC provider for ${world.issuer.url}, a deploy role per environment)`,
    },
    async () => {
      await createStateBucket(world.moto.endpoint);
      const dir = world.scratch('github-oidc');
      cpSync(IDENTITY_SOURCE, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
      writeFileSync(
        join(dir, 'terraform.tfvars'),
        [
          `repository   = "${OWNER}/${REPO}"`,
          `region       = "${REGION}"`,
          `oidc_issuer  = "${issuer}"`,
          'environments = {',
          ...environments.map((e) => `  ${e} = "${stackName(e)}"`),
          '}',
          '',
        ].join('\n'),
      );
      const env = terraformEnv(world.proxy.url);
      await terraformAsync(dir, ['init', '-input=false', '-no-color'], env);
      await terraformAsync(dir, ['apply', '-auto-approve', '-input=false', '-no-color'], env);
      const outputs = JSON.parse(await terraformAsync(dir, ['output', '-json'], env)) as {
        oidc_provider_arn: { value: string };
        deploy_role_arns: { value: Record<string, string> };
      };
      return { providerArn: outputs.oidc_provider_arn.value, deployRoles: outputs.deploy_role_arns.value };
    },
    (setup) => [
      setup.providerArn,
      ...Object.entries(setup.deployRoles).map(([environment, arn]) => `${environment}: ${arn}`),
    ],
  );
}

/** Writes the stack for one environment into a checkout: the example, plus its terraform.tfvars. */
export function checkoutStack(workspace: string, environment: string): string {
  const dir = join(workspace, folderOf(environment));
  mkdirSync(dir, { recursive: true });
  cpSync(STACK_SOURCE, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
  writeFileSync(
    join(dir, 'terraform.tfvars'),
    [`name          = "${stackName(environment)}"`, 'desired_count = 2', ''].join('\n'),
  );
  return dir;
}

const backendConfig = (environment: string) => `${MOTO_BACKEND}\nkey=${folderOf(environment)}.tfstate`;

const planFacts = (step: StepResult) => [
  `+${step.outputs.add} ~${step.outputs.change} -${step.outputs.destroy}, plan-id ${short(step.outputs['plan-id'] ?? '')}…`,
];

/**
 * Provisions every environment's stack, the environments side by side (one caller job
 * per stack, as a matrix would). The pull request's plans are commented on it; the apply
 * jobs, bound to each environment, are auto-approved.
 */
export async function provisionStacks(
  world: World,
  environments: string[],
  account: AccountSetup,
  planOnMain: boolean,
): Promise<Stack[]> {
  const tfEnv = terraformEnv(world.proxy.url);
  const head = world.commit('infra: the seed workload in every environment', { branch: 'infra/seed-workload' });
  const pr = world.github.store.createPullRequest(OWNER, REPO, {
    title: 'Provision the seed workload',
    head: 'infra/seed-workload',
    headSha: head,
  }).number;
  const prRun = world.run('terraform', 'pull_request', head, `refs/pull/${pr}/merge`);

  const reviewed = new Map<string, string>();
  await Promise.all(
    environments.map(async (environment) => {
      const job = world.job(prRun, `plan (${folderOf(environment)})`, { env: tfEnv });
      job.setEvent('pull_request', {
        number: pr,
        pull_request: {
          number: pr,
          labels: [],
          head: { ref: 'infra/seed-workload', sha: head },
          base: { ref: 'main' },
        },
      });
      checkoutStack(job.workspace, environment);
      const plan = await world.step(
        job,
        'terraform-plan',
        {
          'working-directory': folderOf(environment),
          'backend-config': backendConfig(environment),
          'github-token': world.github.token,
          'fmt-check': 'fail',
        },
        { stage: STAGE, title: `terraform-plan ${folderOf(environment)} on PR #${pr}`, environment },
        { facts: (s) => [...planFacts(s), `commented on PR #${pr}`] },
      );
      reviewed.set(environment, plan.outputs['plan-file'] as string);
    }),
  );

  const merge = world.commit(`Merge pull request #${pr} from ${OWNER}/infra/seed-workload`, { parents: [head] });
  world.github.store.mergePullRequest(OWNER, REPO, pr, merge);
  const pushRun = world.run('terraform', 'push', merge);
  world.timeline.note(
    STAGE,
    `PR #${pr} merged (${short(merge)}); each apply job is bound to its environment: auto-approved in the sandbox.${planOnMain ? '' : " Short profile: the apply jobs apply the pull request's plans (terraform.yml plans again on main)."}`,
  );

  return Promise.all(
    environments.map(async (environment) => {
      let planFile = reviewed.get(environment) as string;
      if (planOnMain) {
        const planJob = world.job(pushRun, `plan (${folderOf(environment)})`, { env: tfEnv });
        planJob.setEvent('push', { ref: 'refs/heads/main', after: merge });
        checkoutStack(planJob.workspace, environment);
        const plan = await world.step(
          planJob,
          'terraform-plan',
          {
            'working-directory': folderOf(environment),
            'backend-config': backendConfig(environment),
            'github-token': world.github.token,
            comment: 'off',
          },
          { stage: STAGE, title: `terraform-plan ${folderOf(environment)} on main`, environment },
          { facts: planFacts },
        );
        planFile = plan.outputs['plan-file'] as string;
      }

      // The apply job: another runner, a fresh checkout, the plan from the artifact.
      const applyJob = world.job(pushRun, `apply (${folderOf(environment)})`, { environment, env: tfEnv });
      applyJob.setEvent('push', { ref: 'refs/heads/main', after: merge });
      checkoutStack(applyJob.workspace, environment);
      const artifact = join(applyJob.temp, 'reviewed-plan', 'plan.tfplan');
      mkdirSync(join(applyJob.temp, 'reviewed-plan'), { recursive: true });
      copyFileSync(planFile, artifact);
      await world.step(
        applyJob,
        'terraform-apply',
        { 'working-directory': folderOf(environment), 'plan-file': artifact, 'github-token': world.github.token },
        { stage: STAGE, title: `terraform-apply ${folderOf(environment)}`, environment },
        {
          facts: (s) => [
            `${planOnMain ? "applied main's plan, which means what was reviewed" : 'applied the plan reviewed'} on PR #${pr}: +${s.outputs.add} ~${s.outputs.change} -${s.outputs.destroy}`,
          ],
        },
      );
      return readStack(world, environment, account);
    }),
  );
}

/** What the stack made, read back from AWS (as deploy jobs find it: by name), and the environment's deploy role. */
export async function readStack(world: World, environment: string, account: AccountSetup): Promise<Stack> {
  const name = stackName(environment);
  const roleArn = account.deployRoles[environment];
  if (!roleArn)
    throw new SandboxError(
      `The account setup made no deploy role for ${environment} (it has: ${Object.keys(account.deployRoles).join(', ') || 'none'}).`,
    );
  const elbv2 = world.clients.elbv2;
  const lb = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0];
  const listener = (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn })))
    .Listeners?.[0];
  const groups =
    (
      await elbv2.send(
        new DescribeTargetGroupsCommand({ Names: [`${name}-webui-blue`, `${name}-webui-green`, `${name}-gateway`] }),
      )
    ).TargetGroups ?? [];
  const arn = (suffix: string) =>
    groups.find((g) => g.TargetGroupName === `${name}-${suffix}`)?.TargetGroupArn as string;
  return {
    environment,
    folder: folderOf(environment),
    name,
    cluster: name,
    roleArn,
    loadBalancerArn: lb?.LoadBalancerArn as string,
    listenerArn: listener?.ListenerArn as string,
    targetGroups: { blue: arn('webui-blue'), green: arn('webui-green'), gateway: arn('gateway') },
  };
}

export { backendConfig, folderOf };
