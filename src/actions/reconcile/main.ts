import { info, setFailed, warning } from '@actions/core';
import { ownerState, type OwnerState } from '../../delivery/ownership.js';
import { carryOut, decide, type Decision, type Outcome } from '../../delivery/reconcile.js';
import { describeRecord } from '../../delivery/record.js';
import type { GitHub, Repo } from '../../github/client.js';
import { runAttemptId, runContext } from '../../github/context.js';
import type * as Deployments from '../../github/deployments.js';
import type * as DeploymentHistory from '../../github/deployment-history.js';
import type * as DeploymentTracking from '../../github/deployment-tracking.js';
import { code, escapeText, facts, heading, table } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { runStatusChecker, type RunStatusChecker } from '../../github/runs.js';
import { writeSummary } from '../../github/summary.js';
import { stepNotifier } from '../../notify/step-notifier.js';
import type { NotifyEvent } from '../../notify/notify.js';
import { systemClock } from '../../util/clock.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import { mapLimit } from '../../util/pool.js';
import type { Item, PlatformScan } from './platform.js';
import type { Settings } from './settings.js';

/** Rollouts finished at the same time (each restore is one retried call per service). */
const PARALLEL = 4;

async function scan(s: Settings, signal: AbortSignal): Promise<PlatformScan> {
  switch (s.scope.platform) {
    case 'ecs':
      return (await import('./ecs.js')).scanEcsScope(s.scope, s, signal);
    case 'gke':
      return (await import('./gke.js')).scanGkeScope(s.scope, s, signal);
  }
}

/** One row of the report. */
export interface Row {
  where: string;
  rollout: string;
  state: string;
  decision: Decision['action'];
  done: string;
  detail: string;
  /** How long ago the owner stopped driving it, when it has. */
  ownerGoneMs?: number;
  /** From this run's start until traffic was confirmed back on stable. */
  restoredAfterMs?: number;
  ok: boolean;
}

