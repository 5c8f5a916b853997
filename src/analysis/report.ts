/**
 * Evidence of an analysis: a JSON report (the `analysis-report` file) and a Markdown
 * rendering for the job summary, with the verdict timeline run by run and the numbers
 * behind the last run's checks.
 */
import { details, escapeText, table } from '../github/markdown.js';
import { formatDuration } from '../util/duration.js';
import { formatP, formatValue } from './format.js';
import type { LoadedBakeResult, SideCounts } from './load.js';
import type { AnalysisSpec, JudgeSpec } from './spec-types.js';
import type { AnalysisRun, BackendFailure, BakeResult, CheckResult, RunVerdict, Verdict } from './types.js';

/** `error` (the backend failed to answer) is shown apart from `inconclusive` (too little data). */
export const VERDICT_ICON: Record<RunVerdict, string> = { pass: '✅', fail: '❌', inconclusive: '❔', error: '⚠️' };

/** How many runs ended each way, and how many had a backend error (a failed run may have one too). */
export interface RunTally {
  runs: number;
  pass: number;
  fail: number;
  inconclusive: number;
  /** Runs whose verdict is `error`. */
  error: number;
  /** Runs with at least one check in `error`, whatever the run's verdict. */
  withBackendError: number;
}

export function tallyRuns(runs: AnalysisRun[]): RunTally {
  const count = (v: RunVerdict) => runs.filter((r) => r.verdict === v).length;
  return {
    runs: runs.length,
    pass: count('pass'),
    fail: count('fail'),
    inconclusive: count('inconclusive'),
    error: count('error'),
    withBackendError: runs.filter((r) => r.checks.some((c) => c.verdict === 'error')).length,
  };
}

/** The JSON shape written to the `analysis-report` file. */
export interface AnalysisReport {
  version: 1;
  verdict: Verdict;
  reason: string;
  /** Runs by verdict: backend errors (`error`) counted apart from too little data (`inconclusive`). */
  tally: RunTally;
  /** Set when the bake failed because the metrics backend kept failing (error-limit). */
  backendFailure?: BackendFailure;
  spec?: {
    source: string;
    interval: string;
    failureLimit: number;
    errorLimit: number;
    lookback?: string;
    onInconclusive: string;
    metrics: Array<{ name: string; provider: string; query: string; judge: string }>;
  };
  runs: AnalysisRun[];
  /** Requests the synthetic load (`load:`) sent during this bake, per side; absent without load. */
  synthetic?: Record<string, SideCounts>;
}

/** "Synthetic load during this bake: canary 150 requests (150 answered), stable 150 requests (148 answered, 2 failed: HTTP 502); ..." */
export function describeSynthetic(synthetic: Record<string, SideCounts>): string {
  const sides = Object.entries(synthetic).map(
    ([side, c]) =>
      `${side} ${c.sent} requests (${c.ok} answered${c.failed ? `, ${c.failed} failed${c.lastError ? `: ${c.lastError}` : ''}` : ''})`,
  );
  return `Synthetic load during this bake: ${sides.length ? sides.join(', ') : 'no requests'}; the judged request counts include them.`;
}

/** A warning for each side that answered none of the bake's synthetic requests (the runner may not reach it). */
export function unansweredSides(synthetic: Record<string, SideCounts>, urls: Record<string, string>): string[] {
  return Object.entries(synthetic)
    .filter(([, c]) => c.sent > 0 && c.ok === 0)
    .map(
      ([side, c]) =>
        `None of the ${c.sent} synthetic requests to the ${side === 'canary' ? 'new' : side} side (${urls[side] ?? '?'}) was answered (${c.lastError ?? 'no answer'}), so the bake saw no synthetic traffic there. A runner outside the network cannot reach an internal load balancer or a cluster DNS name: set load.url to a URL the runner reaches, or run the job on a runner inside the network.`,
    );
}

