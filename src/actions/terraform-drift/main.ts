import { info, warning } from '@actions/core';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentRepo, githubClient, tokenOrUndefined } from '../../github/client.js';
import { runContext, runUrl } from '../../github/context.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { closeIssue, findIssue, upsertIssue } from '../../github/upsert.js';
import { annotate } from '../../terraform/annotate.js';
import { credentialsEnv } from '../../aws/credentials.js';
import { TerraformCli } from '../../terraform/cli.js';
import { describeDiagnostic, type Diagnostic } from '../../terraform/diagnostics.js';
import { driftedResources, pendingChanges, setAsideIgnored, type StackReport } from '../../terraform/drift.js';
import {
  driftIssueMarker,
  fingerprintMarker,
  renderDriftIssue,
  renderDriftSummary,
} from '../../terraform/drift-report.js';
import { ignoreRules, isIgnored } from '../../terraform/ignore-changes.js';
import { expandStacks, outputDir, workspaceDir } from '../../terraform/paths.js';
import { isComputed, readComputedAttributes } from '../../terraform/provider-schema.js';
import { scanPlanFile, type ResourceChange } from '../../terraform/plan-json.js';
import { planToJson, prepare } from '../../terraform/stack.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { mapLimit } from '../../util/pool.js';
import type { Settings } from './settings.js';

/** Plans one stack twice (refresh-only for drift, normal for pending changes) and classifies. */
async function checkStack(stack: string, s: Settings, ctx: StepContext): Promise<StackReport> {
  const dir = resolve(workspaceDir(), stack);
  const out = outputDir('terraform-drift', stack);
  const cli = new TerraformCli({
    binary: s.binary,
    cwd: dir,
    prepareEnv: credentialsEnv,
    signal: ctx.signal,
    log: (line) => info(`[${stack}] ${line}`),
  });
  const report: StackReport = {
    stack,
    directory: stack,
    status: 'clean',
    drift: [],
    ignored: [],
    pending: [],
    errors: [],
  };
  const failed = (errors: Diagnostic[]) => {
    report.status = 'error';
    report.errors = errors;
    return report;
  };
  const prepared = await prepare(cli, {
    backendConfig: s.backendConfig.map((b) => b.replaceAll('{stack}', stack)),
    lockTimeout: s.lockTimeout,
  });
  if (prepared.errors.length > 0) return failed(prepared.errors);

  const refreshJson = join(out, 'refresh.json');
  const refreshed = await planToJson(cli, {
    out: join(out, 'refresh.tfplan'),
    json: refreshJson,
    refreshOnly: true,
    varFiles: s.varFiles,
    lockTimeout: s.lockTimeout,
  });
  if (refreshed.errors.length > 0) return failed(refreshed.errors);
  const drift: ResourceChange[] = [];
  await scanPlanFile(refreshJson, { resourceDrift: (rc) => drift.push(rc) });
  report.drift = driftedResources(drift);
  if (report.drift.length > 0) {
    // What lifecycle ignore_changes leaves to others is not drift...
    const rules = ignoreRules(dir);
    ({ drift: report.drift, ignored: report.ignored } = setAsideIgnored(report.drift, (address, path) =>
      isIgnored(rules, address, path) ? 'ignore_changes' : undefined,
    ));
  }
  if (report.drift.length > 0) {
    // ...and nor is what the provider alone decides (asked only when drift is left).
    const schemaFile = join(out, 'providers-schema.json');
    const schema = await cli.run(['providers', 'schema', '-json'], { stdoutFile: schemaFile, quiet: true });
    if (schema.exitCode === 0) {
      const computed = readComputedAttributes(schemaFile);
      const split = setAsideIgnored(report.drift, (address, path) =>
        isComputed(computed, address, path) ? 'computed' : undefined,
      );
      report.drift = split.drift;
      report.ignored = [...report.ignored, ...split.ignored].sort((a, b) => a.address.localeCompare(b.address));
    } else {
      warning(
        `[${stack}] ${s.binary} providers schema failed, so attributes the provider alone sets are reported as drift too.`,
      );
    }
  }
  const ignoredCount = report.ignored.reduce((n, r) => n + r.attributes.length, 0);
  if (ignoredCount > 0)
    info(
      `[${stack}] ${ignoredCount} attribute(s) changed outside ${s.binary} that the configuration leaves to others (ignore_changes) or to the provider: not drift.`,
    );

  const planJson = join(out, 'plan.json');
  const planned = await planToJson(cli, {
    out: join(out, 'plan.tfplan'),
    json: planJson,
    varFiles: s.varFiles,
    lockTimeout: s.lockTimeout,
  });
  if (planned.errors.length > 0) return failed(planned.errors);
  const changes: ResourceChange[] = [];
  await scanPlanFile(planJson, { resourceChange: (rc) => changes.push(rc) });
  report.pending = pendingChanges(changes, report.drift);
  report.status = report.drift.length > 0 ? 'drifted' : 'clean';
  info(
    `[${stack}] ${report.status}: ${report.drift.length} drifted resource(s), ${report.pending.filter((p) => !p.revertsDrift).length} pending configuration change(s).`,
  );
  return report;
}