/** A GitHub Deployment left in progress by a run that ended, and what was recorded on it. */
interface Closed {
  id: number;
  service: string;
  state: 'success' | 'failure' | 'error';
  description: string;
}

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  const clock = systemClock;
  const startedAt = clock.now();
  const run = runContext();
  // Webhook URLs are masked before anything else is printed; a notification never fails or holds up the reconcile.
  const notes = stepNotifier();
  const self = runAttemptId(run);
  const by = `the reconcile workflow in run ${self || 'outside GitHub Actions'}`;
  const checker: RunStatusChecker | undefined = await runStatusChecker(s.githubToken, info);
  if (!checker) info("No github-token: whether an owner still runs is decided by its record's lease alone.");

  const platform = await scan(s, signal);
  info(
    `Looked at ${platform.seen} ${s.scope.platform === 'ecs' ? 'service(s)' : 'Deployment(s)'}; ${platform.items.length} carry rollout state.`,
  );
  const rows: Row[] = [];
  try {
    const results = await mapLimit(platform.items, PARALLEL, async (item) => reconcileItem(item));
    rows.push(...results);
  } finally {
    platform.close();
  }

  async function reconcileItem(item: Item): Promise<Row> {
    const { found } = item;
    const record = found.record;
    const now = clock.now();
    let owner: OwnerState | undefined;
    let endedAt: number | undefined;
    if (record && record.phase !== 'held' && record.phase !== 'paused') {
      owner = await ownerState(record, { now, ...(checker ? { ownerAlive: checker.ownerAlive } : {}), log: info });
      if (record.run && checker && !owner.alive) endedAt = (await checker.status(record.run))?.endedAt;
    }
    const decision = decide({
      found,
      ...(owner ? { owner } : {}),
      ...(endedAt !== undefined ? { ownerEndedAt: endedAt } : {}),
      now,
    });
    info(
      `${item.where}: ${record ? describeRecord(record) : found.kept ? `blue of rollout ${found.kept.id} kept` : 'state not trusted'}. ${decision.why}`,
    );
    const analysis = decision.action === 'judge' ? safely(() => item.analysis()) : {};
    const outcome: Outcome = await carryOut(decision, record, {
      ...(item.target ? { target: item.target } : {}),
      ...(item.retire ? { retire: item.retire } : {}),
      ...(analysis.value ? { analysis: analysis.value } : {}),
      ...(item.subjects ? { subjects: item.subjects } : {}),
      dryRun: s.dryRun,
      by,
      clock,
      signal,
      log: (line) => info(`  ${item.where}: ${line}`),
      timeoutMs: s.restoreTimeoutMs,
    });
    if (analysis.error) outcome.detail += ` The analysis spec could not be used: ${analysis.error}`;
    (outcome.ok ? info : warning)(`${item.where}: ${outcome.done}. ${outcome.detail}`);
    return {
      where: item.where,
      rollout: record?.id ?? found.kept?.id ?? '—',
      state: record ? record.phase : found.kept ? 'blue kept' : 'untrusted',
      decision: decision.action,
      done: outcome.done,
      detail: outcome.detail,
      ...(decision.ownerGoneAt !== undefined ? { ownerGoneMs: Math.max(0, startedAt - decision.ownerGoneAt) } : {}),
      ...(outcome.restoredAt !== undefined ? { restoredAfterMs: outcome.restoredAt - startedAt } : {}),
      ok: outcome.ok,
    };
  }

  // GitHub Deployments that dead runs left in progress: closed, saying what happened to the service.
  const closed: Closed[] = [];
  if (s.environment && s.githubToken && checker) {
    try {
      closed.push(...(await closeAbandoned(s.environment, s.githubToken, checker, rows, s.dryRun, self)));
    } catch (err) {
      warning(`Could not close the GitHub Deployments that ended runs left in progress: ${errorMessage(err)}`);
    }
  }

  // Tell people what the reconciler did to whose rollout (never on a dry run).
  for (const r of rows) {
    const event: NotifyEvent | undefined = !r.ok
      ? 'failed'
      : r.done === 'rolled-back'
        ? 'rolled-back'
        : r.done === 'promoted'
          ? 'promoted'
          : undefined;
    if (!event || s.dryRun) continue;
    void notes.send({
      event,
      service: r.where,
      environment: s.environment ?? r.where,
      release: `rollout ${r.rollout}`,
      summary:
        `The reconciler (run ${self || 'local'}) ${!r.ok ? 'could not finish' : r.done} the ${r.state} rollout: ${r.detail}`.slice(
          0,
          1000,
        ),
      facts: [
        ['Found', r.state],
        ...(r.ownerGoneMs !== undefined
          ? ([['Owner gone for', formatDuration(r.ownerGoneMs)]] as Array<[string, string]>)
          : []),
      ],
    });
  }

  const acted = rows.filter((r) => ['rolled-back', 'promoted', 'retired'].includes(r.done));
  const failed = rows.filter((r) => !r.ok);
  const counts = {
    seen: platform.seen,
    rollouts: rows.length,
    acted: acted.length,
    left: rows.filter((r) => r.done === 'left' || r.done.startsWith('judged-')).length,
    reported: rows.filter((r) => r.done === 'reported').length,
    failed: failed.length,
    'would-act': rows.filter((r) => r.done.startsWith('would-')).length,
    'deployments-closed': s.dryRun ? 0 : closed.length,
  };
  outputs.set(
    'actions',
    JSON.stringify(
      rows
        .filter((r) => r.decision !== 'leave')
        .map((r) => ({ where: r.where, rollout: r.rollout, state: r.state, done: r.done, detail: r.detail })),
    ),
  );
  outputs.set('counts', JSON.stringify(counts));
  outputs.set('acted', acted.length);
  outputs.set('failed', failed.length);
  outputs.set('deployments-closed', counts['deployments-closed']);

  const title = `${s.dryRun ? 'Dry run: ' : ''}Reconcile ${s.scope.platform === 'ecs' ? `ECS ${s.scope.clusters.join(', ')}` : `GKE ${s.scope.namespaces.join(', ')}`}`;
  const body = rows.length
    ? table(
        ['Where', 'Rollout', 'State', 'Owner gone for', 'Done', 'Why'],
        rows.map((r) => [
          code(r.where),
          code(r.rollout),
          r.state,
          r.ownerGoneMs !== undefined ? formatDuration(r.ownerGoneMs) : '—',
          `${r.ok ? '' : '⚠️ '}${r.done}${r.restoredAfterMs !== undefined ? ` (stable ${formatDuration(r.restoredAfterMs)} after this run started)` : ''}`,
          escapeText(r.detail),
        ]),
      )
    : 'No rollout state on any of them: nothing to do.\n';
  const closedText = closed.length
    ? `\n**GitHub Deployments closed** (left in progress by runs that ended)\n\n${closed.map((c) => `- ${c.id} (${c.service || 'unknown service'}): ${c.state}: ${escapeText(c.description)}`).join('\n')}\n`
    : '';
  await writeSummary(
    heading(title) +
      facts([
        [
          'Looked at',
          `${platform.seen} ${s.scope.platform === 'ecs' ? 'service(s)' : 'Deployment(s)'}, ${rows.length} with rollout state`,
        ],
        ['Acted on', String(acted.length)],
        ...(s.dryRun ? ([['Would act on', String(counts['would-act'])]] as Array<[string, string]>) : []),
        ['Took', formatDuration(clock.now() - startedAt)],
      ]) +
      '\n' +
      body +
      closedText,
  );
  await notes.flush();
  if (failed.length)
    setFailed(
      `${failed.length} rollout(s) could not be finished: ${failed.map((r) => `${r.where}: ${r.detail}`).join(' ')}`,
    );
}

