import { endGroup, info, startGroup, warning } from '@actions/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentRepo, githubClient, tokenOrUndefined } from '../../github/client.js';
import { runContext, runUrl } from '../../github/context.js';
import { pullRequestFromEvent, pullRequestLabels, readEvent } from '../../github/event.js';
import { marker } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary, SUMMARY_LIMIT_BYTES } from '../../github/summary.js';
import { setCommitStatus } from '../../github/statuses.js';
import { upsertComment } from '../../github/upsert.js';
import { annotate } from '../../terraform/annotate.js';
import { credentialsEnv } from '../../aws/credentials.js';
import { TerraformCli } from '../../terraform/cli.js';
import { describeDiagnostic, type Diagnostic } from '../../terraform/diagnostics.js';
import { outputDir, stackDir, workspaceDir } from '../../terraform/paths.js';
import { encodeDigest } from '../../terraform/plan-id.js';
import {
  bytes,
  chars,
  COMMENT_LIMIT,
  countsLine,
  planCommentMarker,
  planStatusContext,
  planStatusDescription,
  renderPlan,
  type PlanReport,
} from '../../terraform/render.js';
import { planToJson, prepare, unformattedFiles, validate } from '../../terraform/stack.js';
import { summarisePlanFile, type PlanSummary } from '../../terraform/summary.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

