import { info, warning } from '@actions/core';
import type { RollbackOptions, RollbackOutcome } from '../../delivery/rollback.js';
import type { GitHub, Repo } from '../../github/client.js';
import { runAttemptId, runContext } from '../../github/context.js';
import type * as Deployments from '../../github/deployments.js';
import type * as DeploymentHistory from '../../github/deployment-history.js';
import type * as DeploymentTracking from '../../github/deployment-tracking.js';
import type { DeploymentRecord } from '../../github/deployments.js';
import { code, escapeText, facts, heading } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { stepNotifier } from '../../notify/step-notifier.js';
import { about } from '../../notify/subject.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import type { RollbackTarget, Settings } from './settings.js';

/** The per-platform rollback: each platform's module takes its own target settings and returns the same outcome. */
async function rollbackOn(target: RollbackTarget, options: RollbackOptions): Promise<RollbackOutcome> {
  switch (target.platform) {
    case 'ecs':
      return (await import('./ecs.js')).rollbackEcs(target, options);
    case 'gke':
      return (await import('./gke.js')).rollbackGke(target, options);
  }
}

/** `family:revision` of a task definition ARN; anything else as it is. */
const short = (what: string) => (what.includes(':task-definition/') ? (what.split('/').pop() as string) : what);

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  // Webhook URLs are masked before anything else is printed; a notification never fails or holds up the rollback.
  const context = runContext();
  const notes = stepNotifier();
  const reason = s.reason.trim() || 'no reason given';
  info(`Rolling back on ${s.target.platform.toUpperCase()}: ${reason}.`);

  // GitHub Deployments: the deployment being undone is marked failed as the first change starts.
  const github = s.environment && s.githubToken ? { environment: s.environment, token: s.githubToken } : undefined;
  let gh:
    | (typeof Deployments & typeof DeploymentHistory & typeof DeploymentTracking & { client: GitHub; repo: Repo })
    | undefined;
  if (github) {
    const { currentRepo, githubClient } = await import('../../github/client.js');
    gh = {
      ...(await import('../../github/deployments.js')),
      ...(await import('../../github/deployment-history.js')),
      ...(await import('../../github/deployment-tracking.js')),
      client: githubClient(github.token),
      repo: currentRepo(),
    };
  }
  let history: DeploymentRecord[] = [];
  let undone: DeploymentRecord | undefined;
  const beforeChange = async (service: string) => {
    if (!gh || !github) return;
    try {
      // Newest first: the one live now is the one being undone.
      history = await gh.listDeployments(gh.client, gh.repo, { environment: github.environment, service, limit: 20 });
      undone = history[0];
      const state = undone ? gh.currentState(undone) : undefined;
      if (undone && state !== 'failure' && state !== 'error') {
        await gh.setDeploymentStatus(gh.client, gh.repo, undone.id, 'failure', `Rolled back: ${reason}`);
        info(
          `Marked GitHub Deployment ${undone.id} (${undone.payload?.image ?? 'unknown image'}) in ${github.environment} as failed.`,
        );
      }
    } catch (err) {
      warning(`Could not mark the undone GitHub Deployment as failed: ${errorMessage(err)}. The rollback goes on.`);
    }
  };

  const run = runContext();
  // Kept in a tag: letters, digits, spaces and + - = . _ : / @ only.
  const by = `the rollback action in run ${runAttemptId(run) || 'outside GitHub Actions'}${run.actor ? ` started by ${run.actor}` : ''}`;
  const named = s.target.platform === 'ecs' ? s.target.service : s.target.deployment;
  const environment = s.environment ?? (s.target.platform === 'ecs' ? s.target.cluster : s.target.namespace);
  let outcome: Awaited<ReturnType<typeof rollbackOn>>;
  try {
    outcome = await rollbackOn(s.target, {
      reason,
      by,
      waitTimeoutMs: s.waitTimeoutMs,
      signal: ctx.signal,
      log: info,
      beforeChange,
    });
  } catch (err) {
    await notes.send({
      event: 'failed',
      ...about({ service: named, environment, release: context.sha || 'unknown' }),
      summary: `The rollback (${reason}) failed: ${errorMessage(err)}`.slice(0, 1000),
    });
    throw err;
  }
  if (outcome.status === 'rolled-back') {
    void notes.send({
      event: 'rolled-back',
      ...about({
        service: outcome.service,
        environment,
        release: short(outcome.rolledBackTo),
        ...(outcome.image ? { image: outcome.image } : {}),
      }),
      summary: `Rolled back to ${short(outcome.rolledBackTo)}: ${reason}`.slice(0, 1000),
      facts: [
        ['Recovery', `${Math.round(outcome.recoveryMs / 1000)} s until all traffic was back`],
        ...(outcome.from ? ([['Was running', short(outcome.from)]] as Array<[string, string]>) : []),
      ],
    });
  }
  const seconds = Math.round(outcome.recoveryMs / 1000);
  outputs.set('status', outcome.status);
  outputs.set('rolled-back-to', outcome.rolledBackTo);
  outputs.set('recovery-seconds', seconds);

  let recorded: number | undefined;
  if (gh && github && outcome.status === 'rolled-back') {
    try {
      // The commit the restored image was deployed from before, when the history has it.
      const earlier = history.find((d) => outcome.image && d.payload?.image === outcome.image);
      const tracked = await gh.trackDeployment(gh.client, gh.repo, {
        environment: github.environment,
        image: outcome.image ?? short(outcome.rolledBackTo),
        ...(earlier ? { ref: earlier.sha } : {}),
        description: `Roll back ${outcome.service} to ${short(outcome.rolledBackTo)}: ${reason}`,
        payload: { service: outcome.service, platform: s.target.platform, engine: outcome.engine, rollback: true },
        adopt: false,
      });
      await tracked.finish(
        'success',
        `Rolled back to ${short(outcome.rolledBackTo)} in ${formatDuration(outcome.recoveryMs)}: ${reason}`,
      );
      recorded = tracked.id;
      info(`Recorded the rollback as GitHub Deployment ${tracked.id} in ${github.environment}.`);
    } catch (err) {
      warning(`Could not record the rollback as a GitHub Deployment: ${errorMessage(err)}.`);
    }
  }

  const rows: Array<[string, string]> = [
    ['Reason', escapeText(reason)],
    [outcome.status === 'rolled-back' ? 'Rolled back to' : 'Runs', code(short(outcome.rolledBackTo))],
    ...(outcome.from && outcome.from !== outcome.rolledBackTo
      ? ([['Was running', code(short(outcome.from))]] as Array<[string, string]>)
      : []),
    ...(outcome.image ? ([['Image', code(outcome.image)]] as Array<[string, string]>) : []),
    ...(outcome.status === 'rolled-back'
      ? ([
          ['Recovery', `${formatDuration(outcome.recoveryMs)} from the first change until all traffic was back`],
        ] as Array<[string, string]>)
      : []),
    ['Engine', code(outcome.engine)],
    ...(undone && github
      ? ([['Undone deployment', `GitHub Deployment ${undone.id} (${github.environment}) marked failed`]] as Array<
          [string, string]
        >)
      : []),
    ...(recorded !== undefined && github
      ? ([['GitHub Deployment', `${recorded} (${github.environment})`]] as Array<[string, string]>)
      : []),
  ];
  const title =
    outcome.status === 'rolled-back' ? `↩️ Rolled back ${outcome.where}` : `✔️ Nothing to roll back: ${outcome.where}`;
  const done = outcome.actions.length
    ? `\n**What was done**\n\n${outcome.actions.map((a) => `- ${a}`).join('\n')}\n`
    : '';
  await writeSummary(heading(title) + facts(rows) + done);
  await notes.flush();
  info(
    outcome.status === 'rolled-back'
      ? `Rolled back to ${short(outcome.rolledBackTo)}; recovery took ${formatDuration(outcome.recoveryMs)}.`
      : `Nothing to roll back: ${outcome.where} runs ${short(outcome.rolledBackTo)}.`,
  );
}