function safely<T>(fn: () => T): { value?: T; error?: string } {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

/**
 * Deployments of ours in `environment` whose newest status is in_progress (or queued) and
 * whose run has ended: each gets a final status saying what this run found (the service
 * rolled back or promoted here, or left as the dead run left it).
 */
async function closeAbandoned(
  environment: string,
  token: string,
  checker: RunStatusChecker,
  rows: Row[],
  dryRun: boolean,
  self: string,
): Promise<Closed[]> {
  const { currentRepo, githubClient } = await import('../../github/client.js');
  const gh: typeof Deployments & typeof DeploymentHistory & typeof DeploymentTracking & { client: GitHub; repo: Repo } =
    {
      ...(await import('../../github/deployments.js')),
      ...(await import('../../github/deployment-history.js')),
      ...(await import('../../github/deployment-tracking.js')),
      client: githubClient(token),
      repo: currentRepo(),
    };
  const list = await gh.listDeployments(gh.client, gh.repo, { environment, limit: 30 });
  const out: Closed[] = [];
  for (const d of list) {
    const state = gh.currentState(d);
    if (state !== 'in_progress' && state !== 'queued' && state !== 'pending') continue;
    const runRef = d.payload?.run;
    if (!runRef?.id) continue;
    const status = await checker.status(`${runRef.id}.${runRef.attempt || '1'}`);
    if (!status || status.alive) continue;
    const service = d.payload?.service ?? '';
    const row = rows.find(
      (r) => service && r.where.split('/').pop() === service && ['rolled-back', 'promoted'].includes(r.done),
    );
    const closedState = row?.done === 'promoted' ? 'success' : row ? 'failure' : 'error';
    const description =
      row?.done === 'promoted'
        ? `Run ${runRef.id} ended mid-promotion (${status.detail}); reconcile (run ${self || 'local'}) finished it.`
        : row
          ? `Run ${runRef.id} ended mid-rollout (${status.detail}); reconcile (run ${self || 'local'}) rolled it back.`
          : `Run ${runRef.id} ended (${status.detail}) without finishing this deployment; closed by reconcile.`;
    if (!dryRun) await gh.setDeploymentStatus(gh.client, gh.repo, d.id, closedState, description);
    info(
      `${dryRun ? 'Dry run: would close' : 'Closed'} GitHub Deployment ${d.id} (${service || 'unknown service'}) as ${closedState}: ${description}`,
    );
    out.push({
      id: d.id,
      service,
      state: closedState,
      description: dryRun ? `(dry run, not written) ${description}` : description,
    });
  }
  return out;
}
