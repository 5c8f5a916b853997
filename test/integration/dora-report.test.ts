import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentFigures } from '../../src/release/dora.js';
import { HOUR, iso, MINUTE, seedDeployment, type SeedDeployment } from '../support/deployment-history.js';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { Job } from '../support/runner.js';

let gh: GitHubServer;
const DAY = 24 * HOUR;

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
afterEach(() => {
  const problems = [...gh.problems];
  gh.reset();
  expect(problems).toEqual([]);
});

type Report = { environments: Array<EnvironmentFigures & { verdicts: Record<string, string> }> };

/**
 * A known history. Times are relative to `base` (ten days ago), so every figure below
 * is worked out by hand, whatever the day the test runs.
 */
function seedHistory(now: number) {
  const base = now - 10 * DAY;
  const sha = (n: number) => String(n).repeat(40).slice(0, 40);
  const commit = (n: number, at: number) => gh.store.addCommit('acme', 'webapp', sha(n), { date: iso(at) });
  const d = (n: number, at: number, statuses: SeedDeployment['statuses'], extra: Partial<SeedDeployment> = {}) =>
    seedDeployment(gh.store, { environment: 'production', image: String(n), sha: sha(n), at, statuses, ...extra });

  // d1: committed 30m before, live 10m after it started → lead time 40m.
  commit(1, base - 30 * MINUTE);
  const d1 = d(1, base, [
    ['in_progress', base],
    ['success', base + 10 * MINUTE],
  ]);
  // d2: lead time 55m + 5m = 60m.
  commit(2, base + DAY - 55 * MINUTE);
  d(2, base + DAY, [
    ['in_progress', base + DAY],
    ['success', base + DAY + 5 * MINUTE],
  ]);
  // d3: canary failed and rolled itself back after 12m: a failure, restored in 12m.
  commit(3, base + 2 * DAY - 10 * MINUTE);
  const d3 = d(3, base + 2 * DAY, [
    ['in_progress', base + 2 * DAY],
    ['failure', base + 2 * DAY + 12 * MINUTE, 'Canary rolled back: p95 812 ms'],
  ]);
  // d4: live after 5m (lead time 25m + 5m = 30m), rolled back an hour after it started;
  // the rollback (to d2's image) is healthy 3m later → restored in 63m.
  commit(4, base + 3 * DAY - 25 * MINUTE);
  const d4 = d(4, base + 3 * DAY, [
    ['in_progress', base + 3 * DAY],
    ['success', base + 3 * DAY + 5 * MINUTE],
    ['failure', base + 3 * DAY + HOUR, 'Rolled back'],
  ]);
  const r = d(
    2,
    base + 3 * DAY + HOUR,
    [
      ['in_progress', base + 3 * DAY + HOUR],
      ['success', base + 3 * DAY + HOUR + 3 * MINUTE],
    ],
    { rollback: true },
  );
  // d5: lead time 15m + 5m = 20m.
  commit(5, base + 4 * DAY - 15 * MINUTE);
  d(5, base + 4 * DAY, [
    ['in_progress', base + 4 * DAY],
    ['success', base + 4 * DAY + 5 * MINUTE],
  ]);
  // d6: another service, its commit is gone (force-pushed away): counted, no lead time.
  d(
    6,
    base + 4 * DAY,
    [
      ['in_progress', base + 4 * DAY],
      ['success', base + 4 * DAY + 5 * MINUTE],
    ],
    { service: 'mcpo' },
  );
  // d7: still rolling out: not a change yet.
  d(7, base + 5 * DAY, [['in_progress', base + 5 * DAY]]);
  // d8: errored without restoring itself; the fix d9 is live 30m after d8 started.
  commit(8, base + 6 * DAY - 5 * MINUTE);
  const d8 = d(8, base + 6 * DAY, [
    ['in_progress', base + 6 * DAY],
    ['error', base + 6 * DAY + 4 * MINUTE, 'Rollback failed'],
  ]);
  // d9: lead time 20m (committed 10m after d8 started, live at 30m).
  commit(9, base + 6 * DAY + 10 * MINUTE);
  const d9 = d(9, base + 6 * DAY + 20 * MINUTE, [
    ['in_progress', base + 6 * DAY + 20 * MINUTE],
    ['success', base + 6 * DAY + 30 * MINUTE],
  ]);
  // Outside the window (40 days ago), and GitHub's own environment deployment: neither counts.
  commit(1, base - 30 * MINUTE);
  d(1, now - 40 * DAY, [
    ['in_progress', now - 40 * DAY],
    ['success', now - 40 * DAY + 5 * MINUTE],
  ]);
  gh.store.createDeployment('acme', 'webapp', {
    environment: 'production',
    sha: sha(9),
    created_at: iso(base + 6 * DAY + 20 * MINUTE),
  });
  // staging: one change, committed 20m before it went live 5m after it started.
  gh.store.addCommit('acme', 'webapp', 'a'.repeat(40), { date: iso(base - 25 * MINUTE) });
  seedDeployment(gh.store, {
    environment: 'staging',
    image: 'a',
    sha: 'a'.repeat(40),
    at: base - 10 * MINUTE,
    statuses: [
      ['in_progress', base - 10 * MINUTE],
      ['success', base - 5 * MINUTE],
    ],
  });
  return { d1, d3, d4, r, d8, d9 };
}

