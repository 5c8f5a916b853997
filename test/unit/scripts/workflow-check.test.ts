import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkTemplateProperties } from '../../../scripts/lib/template-properties.js';
import {
  checkWorkflow,
  type ActionSpec,
  type CheckContext,
  type CheckStats,
} from '../../../scripts/lib/workflow-check.js';

const CALLED = parse(`
on:
  workflow_call:
    inputs:
      stack: { type: string, required: true }
      region: { type: string, default: eu-west-1 }
    secrets:
      TOKEN: { required: true }
    outputs:
      plan-id: { value: '\${{ jobs.plan.outputs.plan-id }}' }
jobs:
  plan:
    runs-on: ubuntu-24.04
    permissions: { contents: read, id-token: write }
    outputs: { plan-id: '\${{ steps.plan.outputs.plan-id }}' }
    steps:
      - uses: org/platform-actions/actions/aws-auth@v1
        with: { role-to-assume: x, aws-region: y }
      - uses: org/platform-actions/actions/terraform-plan@v1
        id: plan
`) as Record<string, unknown>;

const ctx: CheckContext = {
  publishedAs: 'org/platform-actions',
  version: 'v1',
  actions: new Map<string, ActionSpec>([
    [
      'aws-auth',
      {
        inputs: {
          'role-to-assume': { required: true },
          'aws-region': { required: true },
          audience: { default: 'sts.amazonaws.com' },
        },
        outputs: { 'aws-account-id': {} },
      },
    ],
    [
      'terraform-plan',
      { inputs: { 'working-directory': { default: '.' } }, outputs: { 'plan-id': {}, 'plan-file': {} } },
    ],
  ]),
  workflows: new Map([['called.yml', { doc: CALLED }]]),
};

function check(yaml: string): string[] {
  const stats: CheckStats = { actionUses: 0, workflowCalls: 0, outputReads: 0, uncheckedOutputNames: 0 };
  return checkWorkflow('w.yml', parse(yaml) as Record<string, unknown>, ctx, stats);
}

