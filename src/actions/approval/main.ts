import { info, setSecret, warning } from '@actions/core';
import { commentsAfter, githubAuthority, judge, type Decision, type Ignored } from '../../github/approval.js';
import {
  currentRepo,
  explainGitHubError,
  githubClient,
  tokenOrUndefined,
  type GitHub,
  type Repo,
} from '../../github/client.js';
import { describeApprover } from '../../github/approvers.js';
import { runContext, runUrl, type RunContext } from '../../github/context.js';
import { currentState } from '../../github/deployments.js';
import { listDeployments } from '../../github/deployment-history.js';
import { setDeploymentStatus } from '../../github/deployment-tracking.js';
import { code, escapeText, heading, marker, table } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { upsertIssue } from '../../github/upsert.js';
import { notifier } from '../../notify/notifier.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { systemClock } from '../../util/clock.js';
import type { Settings } from './settings.js';

type Outcome = { kind: 'approved' | 'rejected'; decision: Decision } | { kind: 'timed-out' };

const LABEL = 'deploy-approval';

const releaseRejected = (s: Settings, decided: Decision | undefined, reason: string): UserError =>
  new UserError(
    `Release ${s.release} to ${s.environment} was rejected by @${decided?.login}${reason ? `: ${reason}` : ''} (${decided?.commentUrl}).`,
    'Nothing was deployed. Fix what the approver named and start a new run.',
  );

const notApprovedInTime = (who: string, s: Settings, issueNumber: number, ignoredAll: Ignored[]): UserError =>
  new UserError(
    `Nobody of ${who} approved release ${s.release} to ${s.environment} within ${formatDuration(s.timeoutMs)} (issue #${issueNumber}).`,
    `Nothing was deployed. Re-run this job to ask again${ignoredAll.length ? ` (${ignoredAll.length} command(s) did not count; see the job summary for why)` : ''}, or give a longer timeout.`,
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const token = tokenOrUndefined(s.token);
  if (!token)
    throw new UserError(
      'No github-token: the approval opens an issue and reads its comments.',
      'Pass github-token: ${{ github.token }} and give the job `permissions: issues: write`.',
    );
  const gh = githubClient(token);
  const repo = currentRepo();
  const run = runContext();
  const link = run.runId && run.repository ? runUrl(run) : '';
  const actors = [...new Set([process.env.GITHUB_TRIGGERING_ACTOR ?? '', run.actor].filter(Boolean))];
  const who = s.approvers.map(describeApprover).join(', ');
  const notes = notifier(s.notify, { mask: setSecret, info, warn: warning, ...(link ? { runUrl: link } : {}) });
  const subject = { service: s.service || repo.repo, environment: s.environment, release: s.release };

  // One issue per run and environment (a re-run attempt reuses it), one request comment per attempt.
  const markerId = `approval:${s.environment}:${run.runId || 'local'}`;
  let issueNumber: number;
  let issueUrl: string;
  let requestId: number;
  try {
    const { issue, action } = await upsertIssue(gh, repo, {
      markerId,
      title: `Approve release ${s.release.slice(0, 60)} to ${s.environment}`,
      body: issueBody(s, run, link, who, markerId),
      labels: [LABEL],
    });
    issueNumber = issue.number;
    issueUrl = issue.url;
    info(`Approval issue #${issue.number} ${action}: ${issue.url}`);
    const request = await gh.rest.issues.createComment({
      ...repo,
      issue_number: issueNumber,
      body:
        `${marker(`approval-request:${run.runId || 'local'}.${run.runAttempt}`)}\n` +
        `${who}: please approve or reject release ${code(s.release)} to ${code(s.environment)} by ${new Date(Date.now() + s.timeoutMs).toISOString()} ` +
        `with a new comment whose first line is \`/approve\` or \`/reject REASON\`.` +
        (actors.length
          ? ` ${actors.map((a) => `\`${a}\``).join(' and ')} triggered this run and cannot approve it.`
          : ''),
    });
    requestId = request.data.id;
  } catch (err) {
    throw explainGitHubError(err, 'open the approval issue');
  }
  outputs.set('issue-number', issueNumber);
  outputs.set('issue-url', issueUrl);
  void notes.send({
    event: 'paused',
    ...subject,
    summary: `Awaiting approval by ${who} in issue #${issueNumber} (up to ${formatDuration(s.timeoutMs)}).`,
  });

  const authority = githubAuthority(gh, repo, s.approvers, warning);
  const reported = new Set<string>();
  const ignoredAll: Ignored[] = [];
  const deadline = Date.now() + s.timeoutMs;
  let outcome: Outcome;
  info(`Waiting up to ${formatDuration(s.timeoutMs)} for ${who} to comment /approve or /reject on ${issueUrl}.`);
  try {
    for (;;) {
      const { decision, ignored } = await judge(await commentsAfter(gh, repo, issueNumber, requestId), {
        actors,
        self: 'github-actions[bot]',
        authority,
      });
      for (const i of ignored) {
        if (reported.has(i.commentUrl)) continue;
        reported.add(i.commentUrl);
        ignoredAll.push(i);
        info(`Ignored a command by ${i.login}: ${i.why}.`);
      }
      if (decision) {
        outcome = { kind: decision.decision === 'approve' ? 'approved' : 'rejected', decision };
        break;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        outcome = { kind: 'timed-out' };
        break;
      }
      await systemClock.sleep(Math.min(s.pollIntervalMs, left), ctx.signal);
    }
  } catch (err) {
    if (ctx.signal.aborted) {
      await closeWith(
        gh,
        repo,
        issueNumber,
        `The run was cancelled before a decision; release ${code(s.release)} was not approved.`,
        'not_planned',
      ).catch(() => undefined);
      await notes.flush();
    }
    throw err;
  }

  const approved = outcome.kind === 'approved';
  const decided = outcome.kind === 'timed-out' ? undefined : outcome.decision;
  const reason = decided?.reason ?? '';
  const line =
    outcome.kind === 'approved'
      ? `Approved by @${decided?.login}${reason ? `: ${reason}` : ''}`
      : outcome.kind === 'rejected'
        ? `Rejected by @${decided?.login}${reason ? `: ${reason}` : ''}`
        : `No decision within ${formatDuration(s.timeoutMs)}`;
  info(`${line}.`);

  await closeWith(
    gh,
    repo,
    issueNumber,
    outcome.kind === 'timed-out'
      ? `Timed out after ${formatDuration(s.timeoutMs)} without an approval: release ${code(s.release)} was **not** deployed to ${code(s.environment)}.`
      : `${approved ? '**Approved**' : '**Rejected**'} by @${decided?.login} (${decided?.commentUrl})${reason ? `: ${escapeText(reason)}` : ''}. Release ${code(s.release)} ${approved ? 'goes on' : 'is **not** deployed'} to ${code(s.environment)}.`,
    approved ? 'completed' : 'not_planned',
  ).catch((err: unknown) =>
    warning(`Could not close approval issue #${issueNumber}: ${errorMessage(err)}. Close it by hand.`),
  );

  const deployment = await recordOnDeployment(gh, repo, s, run, line, approved).catch((err: unknown) => {
    warning(`Could not record the decision on the GitHub Deployment: ${errorMessage(err)}.`);
    return undefined;
  });

  outputs.set('approved', approved);
  outputs.set('approver', approved ? (decided?.login ?? '') : '');
  outputs.set('decision', outcome.kind);
  outputs.set('decided-by', decided?.login ?? '');
  outputs.set('reason', reason);
  await writeSummary(summary(s, outcome, issueNumber, issueUrl, who, ignoredAll, deployment));

  if (!approved) void notes.send({ event: 'held', ...subject, summary: `${line}; ${s.environment} was not deployed.` });
  await notes.flush();

  if (outcome.kind === 'rejected') {
    throw releaseRejected(s, decided, reason);
  }
  if (outcome.kind === 'timed-out') {
    throw notApprovedInTime(who, s, issueNumber, ignoredAll);
  }
}

