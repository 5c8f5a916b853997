/**
 * Infrastructure: the account's GitHub OIDC provider (once per account), then the seed
 * workload's Terraform stack once per environment, through terraform.yml's flow: plan on
 * the pull request (comment), merge, plan on main, apply that plan in a fresh checkout
 * once it means what was reviewed. Every environment's stack is its own folder and state
 * (`infra/<env>`, `name = seed-<env>`), as separate accounts would be.
 */
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateOpenIDConnectProviderCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeListenersCommand, DescribeLoadBalancersCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ROOT, type StepResult } from '../../test/support/runner.js';
import { createStateBucket, MOTO_BACKEND, terraformEnv } from '../../test/support/terraform.js';
import { ACCOUNT, OWNER, REGION, REPO, type World } from './world.js';

export const STACK_SOURCE = join(ROOT, 'examples', 'seed-workload', 'terraform');
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

/** The one-time account setup: an IAM OIDC provider that trusts the issuer. */
export async function bootstrapAccount(world: World): Promise<string> {
  return world.act(
    { stage: 'Account bootstrap (once per account)', title: `IAM OIDC provider for ${world.issuer.url} (audience sts.amazonaws.com), Terraform state bucket` },
    async () => {
      const iam = new IAMClient({ region: REGION, endpoint: world.moto.endpoint, maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      try {
        await createStateBucket(world.moto.endpoint);
        const created = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: world.issuer.url, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
        return created.OpenIDConnectProviderArn as string;
      } finally {
        iam.destroy();
      }
    },
    (arn) => [arn],
  );
}

/** Writes the stack for one environment into a checkout: the example, plus its terraform.tfvars. */
export function checkoutStack(workspace: string, environment: string, providerArn: string): string {
  const dir = join(workspace, folderOf(environment));
  mkdirSync(dir, { recursive: true });
  cpSync(STACK_SOURCE, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
  writeFileSync(
    join(dir, 'terraform.tfvars'),
    [
      `name                     = "seed-${environment}"`,
      `github_repository        = "${OWNER}/${REPO}"`,
      `github_environment       = "${environment}"`,
      `github_oidc_provider_arn = "${providerArn}"`,
      'desired_count            = 2',
      '',
    ].join('\n'),
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
export async function provisionStacks(world: World, environments: string[], providerArn: string, planOnMain: boolean): Promise<Stack[]> {
  const tfEnv = terraformEnv(world.proxy.url);
  const head = world.commit('infra: the seed workload in every environment', { branch: 'infra/seed-workload' });
  const pr = world.github.store.createPullRequest(OWNER, REPO, { title: 'Provision the seed workload', head: 'infra/seed-workload', headSha: head }).number;
  const prRun = world.run('terraform', 'pull_request', head, `refs/pull/${pr}/merge`);

  const reviewed = new Map<string, string>();
  await Promise.all(
    environments.map(async (environment) => {
      const job = world.job(prRun, `plan (${folderOf(environment)})`, { env: tfEnv });
      job.setEvent('pull_request', { number: pr, pull_request: { number: pr, labels: [], head: { ref: 'infra/seed-workload', sha: head }, base: { ref: 'main' } } });
      checkoutStack(job.workspace, environment, providerArn);
      const plan = await world.step(
        job,
        'terraform-plan',
        { 'working-directory': folderOf(environment), 'backend-config': backendConfig(environment), 'github-token': world.github.token, 'fmt-check': 'fail' },
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
        checkoutStack(planJob.workspace, environment, providerArn);
        const plan = await world.step(
          planJob,
          'terraform-plan',
          { 'working-directory': folderOf(environment), 'backend-config': backendConfig(environment), 'github-token': world.github.token, comment: 'off' },
          { stage: STAGE, title: `terraform-plan ${folderOf(environment)} on main`, environment },
          { facts: planFacts },
        );
        planFile = plan.outputs['plan-file'] as string;
      }

      // The apply job: another runner, a fresh checkout, the plan from the artifact.
      const applyJob = world.job(pushRun, `apply (${folderOf(environment)})`, { environment, env: tfEnv });
      applyJob.setEvent('push', { ref: 'refs/heads/main', after: merge });
      checkoutStack(applyJob.workspace, environment, providerArn);
      const artifact = join(applyJob.temp, 'reviewed-plan', 'plan.tfplan');
      mkdirSync(join(applyJob.temp, 'reviewed-plan'), { recursive: true });
      copyFileSync(planFile, artifact);
      await world.step(
        applyJob,
        'terraform-apply',
        { 'working-directory': folderOf(environment), 'plan-file': artifact, 'github-token': world.github.token },
        { stage: STAGE, title: `terraform-apply ${folderOf(environment)}`, environment },
        { facts: (s) => [`${planOnMain ? "applied main's plan, which means what was reviewed" : 'applied the plan reviewed'} on PR #${pr}: +${s.outputs.add} ~${s.outputs.change} -${s.outputs.destroy}`] },
      );
      return readStack(world, environment);
    }),
  );
}

/** What the stack made, read back from AWS (as deploy jobs find it: by name). */
export async function readStack(world: World, environment: string): Promise<Stack> {
  const name = `seed-${environment}`;
  const elbv2 = world.clients.elbv2;
  const lb = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0];
  const listener = (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn }))).Listeners?.[0];
  const groups = (await elbv2.send(new DescribeTargetGroupsCommand({ Names: [`${name}-webui-blue`, `${name}-webui-green`, `${name}-gateway`] }))).TargetGroups ?? [];
  const arn = (suffix: string) => groups.find((g) => g.TargetGroupName === `${name}-${suffix}`)?.TargetGroupArn as string;
  return {
    environment,
    folder: folderOf(environment),
    name,
    cluster: name,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-deploy`,
    loadBalancerArn: lb?.LoadBalancerArn as string,
    listenerArn: listener?.ListenerArn as string,
    targetGroups: { blue: arn('webui-blue'), green: arn('webui-green'), gateway: arn('gateway') },
  };
}

export { backendConfig, folderOf };