/** Room left in the PR comment for terraform-apply's status line. */
export const APPLY_STATUS_RESERVE = 1_000;
/** Largest hidden copy of the plan's meaning kept in the comment (for apply's diff). */
const DIGEST_LIMIT = 24_000;

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  startGroup(name);
  try {
    return await fn();
  } finally {
    endGroup();
  }
}

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const dir = stackDir(s.workingDirectory);
  const workspace = workspaceDir();
  const out = outputDir('terraform-plan', s.stackName);
  const planFile = join(out, 'plan.tfplan');
  const planJson = join(out, 'plan.json');
  const summaryPath = join(out, 'summary.md');
  const varFiles = [...s.varFiles];
  if (s.variables) {
    const file = join(out, 'variables.tfvars');
    writeFileSync(file, `${s.variables}\n`, { mode: 0o600 });
    varFiles.push(file);
  }
  const cli = new TerraformCli({
    binary: s.binary,
    cwd: dir,
    prepareEnv: credentialsEnv,
    signal: ctx.signal,
    log: info,
  });
  const run = runContext();
  const report: PlanReport = {
    stack: s.stackName,
    directory: s.workingDirectory,
    binary: s.binary,
    errors: [],
    warnings: [],
    unformatted: [],
    runUrl: run.runId ? runUrl(run) : undefined,
  };
  const fail = (errors: Diagnostic[]) => report.errors.push(...errors);

  const prepared = await step(`${s.binary} init`, () =>
    prepare(cli, { backendConfig: s.backendConfig, workspace: s.workspace, lockTimeout: s.lockTimeout }),
  );
  report.warnings.push(...prepared.warnings);
  fail(prepared.errors);
  if (report.errors.length === 0) {
    const validated = await step(`${s.binary} validate`, () => validate(cli));
    report.warnings.push(...validated.warnings);
    fail(validated.errors);
  }
  if (s.fmtCheck !== 'off') {
    report.unformatted = await step(`${s.binary} fmt -check`, () => unformattedFiles(cli));
    const severity = s.fmtCheck === 'fail' ? 'error' : 'warning';
    annotate(
      report.unformatted.map((file) => ({
        severity,
        summary: `${file} is not formatted: run \`${s.binary} fmt\`.`,
        file,
      })),
      dir,
      workspace,
      `${s.binary} fmt`,
    );
  }
  let summary: PlanSummary | undefined;
  if (report.errors.length === 0) {
    const planned = await step(`${s.binary} plan`, () =>
      planToJson(cli, {
        out: planFile,
        json: planJson,
        varFiles,
        lockTimeout: s.lockTimeout,
        parallelism: s.parallelism,
      }),
    );
    report.warnings.push(...planned.warnings);
    fail(planned.errors);
    if (planned.errors.length === 0) {
      summary = await summarisePlanFile(planJson, s.protectedResources);
      report.summary = summary;
    }
  }
  annotate(report.errors, dir, workspace, `${s.binary} failed`);
  annotate(report.warnings, dir, workspace, s.binary);

  const tokenValue = tokenOrUndefined(s.token);
  const payload = readEvent();
  const pr = pullRequestFromEvent(payload);
  const gh = tokenValue ? githubClient(tokenValue) : undefined;
  const repo = gh ? currentRepo() : undefined;

  // The destroy guard: destroys need the label when fail-on-destroy is on; destroys of
  // protected resources always do.
  if (summary) {
    const destructive = summary.changes.filter(
      (c) => c.deferredReason === undefined && (c.kind === 'delete' || c.kind === 'replace'),
    );
    const needsLabel = (s.failOnDestroy && destructive.length > 0) || summary.protectedDestroys.length > 0;
    if (needsLabel) {
      let labels = (payload.pull_request?.labels ?? []).map((l) => l.name);
      if (gh && repo && pr !== undefined) {
        labels = await pullRequestLabels(gh, repo, pr).catch((err: unknown) => {
          warning(`Could not read the pull request's labels (${errorMessage(err)}); using those in the event.`);
          return labels;
        });
      }
      const what =
        summary.protectedDestroys.length > 0
          ? `destroys or replaces protected resources (${summary.protectedDestroys.map((a) => `\`${a}\``).join(', ')})`
          : `destroys or replaces ${destructive.length} resource(s)`;
      report.guard = labels.includes(s.allowDestroyLabel)
        ? { blocked: false, reason: `This plan ${what}; allowed by the \`${s.allowDestroyLabel}\` label.` }
        : {
            blocked: true,
            reason: `This plan ${what}. ${pr !== undefined ? `Add the \`${s.allowDestroyLabel}\` label to the pull request and re-run this job to allow it.` : `Only a pull request with the \`${s.allowDestroyLabel}\` label may do that.`}`,
          };
    }
  }

  const hidden: string[] = [];
  if (summary) {
    const digest = encodeDigest(summary.canonical, DIGEST_LIMIT);
    if (digest) hidden.push(marker(`plan-digest:${digest}`));
  }
  const comment = renderPlan(
    { ...report, hidden },
    {
      limit: COMMENT_LIMIT - APPLY_STATUS_RESERVE,
      measure: chars,
      markerId: planCommentMarker(s.stackName),
      moreHint: 'the full plan is in the job summary',
    },
  );
  const full = renderPlan(report, {
    limit: SUMMARY_LIMIT_BYTES - 2048,
    measure: bytes,
    moreHint: 'the plan JSON (plan-json output) has every change',
  });
  writeFileSync(summaryPath, full);
  await writeSummary(full);

  let commented = false;
  if (s.comment !== 'off' && pr !== undefined) {
    if (!gh || !repo) warning('No github-token: the plan was not posted to the pull request.');
    else {
      try {
        const posted = await upsertComment(gh, repo, pr, planCommentMarker(s.stackName), comment, s.comment);
        commented = true;
        info(`${posted.created ? 'Posted' : 'Updated'} the plan comment on #${pr}: ${posted.url}`);
      } catch (err) {
        warning(
          `Could not post the plan to pull request #${pr}: ${errorMessage(err)}. Give the job \`permissions: pull-requests: write\`.`,
        );
      }
    }
  } else if (s.comment !== 'off') {
    info('Not a pull request run: no PR comment (the plan is in the job summary).');
  }

  // The reviewed plan-id for terraform-apply, on the pull request's head commit: a commit
  // status, which a commenter cannot set, unlike the comment anyone can imitate. Set with
  // the comment only: the plan reviewers see is the plan apply accepts.
  const headSha = payload.pull_request?.head?.sha;
  if (summary && commented && gh && repo && headSha) {
    try {
      await setCommitStatus(gh, repo, headSha, {
        context: planStatusContext(s.stackName),
        state: report.guard?.blocked ? 'failure' : 'success',
        description: planStatusDescription(summary.planId),
        ...(run.runId ? { targetUrl: runUrl(run) } : {}),
      });
      info(
        `Set the ${planStatusContext(s.stackName)} status on ${headSha.slice(0, 12)} (plan-id ${summary.planId.slice(0, 16)}…), where terraform-apply reads the reviewed plan-id.`,
      );
    } catch (err) {
      warning(
        `Could not set the plan's commit status on ${headSha.slice(0, 12)}: ${errorMessage(err)}. Give the job \`permissions: statuses: write\`; without it terraform-apply finds no reviewed plan-id for this pull request.`,
      );
    }
  }

  outputs.set('plan-file', summary ? planFile : '');
  outputs.set('plan-json', summary ? planJson : '');
  outputs.set('summary-path', summaryPath);
  const counts = summary?.counts;
  outputs.set('has-changes', summary?.hasChanges ?? false);
  outputs.set('add', counts?.add ?? 0);
  outputs.set('change', counts?.change ?? 0);
  outputs.set('destroy', counts?.destroy ?? 0);
  outputs.set('replace', counts?.replace ?? 0);
  outputs.set('import', counts?.import ?? 0);
  outputs.set('move', counts?.move ?? 0);
  outputs.set('plan-id', summary?.planId ?? '');

  if (report.errors.length > 0) {
    throw new UserError(
      `${s.binary} failed for ${s.stackName}:\n${report.errors.map(describeDiagnostic).join('\n')}`,
      'The errors are annotated on the files and lines they point at.',
    );
  }
  if (summary)
    info(
      `Plan for ${s.stackName}: ${summary.hasChanges ? countsLine(summary.counts) : 'no changes'}. plan-id ${summary.planId}`,
    );
  if (report.guard?.blocked)
    throw new UserError(
      report.guard.reason,
      'The plan and its comment are complete; only the destroy guard stopped this step.',
    );
  if (s.fmtCheck === 'fail' && report.unformatted.length > 0) {
    throw new UserError(
      `${report.unformatted.length} file(s) are not formatted: ${report.unformatted.join(', ')}.`,
      `Run \`${s.binary} fmt -recursive\` and commit the result.`,
    );
  }
}
