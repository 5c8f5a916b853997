/**
 * What happens between jobs (issue 13) and the gates (issue 14): the environments'
 * protection as the GitHub stand-in answers it, release.yml's production-promote job (the
 * human gate a paused canary waits behind) followed by the resume job, and a scheduled
 * reconcile.yml run that finishes what a dead runner left. reconcile.yml's job runs as its
 * file says: each step's `if:` and `with:` evaluated from the file for the one cluster of
 * its matrix, the actions from dist/.
 */
import { condition, renderAll } from '../../test/support/expressions.js';
import { setEnvironment, type EnvironmentSettings } from '../../test/support/github-release.js';
import type { StepResult } from '../../test/support/runner.js';
import { callInputs, loadWorkflow, runScriptStepAsync, stepOf } from '../../test/support/workflow-steps.js';
import { deployEnvironment, type DeployOutcome } from './delivery.js';
import type { Release } from './images.js';
import type { Stack } from './infrastructure.js';
import type { Profile } from './profiles.js';
import { OWNER, REGION, REPO, type World } from './world.js';

/** Who approves what: staging and production gate their deploy jobs; production-promote gates the resume. */
export const PROTECTION: Record<string, EnvironmentSettings> = {
  staging: { reviewers: [{ team: 'platform' }] },
  production: { reviewers: [{ login: 'release-manager', id: 7 }, { team: 'platform' }], branchPolicy: 'protected' },
  'production-promote': { reviewers: [{ login: 'release-manager', id: 7 }] },
};

export function protectEnvironments(world: World, environments: string[]): void {
  for (const [name, settings] of Object.entries(PROTECTION)) {
    if (environments.includes(name) || name === 'production-promote')
      setEnvironment(world.github.store, OWNER, REPO, name, settings);
  }
  world.timeline.note(
    'GitHub Environments',
    `protection set in the GitHub stand-in: ${Object.entries(PROTECTION)
      .filter(
        ([name]) =>
          environments.includes(name) || (name === 'production-promote' && environments.includes('production')),
      )
      .map(
        ([name, s]) =>
          `${name}: reviewers ${(s.reviewers ?? []).map((r) => ('team' in r ? `team ${r.team}` : `@${r.login}`)).join(', ')}`,
      )
      .join('; ')}; dev has none (it need not be gated). deploy-ecs.yml's gate step reads it back before each deploy.`,
  );
}

/**
 * release.yml with production-pause-at: the paused canary waits for production-promote's
 * reviewers (auto-approved here), whose job only says so; then the resume job calls
 * deploy-ecs.yml again with resume: true.
 */
export async function approveAndResume(
  world: World,
  profile: Profile,
  release: Release,
  stack: Stack,
  paused: DeployOutcome,
  notify: string,
): Promise<DeployOutcome> {
  const stage = `Release ${release.number}: resume`;
  const doc = loadWorkflow('release.yml');
  const promote = doc.jobs['production-promote']!;
  const startedAt = world.timeline.now();
  const ran = await runScriptStepAsync(stepOf(promote, 'Approved'), {
    inputs: { 'production-pause-at': profile.productionPauseAt },
    needs: { 'production-ecs': { outputs: { statuses: JSON.stringify(paused.statuses) } } },
  });
  world.timeline.add(
    {
      kind: 'action',
      stage,
      environment: 'production-promote',
      release: release.number,
      title: 'release.yml production-promote job (bound to production-promote): approved',
      startedAt,
      durationMs: world.timeline.now() - startedAt,
      ok: ran.status === 0,
      facts: [
        `required reviewers @release-manager: auto-approved in the sandbox (on GitHub the job waits here, up to production-pause-timeout; 24h by default)`,
        ran.log.trim(),
      ],
    },
    ran.summary,
  );
  return deployEnvironment(world, profile, {
    release,
    stack,
    resume: true,
    pauseAt: profile.productionPauseAt,
    notify,
  });
}

export interface ReconcileOutcome {
  actions: Array<{ where: string; state: string; done: string; detail?: string }>;
  counts: Record<string, number>;
}

/** A scheduled reconcile.yml run for one environment and its one cluster, bound to the `-rollback` gate environment. */
export async function reconcileEnvironment(world: World, stack: Stack): Promise<ReconcileOutcome> {
  const doc = loadWorkflow('reconcile.yml');
  const environment = stack.environment;
  const gateEnvironment = `${environment}-rollback`;
  const inputs = callInputs(doc, {
    environment,
    clusters: JSON.stringify([stack.cluster]),
    'aws-region': REGION,
    'role-to-assume': stack.roleArn,
    'gate-environment': gateEnvironment,
  });
  const run = world.run('reconcile', 'schedule', world.repo.branches.get('main') as string);
  const job = world.job(run, `reconcile-${environment}`, { environment: gateEnvironment });
  job.setEvent('schedule', { schedule: '*/10 * * * *' });
  const stage = 'Reconcile (scheduled)';
  world.timeline.note(
    stage,
    `reconcile.yml runs every 10 minutes (GitHub's cron may start it later under load); here it starts now. Its job is bound to ${gateEnvironment} (no reviewers), which ${environment}'s deploy role trusts.`,
    environment,
  );
  const github = { token: world.github.token, repository: `${OWNER}/${REPO}`, sha: run.sha, run_id: run.runId };
  const done: StepResult[] = [];
  let outcome: ReconcileOutcome = { actions: [], counts: {} };
  for (const step of doc.jobs.reconcile?.steps ?? []) {
    const contexts = { inputs, github, matrix: { cluster: stack.cluster } };
    const action = /^org\/platform-actions\/actions\/([^@/]+)@/.exec(step.uses ?? '')?.[1];
    if (!action || !condition(step.if, contexts)) continue;
    const w = renderAll(step.with, contexts);
    const result = await world.step(
      job,
      action,
      w,
      {
        stage,
        environment,
        title: action === 'reconcile' ? `reconcile ${stack.cluster}` : `${action} ${stack.roleArn.split('/').pop()}`,
      },
      { facts: (s) => reconcileFacts(action, s) },
    );
    done.push(result);
    if (action === 'reconcile')
      outcome = {
        actions: JSON.parse(result.outputs.actions ?? '[]') as ReconcileOutcome['actions'],
        counts: JSON.parse(result.outputs.counts ?? '{}') as Record<string, number>,
      };
  }
  for (const step of done.reverse())
    if (step.action === 'aws-auth')
      await world.step(job, 'aws-auth', {}, { stage, environment, title: 'aws-auth' }, { post: step });
  return outcome;
}

function reconcileFacts(action: string, step: StepResult): string[] {
  if (action !== 'reconcile') return [`${step.outputs['aws-assumed-role-arn']}`];
  const actions = JSON.parse(step.outputs.actions ?? '[]') as ReconcileOutcome['actions'];
  const restored = /rolled-back \(stable [^)]*\)/.exec(step.summary)?.[0];
  return [
    ...actions.map((a) => `${a.where}: ${a.state} → ${a.done}${a.detail ? ` (${a.detail})` : ''}`),
    `counts ${step.outputs.counts}`,
    ...(restored ? [restored] : []),
  ];
}
