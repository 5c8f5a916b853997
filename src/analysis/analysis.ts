/**
 * The analysis of one rollout: `run` judges every metric (and extra check) over one window;
 * `bake` runs every interval, fails at once on `failureLimit` consecutive failed runs or
 * `errorLimit` consecutive runs in which a backend failed, and decides what an inconclusive
 * end means from the spec. A backend failure is an `error`, never "too little data": it
 * does not count as inconclusive, and a bake never ends (nor passes) on a run with one.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { plural } from './format.js';
import { judgeMannWhitney, judgeRelative, judgeThreshold, type SideData } from './judges.js';
import { fillQuery, seconds } from './query-placeholders.js';
import type { AnalysisSpec, MetricSpec } from './spec-types.js';
import { backendFailed, errorCheck, reasons, summarise, worst } from './verdicts.js';
import type {
  Analysis,
  AnalysisRun,
  BakeOptions,
  BakeResult,
  CheckResult,
  ExtraCheck,
  MetricNeed,
  MetricProvider,
  SubjectLabels,
  Subjects,
  Window,
} from './types.js';

export interface AnalysisOptions {
  /** Providers by the name specs use in `provider:`. */
  providers: Record<string, MetricProvider>;
  /** Checks that are not metric queries, e.g. CloudWatch alarms. */
  extraChecks?: ExtraCheck[];
  clock?: Clock;
}

/** An Analysis that also exposes the spec it judges by, for reports. */
export interface SpecAnalysis extends Analysis {
  readonly spec: AnalysisSpec;
}

type Side = 'canary' | 'baseline';

const providerNotAvailable = (i: number, m: MetricSpec, available: string[]): UserError =>
  new UserError(
    `The analysis spec's metrics[${i}] (${m.name}) uses the '${m.provider}' provider, which is not available here.`,
    available.length
      ? `Use one of: ${available.join(', ')}${m.provider === 'prometheus' ? ', or set the Prometheus URL input so the prometheus provider is available' : ''}.`
      : 'This action supplies no metric providers; remove the analysis spec.',
  );

export function createAnalysis(spec: AnalysisSpec, options: AnalysisOptions): SpecAnalysis {
  spec.metrics.forEach((m, i) => {
    if (!Object.hasOwn(options.providers, m.provider)) {
      const available = Object.keys(options.providers);
      throw providerNotAvailable(i, m, available);
    }
  });
  return new SpecAnalysisImpl(spec, options);
}

/** min-count needs a request count, and neither the provider nor a count-query gives one. */
function noRequestCount(index: number, metric: MetricSpec): UserError {
  return new UserError(
    `The analysis spec's metrics[${index}] (${metric.name}) sets min-count ${metric.minCount}, but the ${metric.provider} provider gives no request count for its query.`,
    'Add a count-query that returns the number of requests in the window (e.g. sum(increase(http_requests_total{...}[{{range}}]))), or remove min-count.',
  );
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (
    (signal?.aborted ?? false) || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
  );
}

class SpecAnalysisImpl implements SpecAnalysis {
  readonly intervalMs: number;
  readonly failureLimit: number;
  readonly errorLimit: number;

  constructor(
    readonly spec: AnalysisSpec,
    private readonly options: AnalysisOptions,
  ) {
    this.intervalMs = spec.intervalMs;
    this.failureLimit = spec.failureLimit;
    this.errorLimit = spec.errorLimit;
  }

  async run(subjects: Subjects, window: Window, signal?: AbortSignal): Promise<AnalysisRun> {
    const clock = this.options.clock ?? systemClock;
    const at = new Date(clock.now()).toISOString();
    const checks = await Promise.all([
      ...this.spec.metrics.map((m, i) => this.evaluateMetric(m, i, subjects, window, signal)),
      ...(this.options.extraChecks ?? []).map((c) => this.evaluateExtra(c, window, signal)),
    ]);
    return {
      at,
      window: { start: window.start.toISOString(), end: window.end.toISOString() },
      verdict: worst(checks.map((c) => c.verdict)),
      checks,
    };
  }

