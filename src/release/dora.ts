import { failureStatus, isRollback, isUnchanged, succeededAt, type DeploymentRecord } from '../github/deployments.js';

/**
 * The four DORA figures of one environment over a window, from its deployment record
 * (platform-actions deployments, statuses loaded) and the commit times of the deployed
 * shas. Definitions (docs/actions/dora-report.md says the same in prose):
 *
 * - In scope: deployments created in [start, end). A *change* is one that is not a
 *   rollback and has finished (a `success`, `failure` or `error` status).
 * - Deployment frequency: changes that succeeded, per day of the window.
 * - Lead time for changes: per change that succeeded, its first `success` minus the
 *   committer date of its sha; median and p90.
 * - Change failure rate: failed changes / changes. A change failed when it has a
 *   `failure` or `error` status, or the next deployment of its service in the
 *   environment is a rollback.
 * - Time to restore: per failed change, from its start (first status, else creation)
 *   to the environment being healthy again: the first `success` of a later deployment
 *   of the service (a rollback or a fix), or, for a change that never succeeded and
 *   reported `failure` (the deploy rolled itself back), that status, whichever is
 *   first. Median and p90; failures not restored yet are counted as open.
 */

export interface Window {
  start: number;
  end: number;
}

export interface Distribution {
  samples: number;
  medianSeconds: number;
  p90Seconds: number;
}

export interface ChangeRow {
  id: number;
  service: string | undefined;
  sha: string;
  image: string;
  createdAt: string;
  outcome: 'succeeded' | 'failed';
  /** Why it counts as failed. */
  failedBecause?: 'failure-status' | 'error-status' | 'rolled-back';
  leadTimeSeconds?: number;
  restoreSeconds?: number;
  restoredBy?: number;
}

export interface EnvironmentFigures {
  environment: string;
  window: { start: string; end: string; days: number };
  counts: {
    changes: number;
    succeeded: number;
    failed: number;
    rollbacks: number;
    unfinished: number;
    commitsNotFound: number;
    openFailures: number;
  };
  deploymentFrequency: { perDay: number; count: number };
  leadTime: Distribution | null;
  changeFailureRate: number | null;
  timeToRestore: Distribution | null;
  changes: ChangeRow[];
}

/** The seed workload's targets. */
export const TARGETS = {
  deploymentFrequencyPerDay: 10,
  leadTimeSeconds: 3600,
  changeFailureRate: 0.05,
  timeToRestoreSeconds: 600,
} as const;

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Median (mean of the middle two for an even count) and p90 (nearest rank). */
export function distribution(values: number[]): Distribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const p90 = sorted[Math.max(0, Math.ceil(0.9 * n) - 1)] as number;
  return { samples: n, medianSeconds: Math.round(median), p90Seconds: Math.round(p90) };
}

const finished = (d: DeploymentRecord) =>
  d.statuses.some((s) => s.state === 'success' || s.state === 'failure' || s.state === 'error');
const startOf = (d: DeploymentRecord) => d.statuses[0]?.at ?? d.createdAt;
const serviceOf = (d: DeploymentRecord) => d.payload?.service ?? '';

/**
 * `deployments`: the environment's, any order, statuses loaded; may include ones
 * outside the window (those after it decide rollbacks and restores).
 * `commitTimes`: committer date (ms) per sha; a missing sha has no lead time.
 */