describe('workflow static check', () => {
  it('accepts a correct reusable workflow, including the one it checks calls against', () => {
    const stats: CheckStats = { actionUses: 0, workflowCalls: 0, outputReads: 0, uncheckedOutputNames: 0 };
    expect(checkWorkflow('called.yml', CALLED, ctx, stats)).toEqual([]);
    expect(stats).toEqual({ actionUses: 2, workflowCalls: 0, outputReads: 2, uncheckedOutputNames: 0 });
  });

  it('finds undeclared and missing inputs, and a missing action.yml (never skipped)', () => {
    const problems = check(`
on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    permissions: { id-token: write }
    steps:
      - uses: org/platform-actions/actions/aws-auth@v1
        with: { role-to-assume: x, region: y }
      - uses: org/platform-actions/actions/ecs-deploy@v1
        id: deploy
        with: { cluster: web }
      - run: echo "$S"
        env: { S: '\${{ steps.deploy.outputs.status }}' }
`);
    expect(problems).toEqual([
      "w.yml: jobs.a.steps[0] (org/platform-actions/actions/aws-auth@v1): passes input 'region', which aws-auth does not declare (it declares: role-to-assume, aws-region, audience).",
      "w.yml: jobs.a.steps[0] (org/platform-actions/actions/aws-auth@v1): does not pass 'aws-region', which aws-auth requires.",
      'w.yml: jobs.a.steps[1] (deploy): uses org/platform-actions/actions/ecs-deploy@v1, but actions/ecs-deploy/action.yml does not exist here.',
      "w.yml: jobs.a.steps[2].env.S: reads steps.deploy.outputs.status, but step deploy's action.yml is missing, so nothing declares it.",
      'w.yml: jobs.a: runs ecs-deploy without a concurrency group with cancel-in-progress: false; give it one per environment so that two deploys to one environment never race, and a rollout is never cancelled half-way by the next run.',
      'w.yml: jobs.a: runs ecs-deploy without environment:; bind the job to the GitHub Environment it deploys to, so that its reviewers and wait timer gate it and its OIDC subject names it.',
    ]);
  });

  it('binds every job that changes live traffic to an environment, in a concurrency group that never cancels a rollout', () => {
    const deployCtx: CheckContext = {
      ...ctx,
      actions: new Map<string, ActionSpec>([
        ...ctx.actions,
        [
          'ecs-deploy',
          { inputs: { cluster: { required: true }, service: { required: true } }, outputs: { status: {} } },
        ],
        ['rollback', { inputs: {}, outputs: { status: {} } }],
      ]),
    };
    const stats: CheckStats = { actionUses: 0, workflowCalls: 0, outputReads: 0, uncheckedOutputNames: 0 };
    const problems = checkWorkflow(
      'w.yml',
      parse(`
on: workflow_dispatch
jobs:
  good:
    runs-on: ubuntu-24.04
    environment: production
    concurrency: { group: deploy-production, cancel-in-progress: false }
    steps:
      - uses: org/platform-actions/actions/ecs-deploy@v1
        with: { cluster: web, service: ui }
  cancels:
    runs-on: ubuntu-24.04
    environment: production
    concurrency: { group: deploy-production, cancel-in-progress: true }
    steps:
      - uses: org/platform-actions/actions/ecs-deploy@v1
        with: { cluster: web, service: ui }
  implicit:
    runs-on: ubuntu-24.04
    environment: production
    concurrency: { group: deploy-production }
    steps:
      - uses: org/platform-actions/actions/rollback@v1
  ungated:
    runs-on: ubuntu-24.04
    concurrency: deploy-production
    steps:
      - uses: org/platform-actions/actions/rollback@v1
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: org/platform-actions/actions/terraform-plan@v1
`) as Record<string, unknown>,
      deployCtx,
      stats,
    );
    expect(problems).toEqual([
      'w.yml: jobs.cancels: runs ecs-deploy with cancel-in-progress: true; set it to false, so that the next run waits instead of cancelling a rollout half-way.',
      'w.yml: jobs.implicit: runs rollback with cancel-in-progress: unset; set it to false, so that the next run waits instead of cancelling a rollout half-way.',
      'w.yml: jobs.ungated: runs rollback without a concurrency group with cancel-in-progress: false; give it one per environment so that two deploys to one environment never race, and a rollout is never cancelled half-way by the next run.',
      'w.yml: jobs.ungated: runs rollback without environment:; bind the job to the GitHub Environment it deploys to, so that its reviewers and wait timer gate it and its OIDC subject names it.',
    ]);
  });

  it('checks every output read: the step exists, ran before, and its action declares the output; needs and job outputs likewise', () => {
    const problems = check(`
on:
  workflow_dispatch:
    inputs: { env: { type: string } }
permissions: { contents: read }
jobs:
  plan:
    runs-on: ubuntu-24.04
    outputs:
      id: \${{ steps.plan.outputs.plan-idd }}
    steps:
      - run: echo \${{ steps.plan.outputs.plan-file }}
      - uses: org/platform-actions/actions/terraform-plan@v1
        id: plan
        with: { working-directory: '\${{ steps.nope.outputs.x }}' }
      - uses: actions/checkout@v5
        if: steps.plan.outputs.has-changes == 'true' && inputs.environment == 'prod'
  apply:
    runs-on: ubuntu-24.04
    needs: plan
    steps:
      - run: echo hi
        env:
          A: \${{ needs.plan.outputs.id }}
          B: \${{ needs.plan.outputs.plan-id }}
          C: \${{ needs.other.outputs.x }}
`);
    expect(problems).toEqual([
      "w.yml: jobs.plan.outputs.id: reads steps.plan.outputs.plan-idd, which step plan's action does not declare (it declares: plan-id, plan-file).",
      'w.yml: jobs.plan.steps[0]: interpolates ${{ }} into run:; pass the value through env: and use "$VAR" in the script.',
      'w.yml: jobs.plan.steps[1] (plan).with.working-directory: reads steps.nope.outputs.x, but job plan has no step with id nope.',
      'w.yml: jobs.plan.steps[2] (actions/checkout@v5): uses actions/checkout@v5; pin third-party actions by full commit SHA (and the tag as a comment).',
      "w.yml: jobs.plan.steps[2] (actions/checkout@v5).if: reads steps.plan.outputs.has-changes, which step plan's action does not declare (it declares: plan-id, plan-file).",
      'w.yml: jobs.plan.steps[2] (actions/checkout@v5).if: reads inputs.environment, which the workflow does not declare.',
      'w.yml: jobs.apply.steps[0].env.B: reads needs.plan.outputs.plan-id, which job plan does not declare (it declares: id).',
      "w.yml: jobs.apply.steps[0].env.C: reads needs.other.outputs.x, but other is not in this job's needs.",
    ]);
  });

  it('checks calls of our reusable workflows: inputs, secrets, outputs read, and the permissions they need', () => {
    const problems = check(`
on: push
permissions: { contents: read }
jobs:
  tf:
    uses: org/platform-actions/.github/workflows/called.yml@v1
    permissions: { contents: read }
    with: { region: x, extra: 1 }
  after:
    runs-on: ubuntu-24.04
    needs: tf
    steps:
      - run: echo "$ID"
        env: { ID: '\${{ needs.tf.outputs.plan-id }}', X: '\${{ needs.tf.outputs.nope }}' }
  local:
    uses: ./.github/workflows/called.yml
  missing:
    uses: org/platform-actions/.github/workflows/gone.yml@v1
`);
    expect(problems).toEqual([
      "w.yml: jobs.tf: passes input 'extra', which workflow called.yml does not declare (it declares: stack, region).",
      "w.yml: jobs.tf: does not pass 'stack', which workflow called.yml requires.",
      "w.yml: jobs.tf: does not pass secret 'TOKEN', which workflow called.yml requires.",
      'w.yml: jobs.tf: grants id-token: none, but workflow called.yml asks for id-token: write (the call would fail).',
      'w.yml: jobs.after.steps[0].env.X: reads needs.tf.outputs.nope, which job tf does not declare (it declares: plan-id).',
      'w.yml: jobs.local: calls ./.github/workflows/called.yml; call our workflows by full name (org/platform-actions/.github/workflows/NAME.yml@v1).',
      'w.yml: jobs.missing: calls org/platform-actions/.github/workflows/gone.yml@v1, but .github/workflows/gone.yml does not exist here (or has no workflow_call trigger).',
    ]);
  });

  it('enforces least privilege and declared secrets in reusable workflows', () => {
    const problems = check(`
on:
  workflow_call:
    outputs:
      x: { value: '\${{ jobs.a.outputs.y }}' }
permissions: { id-token: write }
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: org/platform-actions/actions/aws-auth@v2
        with: { role-to-assume: '\${{ secrets.ROLE }}', aws-region: x }
      - uses: ./actions/aws-auth
  b:
    runs-on: ubuntu-24.04
    permissions: { contents: read, id-token: write }
    steps:
      - run: echo
`);
    expect(problems).toEqual([
      'w.yml: permissions: id-token: write for the whole workflow; grant it only on the jobs that authenticate (aws-auth, gcp-auth).',
      'w.yml: on.workflow_call.outputs.x: reads jobs.a.outputs.y, which job a does not declare (it declares: none).',
      'w.yml: jobs.a: has no permissions: block; every job of a reusable workflow states the least it needs.',
      'w.yml: jobs.a.steps[0] (org/platform-actions/actions/aws-auth@v2): uses org/platform-actions/actions/aws-auth@v2; use @v1.',
      'w.yml: jobs.a.steps[0] (org/platform-actions/actions/aws-auth@v2).with.role-to-assume: reads secrets.ROLE, which workflow_call does not declare (a called workflow sees only declared secrets).',
      "w.yml: jobs.a.steps[1] (./actions/aws-auth): uses ./actions/aws-auth; in a shared workflow ./ is the caller's repository: use org/platform-actions/actions/NAME@v1.",
      'w.yml: jobs.b: has id-token: write but no aws-auth / gcp-auth step; drop it.',
    ]);
  });
});

describe('starter workflow properties', () => {
  it('needs a properties file per template with name, description and categories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-templates-'));
    writeFileSync(join(dir, 'a.yml'), 'on: push\n');
    writeFileSync(join(dir, 'b.yml'), 'on: push\n');
    writeFileSync(
      join(dir, 'b.properties.json'),
      JSON.stringify({ name: 'B', description: '', categories: [], iconName: 'missing', colour: 'red' }),
    );
    writeFileSync(join(dir, 'c.properties.json'), '{}');
    expect(checkTemplateProperties(dir)).toEqual([
      'workflows-templates/c.properties.json: no c.yml beside it.',
      'workflows-templates/a.properties.json: missing; every starter workflow needs one (name, description, categories).',
      "workflows-templates/b.properties.json: 'description' must be a non-empty string.",
      "workflows-templates/b.properties.json: 'categories' must be a non-empty list of strings.",
      "workflows-templates/b.properties.json: iconName 'missing' is neither 'octicon NAME' nor an SVG beside the template.",
      "workflows-templates/b.properties.json: unknown key 'colour'.",
    ]);
  });
});
