import { beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { motoClientConfig, motoEndpoint, resetMoto } from '../support/moto.js';
import { ROOT } from '../support/runner.js';
import { terraform, terraformEnv } from '../support/terraform.js';

/**
 * examples/seed-workload/github-oidc, the roles docs/getting-started.md sets up, applied
 * with real Terraform against moto and read back: which job (by its OIDC claims) each
 * trust policy admits, and what each deploy role may change.
 */
const moto = motoEndpoint();
const env = terraformEnv(moto);
const iam = new IAMClient(motoClientConfig(moto));
let outputs: Record<string, { value: unknown }>;

type Statement = {
  Effect: string;
  Action: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  Resource?: string | string[];
};
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** StringEquals / StringLike on the token's claims, as STS evaluates a web identity trust policy's conditions. */
function admits(policy: { Statement: Statement[] }, claims: Record<string, string>): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== 'Allow' || !list(s.Action).includes('sts:AssumeRoleWithWebIdentity')) return false;
    return Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, values]) => {
        const claim = claims[key.replace('token.actions.githubusercontent.com:', '')];
        if (claim === undefined) return false;
        if (operator === 'StringEquals') return list(values).includes(claim);
        if (operator === 'StringLike')
          return list(values).some((v) =>
            new RegExp(
              `^${v
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '.*')
                .replace(/\?/g, '.')}$`,
            ).test(claim),
          );
        throw new Error(`operator ${operator} not modelled`);
      }),
    );
  });
}

/**
 * The IAM actions a doc's "IAM permissions" section lists, as `service:Action`: every
 * code span that names an action; a bare `Action` belongs to the service named last
 * (`elasticloadbalancing:DescribeListeners`, `DescribeRules`).
 */
function documentedActions(doc: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'actions', doc), 'utf8');
  const section = /^## IAM permissions\n([\s\S]*?)^## /m.exec(text)?.[1];
  if (!section) throw new Error(`${doc} has no IAM permissions section`);
  let service = '';
  const actions: string[] = [];
  for (const [, code] of section.matchAll(/`([^`]+)`/g)) {
    const named = /^(?:([a-z0-9-]+):)?([A-Z][A-Za-z]+)$/.exec(code as string);
    if (!named) continue;
    service = named[1] ?? service;
    if (!service) throw new Error(`${doc}: \`${code}\` comes before any service prefix`);
    actions.push(`${service}:${named[2]}`);
  }
  return actions;
}

async function deployPolicy(envName: string) {
  const p = await iam.send(new GetRolePolicyCommand({ RoleName: `github-deploy-${envName}`, PolicyName: 'deploy' }));
  return JSON.parse(decodeURIComponent(p.PolicyDocument ?? '')) as { Statement: Statement[] };
}

async function trust(role: string) {
  const r = await iam.send(new GetRoleCommand({ RoleName: role }));
  return JSON.parse(decodeURIComponent(r.Role?.AssumeRolePolicyDocument ?? '')) as { Statement: Statement[] };
}

beforeAll(async () => {
  await resetMoto(moto);
  const dir = mkdtempSync(join(tmpdir(), 'pa-oidc-'));
  cpSync(join(ROOT, 'examples', 'seed-workload', 'github-oidc'), dir, { recursive: true });
  terraform(dir, ['init', '-input=false', '-no-color', '-backend=false'], env);
  terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-var', 'repository=acme/webui'], env);
  outputs = JSON.parse(terraform(dir, ['output', '-json'], env)) as typeof outputs;
}, 180_000);