describe('dora-report', () => {
  it('computes the four figures of a known history, per environment, with the targets beside them', async () => {
    const job = new Job({ ...gh.env(), GITHUB_EVENT_NAME: 'schedule' });
    const { d3, d4, r, d8, d9 } = seedHistory(Date.now());
    const reportFile = join(job.dir, 'dora.json');
    const step = await job.run('dora-report', {
      inputs: {
        window: '30d',
        environments: 'production, staging',
        'report-file': reportFile,
        'github-token': gh.token,
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    const prod = report.environments.find((e) => e.environment === 'production') as Report['environments'][number];
    // Changes: d1 d2 d3 d4 d5 d6 d8 d9 (d7 unfinished, the rollback is not a change, the rest outside or foreign).
    expect(prod.counts).toEqual({
      changes: 8,
      succeeded: 6,
      failed: 3,
      rollbacks: 1,
      unfinished: 1,
      commitsNotFound: 1,
      openFailures: 0,
    });
    // 6 successful changes over 30 days.
    expect(prod.deploymentFrequency).toEqual({ count: 6, perDay: 0.2 });
    // Lead times 40, 60, 30, 20, 20 minutes (d6 has no commit): sorted 20 20 30 40 60 → median 30m, p90 (5th) 60m.
    expect(prod.leadTime).toEqual({ samples: 5, medianSeconds: 30 * 60, p90Seconds: 60 * 60 });
    // d3 (failure), d4 (marked failure, followed by the rollback), d8 (error): 3 of 8.
    expect(prod.changeFailureRate).toBe(0.375);
    // Restores: d3 12m (itself), d4 63m (the rollback), d8 30m (the fix d9): median 30m, p90 (3rd) 63m.
    expect(prod.timeToRestore).toEqual({ samples: 3, medianSeconds: 30 * 60, p90Seconds: 63 * 60 });
    const row = (id: number) => prod.changes.find((c) => c.id === id);
    expect(row(d3.id)).toMatchObject({ outcome: 'failed', failedBecause: 'failure-status', restoreSeconds: 12 * 60 });
    expect(row(d3.id)?.restoredBy).toBeUndefined();
    expect(row(d4.id)).toMatchObject({
      outcome: 'failed',
      failedBecause: 'failure-status',
      restoreSeconds: 63 * 60,
      restoredBy: r.id,
      leadTimeSeconds: 30 * 60,
    });
    expect(row(d8.id)).toMatchObject({
      outcome: 'failed',
      failedBecause: 'error-status',
      restoreSeconds: 30 * 60,
      restoredBy: d9.id,
    });
    expect(prod.verdicts).toEqual({
      deploymentFrequency: 'missed',
      leadTime: 'met',
      changeFailureRate: 'missed',
      timeToRestore: 'missed',
    });

    const staging = report.environments.find((e) => e.environment === 'staging') as Report['environments'][number];
    expect(staging.leadTime).toEqual({ samples: 1, medianSeconds: 20 * 60, p90Seconds: 20 * 60 });
    expect(staging.changeFailureRate).toBe(0);
    expect(staging.timeToRestore).toBeNull();
    expect(staging.verdicts).toMatchObject({ changeFailureRate: 'met', timeToRestore: 'no-data' });

    // The output holds the figures, the file also every change.
    const output = JSON.parse(step.outputs.report as string) as Report;
    expect(output.environments[0]?.leadTime).toEqual(prod.leadTime);
    expect(output.environments[0]).not.toHaveProperty('changes');
    expect(step.outputs['report-file']).toBe(reportFile);
    expect(step.outputs['targets-met']).toBe('false');

    expect(step.summary).toContain('DORA figures, last 30d');
    expect(step.summary).toContain('| Figure | Target | production | staging |');
    expect(step.summary).toContain('| Deployment frequency | 10+ a day | ❌ 0.20 a day (6) |');
    expect(step.summary).toContain('| Lead time for changes (median) | < 1h | ✅ 30m (p90 1h) |');
    expect(step.summary).toContain('| Change failure rate | < 5% | ❌ 37.5% (3 of 8) | ✅ 0.0% (0 of 1) |');
    expect(step.summary).toContain('| Time to restore (median) | < 10m | ❌ 30m (p90 1h3m) | — no failures |');
    expect(step.summary).toContain('1 deployed commit(s) not found (no lead time)');
    // One commit lookup per deployed sha that succeeded, not per deployment.
    expect(gh.callsOf('repos/get-commit')).toHaveLength(7);
  });

  it('looks only as far back as the window', async () => {
    const job = new Job({ ...gh.env(), GITHUB_EVENT_NAME: 'schedule' });
    const { d1 } = seedHistory(Date.now());
    const step = await job.run('dora-report', { inputs: { window: '180h', 'github-token': gh.token } });
    expect(step.exitCode).toBe(0);
    const report = JSON.parse(readFileSync(step.outputs['report-file'] as string, 'utf8')) as Report;
    const prod = report.environments[0] as Report['environments'][number];
    // 7d12h back from now is base+2d12h: d4, the rollback, d5, d6, d7, d8 and d9 are in it.
    expect(prod.window.days).toBe(7.5);
    expect(prod.changes.map((c) => c.id)).not.toContain(d1.id);
    expect(prod.counts).toMatchObject({ changes: 5, succeeded: 4, failed: 2, rollbacks: 1, unfinished: 1 });
    expect(prod.deploymentFrequency).toEqual({ count: 4, perDay: 0.533 });
    // Paging stopped at the window's start: statuses were read only for our 7 deployments in it.
    expect(gh.callsOf('repos/list-deployments')).toHaveLength(1);
    expect(gh.callsOf('repos/list-deployment-statuses')).toHaveLength(7);
  });

  it('rejects a window too short to mean anything before calling GitHub', async () => {
    const job = new Job(gh.env());
    const step = await job.run('dora-report', { inputs: { window: '5m', 'github-token': gh.token } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("Input 'window' must be between 1h and 366d, not 5m.");
    expect(gh.calls).toHaveLength(0);
  });
});