  private async evaluateExtra(check: ExtraCheck, window: Window, signal?: AbortSignal): Promise<CheckResult> {
    try {
      return await check.evaluate(window, signal);
    } catch (err) {
      if (err instanceof UserError || isAbort(err, signal)) throw err;
      return errorCheck(check.name, check.name, 'check', err);
    }
  }

  private async evaluateMetric(
    metric: MetricSpec,
    index: number,
    subjects: Subjects,
    window: Window,
    signal?: AbortSignal,
  ): Promise<CheckResult> {
    const kind = metric.judge.kind;
    const unit = metric.unit;
    if (kind !== 'threshold' && !subjects.baseline) {
      return {
        name: metric.name,
        verdict: 'inconclusive',
        reason: `${metric.name}: no baseline to compare with (a ${kind} judge needs one; rolling updates have none)`,
        judge: kind,
        unit,
      };
    }
    const need: MetricNeed = kind === 'mann-whitney' ? 'samples' : 'value';
    const sides: Side[] = kind === 'threshold' ? ['canary'] : ['canary', 'baseline'];
    let data: SideData[];
    try {
      data = await Promise.all(
        sides.map((side) => this.fetchSide(metric, index, side, subjects[side] as SubjectLabels, need, window, signal)),
      );
    } catch (err) {
      if (err instanceof UserError || isAbort(err, signal)) throw err;
      return errorCheck(metric.name, metric.provider, `${metric.provider} query`, err, { judge: kind, unit });
    }
    const [canary, baseline] = data as [SideData, SideData | undefined];
    const result = this.judge(metric, sides, data, canary, baseline, need);
    // Too little data because the provider left part of the window out: say so.
    const excluded = [...new Set(data.map((d) => d.excluded).filter((e): e is string => !!e))];
    if (result.verdict === 'inconclusive' && excluded.length > 0)
      return { ...result, reason: `${result.reason}; ${excluded.join('; ')}` };
    return result;
  }

  private judge(
    metric: MetricSpec,
    sides: Side[],
    data: SideData[],
    canary: SideData,
    baseline: SideData | undefined,
    need: MetricNeed,
  ): CheckResult {
    const kind = metric.judge.kind;
    const unit = metric.unit;

    if (metric.minCount > 0) {
      const short = sides.filter((_, i) => ((data[i] as SideData).count ?? 0) < metric.minCount);
      if (short.length > 0) {
        const counts = sides.map((s, i) => `${s} ${plural((data[i] as SideData).count ?? 0, 'request')}`).join(', ');
        return {
          name: metric.name,
          verdict: 'inconclusive',
          reason: `${metric.name}: too little traffic to judge (${counts}; min-count ${metric.minCount})`,
          judge: kind,
          unit,
          canary: need === 'value' ? canary.value : undefined,
          ...(baseline && need === 'value' ? { baseline: baseline.value } : {}),
          count: { canary: canary.count, ...(baseline ? { baseline: baseline.count } : {}) },
        };
      }
    }

    switch (metric.judge.kind) {
      case 'threshold':
        return judgeThreshold({ ...metric, judge: metric.judge }, canary);
      case 'relative':
        return judgeRelative({ ...metric, judge: metric.judge }, canary, baseline as SideData);
      case 'mann-whitney':
        return judgeMannWhitney({ ...metric, judge: metric.judge }, canary, baseline as SideData);
    }
  }

  private async fetchSide(
    metric: MetricSpec,
    index: number,
    side: Side,
    labels: SubjectLabels,
    need: MetricNeed,
    window: Window,
    signal?: AbortSignal,
  ): Promise<SideData> {
    const provider = this.options.providers[metric.provider] as MetricProvider;
    const windowMs = window.end.getTime() - window.start.getTime();
    const builtins = {
      window: seconds(windowMs),
      step: `${metric.stepSeconds}s`,
      range: need === 'samples' ? `${metric.stepSeconds}s` : seconds(windowMs),
    };
    const what = `The analysis spec's metrics[${index}].query (${metric.name}), for the ${side},`;
    const query = fillQuery(metric.query, labels, builtins, what);
    const main = provider.query({ query, window, stepSeconds: metric.stepSeconds, need, labels }, signal);
    let countPromise: Promise<number | undefined> | undefined;
    if (metric.countQuery) {
      const countText = fillQuery(
        metric.countQuery,
        labels,
        { ...builtins, range: seconds(windowMs) },
        `The analysis spec's metrics[${index}].count-query (${metric.name}), for the ${side},`,
      );
      countPromise = provider
        .query({ query: countText, window, stepSeconds: metric.stepSeconds, need: 'value', labels }, signal)
        .then((r) => r.value);
    }
    const [result, countFromQuery] = await Promise.all([main, countPromise]);
    const count = metric.countQuery ? (countFromQuery ?? 0) : result.count;
    if (metric.minCount > 0 && count === undefined) {
      throw noRequestCount(index, metric);
    }
    return {
      value: result.value,
      samples: result.samples,
      ...(count !== undefined ? { count } : {}),
      ...(result.excluded ? { excluded: result.excluded } : {}),
    };
  }

