import { endGroup, info, startGroup, warning } from '@actions/core';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentRepo, githubClient, tokenOrUndefined, type GitHub, type Repo } from '../../github/client.js';
import { runContext, runUrl } from '../../github/context.js';
import { findPullRequestHead, readEvent } from '../../github/event.js';
import { trustedStatus, type TrustedStatus } from '../../github/statuses.js';
import { code, codeBlock, heading } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { findComment, upsertComment } from '../../github/upsert.js';
import { annotate } from '../../terraform/annotate.js';
import { credentialsEnv } from '../../aws/credentials.js';
import { TerraformCli } from '../../terraform/cli.js';
import { describeDiagnostic } from '../../terraform/diagnostics.js';
import { outputDir, stackDir, workspaceDir } from '../../terraform/paths.js';
import { canonicalChanges, decodeDigest, diffCanonical } from '../../terraform/plan-id.js';
import {
  countsLine,
  planCommentMarker,
  planStatusContext,
  readPlanComment,
  readPlanStatus,
  withStatus,
} from '../../terraform/render.js';
import { applyPlan, init, isStalePlan, showJson, type StepOutcome } from '../../terraform/stack.js';
import { summarisePlanFile, type PlanSummary } from '../../terraform/summary.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

interface Github {
  gh: GitHub;
  repo: Repo;
  pr: number;
  headSha: string | undefined;
  /** Only this login's comment is read or edited. */
  author: string;
}

/** Puts a status on the stack's PR comment (or a new comment when there is none); never fails the step. */
async function report(github: Github | undefined, stack: string, status: string): Promise<void> {
  if (!github) return;
  try {
    const existing = await findComment(github.gh, github.repo, github.pr, planCommentMarker(stack), github.author);
    const body = existing
      ? withStatus(existing.body, status)
      : withStatus(`<!-- platform-actions:${planCommentMarker(stack)} -->\n### Terraform: ${code(stack)}\n`, status);
    await upsertComment(github.gh, github.repo, github.pr, planCommentMarker(stack), body, 'update', github.author);
    info(`Updated the comment of ${stack} on #${github.pr}.`);
  } catch (err) {
    warning(
      `Could not update the pull request comment: ${errorMessage(err)}. Give the job \`permissions: pull-requests: write\`.`,
    );
  }
}

const noPlanIdNoPullRequest = (hint: string): UserError =>
  new UserError(
    'No reviewed plan-id: the plan-id input is empty and no pull request was found for this run (or no github-token). Nothing was applied.',
    hint,
  );

const noPlanIdUnknownHead = (github: Github, hint: string): UserError =>
  new UserError(
    `No reviewed plan-id: the plan-id input is empty and the head commit of pull request #${github.pr} is not known to this event. Nothing was applied.`,
    hint,
  );

const noPlanIdNoStatus = (
  github: Github,
  headSha: string,
  context: string,
  s: Settings,
  status: TrustedStatus | undefined,
  hint: string,
): UserError =>
  new UserError(
    `No reviewed plan-id: pull request #${github.pr}'s head commit ${headSha.slice(0, 12)} has no ${context} status set by ${s.planAuthor}${status ? ' with a plan-id in it' : ''}. Nothing was applied.`,
    `${hint} If terraform-plan runs with another token, set plan-author to its login.`,
  );

/** The plan-id of the newest trusted plan status on the pull request's head commit; refuses without one. */
async function reviewedFromStatus(github: Github | undefined, s: Settings): Promise<string> {
  const hint =
    "Pass terraform-plan's plan-id output of the reviewed plan, or re-run terraform-plan on the pull request (its job needs `permissions: statuses: write`) so it sets the status again.";
  if (!github) {
    throw noPlanIdNoPullRequest(hint);
  }
  if (!github.headSha) {
    throw noPlanIdUnknownHead(github, hint);
  }
  const context = planStatusContext(s.stackName);
  const { status, ignored } = await trustedStatus(github.gh, github.repo, github.headSha, context, s.planAuthor);
  if (ignored.length > 0)
    warning(
      `Ignored the ${context} status set by ${ignored.join(', ')} on ${github.headSha.slice(0, 12)}: only ${s.planAuthor} (plan-author) is trusted for the reviewed plan-id.`,
    );
  const planId = status ? readPlanStatus(status.description) : undefined;
  if (!planId) {
    throw noPlanIdNoStatus(github, github.headSha, context, s, status, hint);
  }
  return planId;
}