describe('the GitHub OIDC roles of getting started', () => {
  it('creates the identity provider for sts.amazonaws.com and outputs the repository variables the starter workflows read', async () => {
    const providers = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(providers.OpenIDConnectProviderList?.map((p) => p.Arn)).toEqual([
      expect.stringMatching(/:oidc-provider\/token\.actions\.githubusercontent\.com$/),
    ]);
    expect(Object.keys(outputs.repository_variables?.value as object).sort()).toEqual([
      'DEV_DEPLOY_ROLE',
      'IMAGE_PR_PUSH_ROLE',
      'IMAGE_PUSH_ROLE',
      'PRODUCTION_DEPLOY_ROLE',
      'STAGING_DEPLOY_ROLE',
    ]);
  });

  it('trusts each deploy role for its own environment (and its rollback gate) only, the image-push role for main only, and pull requests only with their own role', async () => {
    const roles = [
      'github-image-push',
      'github-image-pr-push',
      'github-deploy-dev',
      'github-deploy-staging',
      'github-deploy-production',
    ];
    const policies = await Promise.all(roles.map(trust));
    const admitted = (sub: string, extra: Record<string, string> = {}) =>
      roles.filter((_, i) =>
        admits(policies[i] as { Statement: Statement[] }, { aud: 'sts.amazonaws.com', sub, ...extra }),
      );
    expect(admitted('repo:acme/webui:environment:production')).toEqual(['github-deploy-production']);
    expect(admitted('repo:acme/webui:environment:production-rollback')).toEqual(['github-deploy-production']);
    expect(admitted('repo:acme/webui:environment:staging')).toEqual(['github-deploy-staging']);
    expect(admitted('repo:acme/webui:environment:dev')).toEqual(['github-deploy-dev']);
    expect(admitted('repo:acme/webui:ref:refs/heads/main')).toEqual(['github-image-push']);
    // A pull request's code never holds the role that writes what production deploys.
    expect(admitted('repo:acme/webui:pull_request')).toEqual(['github-image-pr-push']);
    // Nothing else: another branch, another repository, another audience.
    expect(admitted('repo:acme/webui:ref:refs/heads/feature')).toEqual([]);
    expect(admitted('repo:acme/other:environment:production')).toEqual([]);
    expect(admitted('repo:acme/webui:environment:production', { aud: 'https://github.com/acme' })).toEqual([]);
  });

  it("lets each deploy role change its own environment's cluster, load balancer and execution role only", async () => {
    // Every ARN the policy names, in its resources and in its ARN conditions.
    const resources = async (envName: string) =>
      (await deployPolicy(envName)).Statement.flatMap((s) => [
        ...list(s.Resource),
        ...Object.entries(s.Condition ?? {})
          .filter(([operator]) => operator.startsWith('Arn'))
          .flatMap(([, keys]) => Object.values(keys).flatMap(list)),
      ]).filter((r) => r !== '*');
    const production = await resources('production');
    expect(production).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/:service\/webui\/\*$/),
        expect.stringMatching(/:task\/webui\/\*$/),
        expect.stringMatching(/:cluster\/webui$/),
        expect.stringMatching(/:task-definition\/webui-open-webui:\*$/),
        expect.stringMatching(/:listener-rule\/app\/webui\/\*$/),
        expect.stringMatching(/:role\/webui-task-execution$/),
      ]),
    );
    expect(production.filter((r) => r.includes('webui-dev') || r.includes('webui-staging'))).toEqual([]);
    expect((await resources('dev')).every((r) => r.includes('webui-dev'))).toBe(true);
  });

  it('allows exactly the actions the IAM permissions of ecs-deploy and rollback list, tasks in its own cluster only', async () => {
    const documented = [
      ...new Set([...documentedActions('ecs-deploy.md'), ...documentedActions('rollback.md')]),
    ].sort();
    expect(documented).toEqual(
      expect.arrayContaining([
        'ecs:ListTaskDefinitions',
        'elasticloadbalancing:ModifyRule',
        'ecs:StopServiceDeployment',
        'iam:PassRole',
      ]),
    );
    for (const envName of ['dev', 'staging', 'production']) {
      const policy = await deployPolicy(envName);
      expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
      expect([...new Set(policy.Statement.flatMap((s) => list(s.Action)))].sort()).toEqual(documented);
    }
    // ListTasks has no resource of its own: the cluster condition is what narrows it.
    const listTasks = (await deployPolicy('dev')).Statement.filter((s) => list(s.Action).includes('ecs:ListTasks'));
    expect(listTasks.map((s) => [s.Resource, s.Condition])).toEqual([
      [
        '*',
        { ArnEquals: { 'ecs:cluster': expect.stringMatching(/^arn:aws:ecs:eu-west-1:\d{12}:cluster\/webui-dev$/) } },
      ],
    ]);
  });

  it('keeps platform-actions:* tags writable by the deploy roles only: a deny for every other principal, attached to the image-push role', async () => {
    const arn = outputs.tag_guard_policy_arn?.value as string;
    expect(arn).toMatch(/:policy\/platform-actions-tags-deploy-roles-only$/);
    const version = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.DefaultVersionId;
    const document =
      (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }))).PolicyVersion?.Document ??
      '';
    const guard = JSON.parse(decodeURIComponent(document)) as { Statement: Statement[] };
    const deployRoles = Object.values(outputs.deploy_role_arns?.value as Record<string, string>).sort();
    expect(
      guard.Statement.map((s) => ({
        ...s,
        Action: list(s.Action).sort(),
        Condition: {
          ...s.Condition,
          ArnNotLike: { 'aws:PrincipalArn': list(s.Condition?.ArnNotLike?.['aws:PrincipalArn']).sort() },
        },
      })),
    ).toEqual([
      {
        Sid: 'OnlyDeployRolesWritePlatformActionsTags',
        Effect: 'Deny',
        Action: ['ecs:TagResource', 'ecs:UntagResource'],
        Resource: '*',
        Condition: {
          'ForAnyValue:StringLike': { 'aws:TagKeys': 'platform-actions:*' },
          ArnNotLike: { 'aws:PrincipalArn': deployRoles },
        },
      },
    ]);
    expect(deployRoles).toHaveLength(3);
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'github-image-push' }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([arn]);
    const attachedPr = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'github-image-pr-push' }));
    expect(attachedPr.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([arn]);
  });

  it('lets the pull request role write the quarantine repository only, never the production one', async () => {
    const policy = async (role: string, name: string) =>
      JSON.parse(
        decodeURIComponent(
          (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument ?? '',
        ),
      ) as { Statement: Statement[] };
    const pushResources = (p: { Statement: Statement[] }) =>
      p.Statement.filter((s) => list(s.Action).includes('ecr:PutImage')).flatMap((s) => list(s.Resource));
    expect(pushResources(await policy('github-image-pr-push', 'image-pr-push'))).toEqual([
      expect.stringMatching(/:repository\/open-webui-pr$/),
    ]);
    expect(pushResources(await policy('github-image-push', 'image-push'))).toEqual([
      expect.stringMatching(/:repository\/open-webui$/),
    ]);
  });

  it('is the trust policy docs/getting-started.md shows for production', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');
    const shown = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)?.[1] ?? 'null') as Statement & {
      Principal: { Federated: string };
    };
    const [statement] = (await trust('github-deploy-production')).Statement as Array<
      Statement & { Principal: { Federated: string } }
    >;
    const account = (s: string) => s.replace(/::\d{12}:/, '::ACCOUNT:');
    expect({ ...statement, Principal: { Federated: account(statement?.Principal.Federated ?? '') } }).toEqual({
      ...shown,
      Principal: { Federated: account(shown.Principal.Federated) },
    });
  });
});