function issueBody(s: Settings, run: RunContext, link: string, who: string, markerId: string): string {
  return [
    marker(markerId),
    heading(`Approval: release ${code(s.release)} to ${code(s.environment)}`),
    `The run ${link ? `[${run.workflow || 'workflow'} #${run.runId}](${link})` : ''} waits for ${who} before it deploys to ${code(s.environment)}.`,
    '',
    'Comment with a **new** comment whose first line is:',
    '- `/approve` to let the deploy go on,',
    '- `/reject REASON` to stop it.',
    '',
    'Only the named approvers with write access count; the person who triggered the run cannot approve it, and edited comments are ignored.',
  ].join('\n');
}

async function closeWith(
  gh: GitHub,
  repo: Repo,
  issue: number,
  text: string,
  reason: 'completed' | 'not_planned',
): Promise<void> {
  await gh.rest.issues.createComment({ ...repo, issue_number: issue, body: text });
  await gh.rest.issues.update({ ...repo, issue_number: issue, state: 'closed', state_reason: reason });
}

/**
 * The decision on the deployment being approved: the one given, or this run's open one in
 * the environment. An approval keeps its open state; a rejection or a timeout makes it
 * inactive (it never ran: neither a failure nor a success).
 */
async function recordOnDeployment(
  gh: GitHub,
  repo: Repo,
  s: Settings,
  run: RunContext,
  line: string,
  approved: boolean,
): Promise<number | undefined> {
  let id = s.deploymentId;
  let state: ReturnType<typeof currentState> = 'queued';
  const recent = await listDeployments(gh, repo, { environment: s.environment, limit: 10 });
  const open = (st: string) => st === 'queued' || st === 'pending' || st === 'in_progress';
  const found = id
    ? recent.find((d) => d.id === id)
    : recent.find((d) => d.payload?.run?.id === run.runId && open(currentState(d)));
  if (!id && !found) {
    info(
      `No open GitHub Deployment of this run in ${s.environment}: the decision is in the job summary and the issue.`,
    );
    return undefined;
  }
  if (found) {
    id = found.id;
    state = currentState(found);
  }
  await setDeploymentStatus(gh, repo, id, approved ? (open(state) ? state : 'queued') : 'inactive', line);
  info(`Recorded on GitHub Deployment #${id}: ${line}.`);
  return id;
}

function summary(
  s: Settings,
  outcome: Outcome,
  issue: number,
  url: string,
  who: string,
  ignored: Ignored[],
  deployment: number | undefined,
): string {
  const d = outcome.kind === 'timed-out' ? undefined : outcome.decision;
  const rows: string[][] = [
    ['**Decision**', outcome.kind === 'approved' ? 'approved' : `**${outcome.kind}**`],
    ['**By**', d ? escapeText(`@${d.login}`) : ''],
    ['**Reason**', d?.reason ? escapeText(d.reason) : ''],
    ['**When**', d?.at ?? ''],
    ['**Approvers**', escapeText(who)],
    ['**Issue**', `[#${issue}](${url})`],
    ['**GitHub Deployment**', deployment ? String(deployment) : 'none found'],
  ];
  let text =
    heading(`Approval of ${code(s.release)} to ${code(s.environment)}: ${outcome.kind}`) + '\n' + table(['', ''], rows);
  if (ignored.length) {
    text +=
      '\nCommands that did not count:\n\n' +
      table(
        ['Who', 'Why'],
        ignored.map((i) => [escapeText(`@${i.login}`), escapeText(i.why)]),
      );
  }
  return text;
}
