import { info, warning } from '@actions/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  currentRepo,
  githubClient,
  httpStatus,
  tokenOrUndefined,
  type GitHub,
  type Repo,
} from '../../github/client.js';
import { runContext, runUrl } from '../../github/context.js';
import { succeededAt, type DeploymentRecord } from '../../github/deployments.js';
import { listDeployments } from '../../github/deployment-history.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { computeFigures, TARGETS, verdicts } from '../../release/dora.js';
import { renderDoraSummary } from '../../release/dora-report.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { mapLimit } from '../../util/pool.js';
import type { Settings } from './settings.js';

/** Committer dates of the deployed shas; a sha GitHub does not know (force-pushed away) is left out. */
async function commitTimes(gh: GitHub, repo: Repo, shas: string[]): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  await mapLimit(shas, 4, async (sha) => {
    try {
      const { data } = await gh.rest.repos.getCommit({ ...repo, ref: sha });
      const date = data.commit.committer?.date ?? data.commit.author?.date;
      if (date) times.set(sha, new Date(date).getTime());
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404 || status === 422) {
        warning(`Commit ${sha} of a deployment is not in the repository any more: its lead time is left out.`);
        return;
      }
      throw new UserError(
        `GitHub refused to read commit ${sha}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err)}`,
        'Give the job `permissions: contents: read` (lead times need the commit dates).',
        { cause: err },
      );
    }
  });
  return times;
}

const noGithubToken = (): UserError =>
  new UserError(
    'No github-token: dora-report reads GitHub Deployments and commits.',
    'Pass github-token: ${{ github.token }} and give the job `permissions: deployments: read, contents: read`.',
  );

export async function main(s: Settings, _ctx: StepContext): Promise<void> {
  const token = tokenOrUndefined(s.token);
  if (!token) throw noGithubToken();
  const gh = githubClient(token);
  const repo = currentRepo();
  const end = Date.now();
  const window = { start: end - s.windowMs, end };

  const histories = new Map<string, DeploymentRecord[]>();
  for (const environment of s.environments) {
    const history = await listDeployments(gh, repo, {
      environment,
      since: window.start,
      service: s.service,
      trustedCreator: s.deployer,
    });
    info(`${environment}: ${history.length} platform-actions deployment(s) in the last ${s.windowText}.`);
    histories.set(environment, history);
  }
  const shas = [
    ...new Set(
      [...histories.values()]
        .flat()
        .filter((d) => succeededAt(d) !== undefined)
        .map((d) => d.sha),
    ),
  ];
  const times = await commitTimes(gh, repo, shas);
  const figures = s.environments.map((environment) =>
    computeFigures(environment, histories.get(environment) ?? [], times, window),
  );

  const run = runContext();
  const report = {
    generated_at: new Date(end).toISOString(),
    run_url: run.runId ? runUrl(run) : null,
    repository: `${repo.owner}/${repo.repo}`,
    window: s.windowText,
    service: s.service ?? null,
    targets: TARGETS,
    environments: figures.map((f) => ({ ...f, verdicts: verdicts(f) })),
  };
  const path = resolve(
    s.reportFile ?? join(process.env.RUNNER_TEMP || tmpdir(), 'platform-actions', 'dora-report', 'dora-report.json'),
  );
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  const met = figures.every((f) => Object.values(verdicts(f)).every((v) => v !== 'missed'));

  // The output leaves the per-change rows to the file: job outputs are limited to 1 MB.
  outputs.set('report', { ...report, environments: report.environments.map(({ changes: _changes, ...rest }) => rest) });
  outputs.set('report-file', path);
  outputs.set('targets-met', met);
  await writeSummary(renderDoraSummary(figures, s.windowText));
  for (const f of figures) {
    info(
      `${f.environment}: ${f.deploymentFrequency.perDay}/day, lead time median ${f.leadTime?.medianSeconds ?? '-'} s, ` +
        `change failure rate ${f.changeFailureRate ?? '-'}, time to restore median ${f.timeToRestore?.medianSeconds ?? '-'} s.`,
    );
  }
}