export function computeFigures(
  environment: string,
  deployments: readonly DeploymentRecord[],
  commitTimes: ReadonlyMap<string, number>,
  window: Window,
): EnvironmentFigures {
  const all = [...deployments].sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  const inWindow = all.filter((d) => d.createdAt >= window.start && d.createdAt < window.end);
  const changes = inWindow.filter((d) => !isRollback(d) && !isUnchanged(d) && finished(d));
  const rows: ChangeRow[] = [];
  const leadTimes: number[] = [];
  const restores: number[] = [];
  let commitsNotFound = 0;
  let openFailures = 0;

  for (const d of changes) {
    const later = all.filter(
      (x) =>
        serviceOf(x) === serviceOf(d) && (x.createdAt > d.createdAt || (x.createdAt === d.createdAt && x.id > d.id)),
    );
    const failed = failureStatus(d);
    const success = succeededAt(d);
    const rolledBack = later[0] !== undefined && isRollback(later[0]);
    const row: ChangeRow = {
      id: d.id,
      service: d.payload?.service,
      sha: d.sha,
      image: d.payload?.image ?? '',
      createdAt: iso(d.createdAt),
      outcome: failed || rolledBack ? 'failed' : 'succeeded',
    };
    if (success !== undefined) {
      const committed = commitTimes.get(d.sha);
      if (committed === undefined) {
        commitsNotFound++;
      } else {
        row.leadTimeSeconds = Math.max(0, Math.round((success - committed) / 1000));
        leadTimes.push(row.leadTimeSeconds);
      }
    }
    if (row.outcome === 'failed') {
      row.failedBecause = failed ? (failed.state === 'error' ? 'error-status' : 'failure-status') : 'rolled-back';
      const start = startOf(d);
      const fix = later.find((x) => succeededAt(x) !== undefined);
      const candidates: Array<{ at: number; by: number | undefined }> = [];
      if (fix) candidates.push({ at: succeededAt(fix) as number, by: fix.id });
      if (success === undefined && failed?.state === 'failure') candidates.push({ at: failed.at, by: undefined });
      const restored = candidates.sort((a, b) => a.at - b.at)[0];
      if (restored) {
        row.restoreSeconds = Math.max(0, Math.round((restored.at - start) / 1000));
        if (restored.by !== undefined) row.restoredBy = restored.by;
        restores.push(row.restoreSeconds);
      } else {
        openFailures++;
      }
    }
    rows.push(row);
  }

  const succeeded = changes.filter((d) => succeededAt(d) !== undefined).length;
  const failedCount = rows.filter((r) => r.outcome === 'failed').length;
  const days = (window.end - window.start) / DAY;
  return {
    environment,
    window: { start: iso(window.start), end: iso(window.end), days: Math.round(days * 1000) / 1000 },
    counts: {
      changes: changes.length,
      succeeded,
      failed: failedCount,
      rollbacks: inWindow.filter(isRollback).length,
      unfinished: inWindow.filter((d) => !isRollback(d) && !finished(d)).length,
      commitsNotFound,
      openFailures,
    },
    deploymentFrequency: { count: succeeded, perDay: Math.round((succeeded / days) * 1000) / 1000 },
    leadTime: distribution(leadTimes),
    changeFailureRate: changes.length === 0 ? null : Math.round((failedCount / changes.length) * 10_000) / 10_000,
    timeToRestore: distribution(restores),
    changes: rows,
  };
}

export type Verdict = 'met' | 'missed' | 'no-data';

/** Each figure against the seed's targets. */
export function verdicts(
  f: EnvironmentFigures,
): Record<'deploymentFrequency' | 'leadTime' | 'changeFailureRate' | 'timeToRestore', Verdict> {
  return {
    deploymentFrequency: f.deploymentFrequency.perDay >= TARGETS.deploymentFrequencyPerDay ? 'met' : 'missed',
    leadTime: f.leadTime === null ? 'no-data' : f.leadTime.medianSeconds < TARGETS.leadTimeSeconds ? 'met' : 'missed',
    changeFailureRate:
      f.changeFailureRate === null ? 'no-data' : f.changeFailureRate < TARGETS.changeFailureRate ? 'met' : 'missed',
    timeToRestore:
      f.timeToRestore === null
        ? f.counts.openFailures > 0
          ? 'missed'
          : 'no-data'
        : f.timeToRestore.medianSeconds < TARGETS.timeToRestoreSeconds && f.counts.openFailures === 0
          ? 'met'
          : 'missed',
  };
}