  async bake(options: BakeOptions): Promise<BakeResult> {
    const clock = options.clock ?? this.options.clock ?? systemClock;
    const { signal, subjects } = options;
    const since = options.since.getTime();
    // Data from before the rollout's first shift is another rollout's: never judged.
    const notBefore = new Date(Math.min(since, (options.firstShiftAt ?? options.since).getTime()));
    const spec = this.spec;
    let deadline = since + Math.max(0, options.durationMs);
    let extended = false;
    const runs: AnalysisRun[] = [];
    let failures = 0;
    let errors = 0;
    let next = Math.min(since + this.intervalMs, deadline);

    for (;;) {
      signal?.throwIfAborted();
      const wait = next - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
      const now = clock.now();
      const start = spec.lookbackMs !== undefined ? Math.max(since, now - spec.lookbackMs) : since;
      const run = await this.run(
        subjects,
        { start: new Date(Math.min(start, now)), end: new Date(now), notBefore },
        signal,
      );
      runs.push(run);
      options.onRun?.(run);

      // A run with any backend error counts toward error-limit, whatever its other checks said.
      const errored = run.checks.filter((c) => c.verdict === 'error');
      errors = errored.length > 0 ? errors + 1 : 0;
      if (run.verdict === 'fail') {
        failures++;
        if (failures >= this.failureLimit) {
          return {
            verdict: 'fail',
            reason: `${this.failureLimit === 1 ? 'A run' : `${failures} consecutive runs`} failed: ${reasons(run, 'fail')}`,
            runs,
          };
        }
      } else if (run.verdict === 'pass') {
        failures = 0;
      }
      if (errors >= this.errorLimit) return backendFailed(run, errored, errors, this.errorLimit, runs);

      if (extended && run.verdict === 'pass') {
        return { verdict: 'pass', reason: `Passed after extending the bake: ${reasons(run, 'pass')}`, runs };
      }
      const atEnd = clock.now() >= deadline;
      if (atEnd) {
        const span = formatDuration(clock.now() - since);
        if (run.verdict === 'pass') {
          const tally = summarise(runs);
          return {
            verdict: 'pass',
            reason: `Passed: ${plural(runs.length, 'run')} over ${span}${tally}; last run: ${reasons(run, 'pass')}`,
            runs,
          };
        }
        if (run.verdict === 'inconclusive' && !(spec.onInconclusive === 'extend' && !extended)) {
          const why = reasons(run, 'inconclusive');
          if (extended) {
            return {
              verdict: 'inconclusive',
              reason: `Still inconclusive after extending the bake by ${formatDuration(spec.maxExtensionMs)}: ${why}`,
              runs,
            };
          }
          if (spec.onInconclusive === 'continue') {
            return {
              verdict: 'pass',
              reason: `Inconclusive at the end of the bake (${why}); continuing because on-inconclusive is continue`,
              runs,
            };
          }
          return { verdict: 'inconclusive', reason: `Inconclusive at the end of the bake: ${why}`, runs };
        }
        if (run.verdict === 'inconclusive' && !extended) {
          extended = true;
          deadline += spec.maxExtensionMs;
        }
        // A failed last run (below failure-limit), a backend error (below error-limit: a bake
        // never ends on one, whatever on-inconclusive says) or an extension: keep running
        // until a run decides.
        next = clock.now() + this.intervalMs;
        continue;
      }
      next = Math.max(clock.now(), Math.min(next + this.intervalMs, deadline));
    }
  }
}