/** One line describing a judge, e.g. "threshold max 0.01" or "mann-whitney 95%, ≥ 10 samples". */
export function describeJudge(judge: JudgeSpec, unit: CheckResult['unit'] = 'none'): string {
  switch (judge.kind) {
    case 'threshold':
      return [
        judge.min !== undefined ? `≥ ${formatValue(judge.min, unit)}` : '',
        judge.max !== undefined ? `≤ ${formatValue(judge.max, unit)}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
    case 'relative':
      return `${judge.direction === 'both' ? 'within' : judge.direction === 'increase' ? 'at most' : 'at least'} baseline ${judge.direction === 'decrease' ? '−' : judge.direction === 'increase' ? '+' : '±'} ${+(judge.tolerance * 100).toFixed(2)}%${judge.margin ? ` + ${formatValue(judge.margin, unit)}` : ''}`;
    case 'mann-whitney':
      return `Mann-Whitney U vs baseline, ${judge.direction}, confidence ${+(judge.confidence * 100).toFixed(2)}%, ≥ ${judge.minSamples} samples${judge.tolerance ? `, tolerance ${+(judge.tolerance * 100).toFixed(2)}%` : ''}`;
  }
}

export function analysisReport(result: BakeResult, spec?: AnalysisSpec): AnalysisReport {
  return {
    version: 1,
    verdict: result.verdict,
    reason: result.reason,
    tally: tallyRuns(result.runs),
    ...(result.backendFailure ? { backendFailure: result.backendFailure } : {}),
    ...(spec
      ? {
          spec: {
            source: spec.source,
            interval: formatDuration(spec.intervalMs),
            failureLimit: spec.failureLimit,
            errorLimit: spec.errorLimit,
            ...(spec.lookbackMs !== undefined ? { lookback: formatDuration(spec.lookbackMs) } : {}),
            onInconclusive: spec.onInconclusive,
            metrics: spec.metrics.map((m) => ({
              name: m.name,
              provider: m.provider,
              query: m.query,
              judge: `${m.judge.kind}: ${describeJudge(m.judge, m.unit)}`,
            })),
          },
        }
      : {}),
    runs: result.runs,
    ...((result as LoadedBakeResult).synthetic ? { synthetic: (result as LoadedBakeResult).synthetic } : {}),
  };
}

function cell(check: CheckResult | undefined): string {
  if (!check) return '';
  const icon = VERDICT_ICON[check.verdict];
  if (check.verdict === 'error') return `${icon} error`;
  if (check.canary === undefined) return icon;
  const value = formatValue(check.canary, check.unit);
  return check.baseline !== undefined
    ? `${icon} ${escapeText(value)} / ${escapeText(formatValue(check.baseline, check.unit))}`
    : `${icon} ${escapeText(value)}`;
}

function offset(run: AnalysisRun, origin: number): string {
  return `+${formatDuration(Date.parse(run.window.end) - origin)}`;
}

export interface RenderOptions {
  spec?: AnalysisSpec;
  /** Heading text; default "Analysis". */
  title?: string;
  /** Most runs shown in the timeline: the first and the last ones, with a gap marked. Default 30. */
  maxRuns?: number;
}

/** The Markdown for a job summary: verdict, timeline, the last run's numbers, and the spec. */
export function renderAnalysisMarkdown(result: BakeResult, options: RenderOptions = {}): string {
  const title = options.title ?? 'Analysis';
  const out: string[] = [
    `#### ${escapeText(title)}: ${VERDICT_ICON[result.verdict]} ${result.verdict}\n`,
    `${escapeText(result.reason)}\n`,
  ];
  const synthetic = (result as LoadedBakeResult).synthetic;
  if (synthetic) out.push(`${escapeText(describeSynthetic(synthetic))}\n`);
  const runs = result.runs;
  if (runs.length === 0) return out.join('\n');
  const tally = tallyRuns(runs);
  if (tally.withBackendError > 0 || tally.inconclusive > 0) {
    const parts = [
      tally.withBackendError > 0
        ? `${VERDICT_ICON.error} ${tally.withBackendError} of ${runs.length} runs had a metrics backend error (the backend failed to answer; not low traffic)`
        : '',
      tally.inconclusive > 0
        ? `${VERDICT_ICON.inconclusive} ${tally.inconclusive} of ${runs.length} runs had too little data to judge`
        : '',
    ].filter(Boolean);
    out.push(`${parts.join('. ')}.\n`);
  }

  const names: string[] = [];
  for (const run of runs) for (const c of run.checks) if (!names.includes(c.name)) names.push(c.name);
  const origin = Date.parse((runs[0] as AnalysisRun).window.start);
  const max = Math.max(2, options.maxRuns ?? 30);
  let shown: Array<AnalysisRun | undefined> = runs;
  if (runs.length > max) {
    const head = Math.floor(max / 2);
    shown = [...runs.slice(0, head), undefined, ...runs.slice(runs.length - (max - head))];
  }
  const rows = shown.map((run) => {
    if (!run) return ['…', `${runs.length - max} runs not shown`, '', ...names.map(() => '')];
    const index = runs.indexOf(run) + 1;
    return [
      String(index),
      offset(run, origin),
      `${VERDICT_ICON[run.verdict]} ${run.verdict}`,
      ...names.map((n) => cell(run.checks.find((c) => c.name === n))),
    ];
  });
  out.push(table(['#', 'at', 'run', ...names.map(escapeText)], rows));
  out.push('Cells show canary / baseline. Times are from the start of the traffic being judged.\n');

  const last = runs[runs.length - 1] as AnalysisRun;
  const lastRows = last.checks.map((c) => [
    escapeText(c.name),
    `${VERDICT_ICON[c.verdict]} ${c.verdict}`,
    escapeText(formatValue(c.canary, c.unit)),
    c.baseline !== undefined ? escapeText(formatValue(c.baseline, c.unit)) : '',
    c.count?.canary !== undefined || c.samples ? escapeText(evidence(c)) : '',
    c.pValue !== undefined ? formatP(c.pValue) : '',
    escapeText(c.reason),
  ]);
  out.push(`**Last run** (window ${escapeText(last.window.start)} → ${escapeText(last.window.end)})\n`);
  out.push(table(['check', 'verdict', 'canary', 'baseline', 'requests / samples', 'p', 'why'], lastRows));

  if (options.spec) {
    const spec = options.spec;
    const specRows = spec.metrics.map((m) => [
      escapeText(m.name),
      escapeText(m.provider),
      `<code>${escapeText(m.query)}</code>`,
      escapeText(describeJudge(m.judge, m.unit)),
    ]);
    const head =
      `Spec: ${escapeText(spec.source)}; every ${formatDuration(spec.intervalMs)}, fails after ${spec.failureLimit} consecutive failed runs` +
      ` or ${spec.errorLimit} consecutive runs with a metrics backend error` +
      `${spec.lookbackMs !== undefined ? `, looking back ${formatDuration(spec.lookbackMs)}` : ''}; inconclusive → ${spec.onInconclusive}.\n\n`;
    out.push(details('Analysis spec', head + table(['metric', 'provider', 'query', 'judge'], specRows)));
  }
  return out.join('\n');
}

/** Request counts from rates (Prometheus `increase()`) are extrapolated, so not whole: show them rounded. */
const whole = (n: number | undefined) => (n === undefined ? '?' : String(Math.round(n)));

function evidence(c: CheckResult): string {
  if (c.samples)
    return `${c.samples.canary}${c.samples.baseline !== undefined ? ` / ${c.samples.baseline}` : ''} samples`;
  const count = c.count as NonNullable<CheckResult['count']>;
  return `${whole(count.canary)}${count.baseline !== undefined ? ` / ${whole(count.baseline)}` : ''}`;
}