const planFileMissing = (s: Settings, planFile: string): UserError =>
  new UserError(
    `plan-file '${s.planFile}' does not exist (looked in ${planFile}).`,
    "Download the plan's artifact before this step (actions/download-artifact) and pass the path of plan.tfplan.",
  );

const planNotReviewed = (summary: PlanSummary, reviewedId: string, text: string): UserError =>
  new UserError(
    `The plan to apply does not mean what was reviewed (plan-id ${summary.planId.slice(0, 16)}…, reviewed ${reviewedId.slice(0, 16)}…). Nothing was applied. What differs:\n${text}`,
    'Review the new plan: re-run terraform-plan on the pull request, check its comment, and apply that plan with its plan-id.',
  );

const applyFailed = (
  s: Settings,
  done: string,
  applied: StepOutcome & { summary?: { add: number; change: number; remove: number } },
): UserError =>
  new UserError(
    `${s.binary} apply failed for ${s.stackName}:${done}\n${applied.errors.map(describeDiagnostic).join('\n')}`,
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const dir = stackDir(s.workingDirectory);
  const planFile = resolve(dir, s.planFile);
  if (!existsSync(planFile)) {
    throw planFileMissing(s, planFile);
  }
  const run = runContext();
  const link = run.runId ? `[run ${run.runId}](${runUrl(run)})` : 'this run';
  const cli = new TerraformCli({
    binary: s.binary,
    cwd: dir,
    prepareEnv: credentialsEnv,
    signal: ctx.signal,
    log: info,
  });

  let github: Github | undefined;
  const token = tokenOrUndefined(s.token);
  if (token) {
    const gh = githubClient(token);
    const repo = currentRepo();
    const pr = await findPullRequestHead(gh, repo, readEvent(), run.sha || undefined).catch((err: unknown) => {
      warning(`Could not find the pull request of this commit: ${errorMessage(err)}`);
      return undefined;
    });
    if (pr !== undefined) github = { gh, repo, pr: pr.number, headSha: pr.headSha, author: s.planAuthor };
  }

  // Providers and modules must be installed; the backend comes from the plan file itself.
  if (!existsSync(join(dir, '.terraform'))) {
    startGroup(`${s.binary} init -backend=false`);
    const initialised = await init(cli, { backend: false }).finally(endGroup);
    if (initialised.errors.length > 0) {
      annotate(initialised.errors, dir, workspaceDir(), `${s.binary} init failed`);
      throw new UserError(`${s.binary} init failed:\n${initialised.errors.map(describeDiagnostic).join('\n')}`);
    }
  }

  const json = join(outputDir('terraform-apply', s.stackName), 'plan.json');
  const shown = await showJson(cli, planFile, json);
  if (shown.errors.length > 0) {
    throw new UserError(
      `${s.binary} could not read the plan file: ${shown.errors.map(describeDiagnostic).join('\n')}`,
      `Make sure plan-file is terraform-plan's plan-file, made by the same ${s.binary} version.`,
    );
  }
  const summary = await summarisePlanFile(json, [], Infinity);
  // The reviewed plan-id: the input, or the commit status terraform-plan set on the pull
  // request's head commit, by plan-author only. The PR comment is never the source: anyone
  // can comment, and a plan's attribute values are rendered into it.
  let reviewedId = s.planId;
  let source = '';
  if (!reviewedId) {
    reviewedId = await reviewedFromStatus(github, s);
    source = ` (from the ${planStatusContext(s.stackName)} status by ${s.planAuthor} on ${github?.headSha?.slice(0, 12)}, pull request #${github?.pr})`;
  }
  // The digest (for showing what differs) only from our own comment, and only when it is of the reviewed plan.
  const comment = github
    ? await findComment(github.gh, github.repo, github.pr, planCommentMarker(s.stackName), s.planAuthor).catch(
        () => undefined,
      )
    : undefined;
  const saved = comment ? readPlanComment(comment.body) : {};
  info(`plan-id of ${s.planFile}: ${summary.planId}; reviewed: ${reviewedId}${source}.`);

  if (summary.planId !== reviewedId) {
    let reviewed = undefined;
    if (saved.planId === reviewedId && saved.digest) reviewed = decodeDigest(saved.digest);
    const current = canonicalChanges(summary.canonical);
    const diff = reviewed
      ? diffCanonical(reviewed, current)
      : [
          `The reviewed plan's details were not found (no PR comment with plan-id ${reviewedId.slice(0, 16)}); this plan's changes are:`,
          ...diffCanonical([], current),
        ];
    const text = diff.join('\n');
    await writeSummary(
      heading(`Terraform apply refused: ${code(s.stackName)}`) +
        'The plan does not mean what was reviewed:\n\n' +
        codeBlock(text, 'diff'),
    );
    await report(
      github,
      s.stackName,
      `⛔ **Apply refused** in ${link}: the plan to apply (plan-id ${code(summary.planId.slice(0, 16))}) is not the reviewed one (${code(reviewedId.slice(0, 16))}).\n\n<details><summary>What differs</summary>\n\n${codeBlock(text.slice(0, 20_000), 'diff')}\n</details>`,
    );
    throw planNotReviewed(summary, reviewedId, text);
  }

  startGroup(`${s.binary} apply`);
  const applied = await applyPlan(cli, planFile, { lockTimeout: s.lockTimeout }).finally(endGroup);
  annotate(applied.warnings, dir, workspaceDir(), s.binary);
  if (applied.errors.length > 0) {
    if (isStalePlan(applied.errors)) {
      const message = `The reviewed plan for ${s.stackName} is stale: the state changed after it was made (another apply ran), so ${s.binary} refused to apply it. Nothing was applied.`;
      await report(
        github,
        s.stackName,
        `⛔ **Apply refused** in ${link}: the plan is stale (the state changed after it was made). Re-run the plan and review it again.`,
      );
      await writeSummary(heading(`Terraform apply refused: ${code(s.stackName)}`) + `${message}\n`);
      throw new UserError(
        message,
        'Re-run terraform-plan so it plans against the current state, review that plan, and apply it.',
      );
    }
    annotate(applied.errors, dir, workspaceDir(), `${s.binary} apply failed`);
    const done = applied.summary
      ? ` Before the error: ${applied.summary.add} added, ${applied.summary.change} changed, ${applied.summary.remove} destroyed.`
      : '';
    await report(
      github,
      s.stackName,
      `❌ **Apply failed** in ${link}.${done} ${applied.errors.map((e) => e.summary).join('; ')}`,
    );
    await writeSummary(
      heading(`Terraform apply failed: ${code(s.stackName)}`) +
        codeBlock(applied.errors.map(describeDiagnostic).join('\n\n')),
    );
    throw applyFailed(s, done, applied);
  }

  const result = applied.summary ?? { add: 0, change: 0, remove: 0 };
  outputs.set('add', result.add);
  outputs.set('change', result.change);
  outputs.set('destroy', result.remove);
  const line = `${result.add} added, ${result.change} changed, ${result.remove} destroyed`;
  info(`Applied ${s.stackName}: ${line}.`);
  await report(github, s.stackName, `✅ **Applied** in ${link}: ${line} (plan-id ${code(reviewedId.slice(0, 16))}).`);
  await writeSummary(
    heading(`Terraform apply: ${code(s.stackName)}`) +
      `Applied the reviewed plan (plan-id ${code(reviewedId.slice(0, 16))}): ${line}.\n\n` +
      (summary.hasChanges ? `Planned: ${countsLine(summary.counts)}.\n` : ''),
  );
}
