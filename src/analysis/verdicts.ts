/** How checks add up to a run's verdict, and runs to a bake's, in words for the report. */
import { errorMessage } from '../util/errors.js';
import type { AnalysisRun, BackendFailure, BakeResult, CheckResult, RunVerdict } from './types.js';

/** A run's verdict: a failed check decides; otherwise a backend error; then too little data. */
export function worst(verdicts: RunVerdict[]): RunVerdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('error')) return 'error';
  if (verdicts.includes('inconclusive')) return 'inconclusive';
  return 'pass';
}

/** A check whose backend failed to answer: an error with the source and message kept apart. */
export function errorCheck(
  name: string,
  source: string,
  what: string,
  err: unknown,
  extra: Partial<CheckResult> = {},
): CheckResult {
  const message = errorMessage(err);
  return {
    name,
    verdict: 'error',
    reason: `${name}: ${what} failed: ${message}`,
    ...extra,
    error: { source, message },
  };
}

/** The bake's verdict when error-limit consecutive runs had a backend error. */
export function backendFailed(
  run: AnalysisRun,
  errored: CheckResult[],
  consecutive: number,
  limit: number,
  runs: AnalysisRun[],
): BakeResult {
  const sources = [...new Set(errored.map((c) => c.error?.source ?? c.name))];
  const message = [
    ...new Set(errored.map((c) => `${c.error?.source ?? c.name}: ${c.error?.message ?? c.reason}`)),
  ].join('; ');
  const backendFailure: BackendFailure = { sources, consecutive, message };
  const runsText = limit === 1 ? 'in a run' : `in ${consecutive} consecutive runs`;
  return {
    verdict: 'fail',
    reason:
      `The metrics backend failed ${runsText} (error-limit ${limit}), so nothing judged the new version; this is an outage, not low traffic: ${message}. ` +
      `Make ${sources.join(' and ')} reachable and answering from the runner, then deploy again.`,
    runs,
    backendFailure,
  };
}

export function reasons(run: AnalysisRun, verdict: RunVerdict): string {
  const picked = run.checks.filter((c) => c.verdict === verdict);
  return (picked.length ? picked : run.checks).map((c) => c.reason).join('; ');
}

export function summarise(runs: AnalysisRun[]): string {
  const failed = runs.filter((r) => r.verdict === 'fail').length;
  const inconclusive = runs.filter((r) => r.verdict === 'inconclusive').length;
  const errored = runs.filter((r) => r.checks.some((c) => c.verdict === 'error')).length;
  const parts = [
    failed ? `${failed} failed` : '',
    errored ? `${errored} with a backend error` : '',
    inconclusive ? `${inconclusive} inconclusive` : '',
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