const stacksNotChecked = (errored: StackReport[]): UserError =>
  new UserError(
    `${errored.length} stack(s) could not be checked for drift:\n${errored.map((r) => `${r.stack}: ${r.errors.map(describeDiagnostic).join('; ')}`).join('\n')}`,
    'These are errors, not drift: fix the stack (the annotations point at the file and line) or its credentials.',
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const stacks = expandStacks(s.stacks);
  info(
    `Checking ${stacks.length} stack(s) for drift, ${Math.min(s.concurrency, stacks.length)} at a time: ${stacks.join(', ')}`,
  );
  const reports = await mapLimit(stacks, s.concurrency, (stack) =>
    checkStack(stack, s, ctx).catch((err: unknown): StackReport => {
      if (ctx.signal.aborted) throw err;
      return {
        stack,
        directory: stack,
        status: 'error',
        drift: [],
        ignored: [],
        pending: [],
        errors: [{ severity: 'error', summary: errorMessage(err) }],
      };
    }),
  );
  for (const r of reports)
    annotate(r.errors, resolve(workspaceDir(), r.directory), workspaceDir(), `${r.stack}: ${s.binary} failed`);

  const run = runContext();
  const link = run.runId ? `[run ${run.runId}](${runUrl(run)})` : 'a scheduled run';
  const issues = new Map<string, string>();
  const token = tokenOrUndefined(s.token);
  if (s.createIssues && !token) warning('No github-token: drift issues were not opened or closed.');
  if (s.createIssues && token) {
    const gh = githubClient(token);
    const repo = currentRepo();
    for (const r of reports) {
      try {
        if (r.status === 'drifted') {
          const fingerprint = fingerprintMarker(r);
          const { issue, action } = await upsertIssue(gh, repo, {
            markerId: driftIssueMarker(r.stack),
            title: `Drift detected in ${r.stack}`,
            body: renderDriftIssue(r, link, s.binary),
            labels: [s.issueLabel],
            isCurrent: (body) => body.includes(fingerprint),
          });
          if (action === 'updated')
            await gh.rest.issues.createComment({
              ...repo,
              issue_number: issue.number,
              body: `The drift changed (${link}); the description shows it as it is now.`,
            });
          issues.set(r.stack, `[#${issue.number}](${issue.url}) ${action}`);
          info(`[${r.stack}] drift issue #${issue.number} ${action}.`);
        } else if (r.status === 'clean') {
          const open = await findIssue(gh, repo, driftIssueMarker(r.stack), s.issueLabel);
          if (open?.state === 'open') {
            await closeIssue(gh, repo, open.number, `${r.stack} has no drift any more (${link}). Closing.`);
            issues.set(r.stack, `[#${open.number}](${open.url}) closed`);
            info(`[${r.stack}] clean again: closed drift issue #${open.number}.`);
          }
        }
      } catch (err) {
        warning(
          `[${r.stack}] could not update its drift issue: ${errorMessage(err)}. Give the job \`permissions: issues: write\`.`,
        );
      }
    }
  }

  const reportPath = join(outputDir('terraform-drift', '_report'), 'drift-report.json');
  writeFileSync(
    reportPath,
    JSON.stringify(
      {
        generated_at: new Date().toISOString(),
        run_url: run.runId ? runUrl(run) : null,
        binary: s.binary,
        stacks: reports,
      },
      null,
      2,
    ),
  );
  const drifted = reports.filter((r) => r.status === 'drifted').map((r) => r.stack);
  const errored = reports.filter((r) => r.status === 'error');
  outputs.set('drifted', drifted.length > 0);
  outputs.set('drifted-stacks', drifted);
  outputs.set('report', reportPath);
  await writeSummary(renderDriftSummary(reports, issues));

  if (errored.length > 0) {
    throw stacksNotChecked(errored);
  }
  if (s.failOnDrift && drifted.length > 0) {
    throw new UserError(
      `Drift in ${drifted.join(', ')}.`,
      'See the job summary and the drift issues; fail-on-drift is true.',
    );
  }
}
