/**
 * The analysis spec: one format for ECS (CloudWatch) and GKE (Prometheus, Managed
 * Prometheus, Cloud Monitoring). `parseAnalysisSpec` reads it from the `analysis` action
 * input (inline YAML or JSON, or a file path) and reports every mistake as a UserError
 * that names the field and says what to write instead. docs/analysis.md is the reference.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '../util/errors.js';
import { defaultAnalysisSpec, type CloudMonitoringDefaults, type PrometheusDefaults } from './default-spec.js';
import { buildLoadSpec } from './load.js';
import { buildSmokeSpec } from './smoke.js';
import { describe, SpecReader } from './spec-reader.js';
import {
  BUILTIN_PLACEHOLDERS,
  SPEC_DEFAULTS,
  type AnalysisSpec,
  type JudgeKind,
  type JudgeSpec,
  type MetricSpec,
} from './spec-types.js';
import type { MetricUnit } from './types.js';

export interface ParseSpecOptions {
  /** Provider whose default spec is used when the input is empty or `default`. */
  defaultProvider?: string;
  /** Providers the caller can supply; a metric naming another one is an error at once. */
  providers?: string[];
  /** Subject labels the target supplies; an unknown `{{placeholder}}` is an error at once. */
  labels?: string[];
  /** Where relative file paths are resolved: default GITHUB_WORKSPACE, then the working directory. */
  workspace?: string;
  /** The input's name, for messages. Default 'analysis'. */
  inputName?: string;
  /** Options for the default Prometheus spec. */
  prometheus?: PrometheusDefaults;
  /** Options for the default Cloud Monitoring spec. */
  cloudMonitoring?: CloudMonitoringDefaults;
}

const MIN_INTERVAL_MS = 10_000;
const MIN_STEP_MS = 10_000;

const TOP_KEYS = [
  'interval',
  'failure-limit',
  'error-limit',
  'lookback',
  'on-inconclusive',
  'max-extension',
  'step',
  'provider',
  'min-count',
  'metrics',
  'smoke',
  'load',
] as const;
const METRIC_KEYS = ['name', 'provider', 'query', 'count-query', 'min-count', 'step', 'unit', 'judge'] as const;
const JUDGE_KINDS = ['threshold', 'relative', 'mann-whitney'] as const;
const DIRECTIONS = ['increase', 'decrease', 'both'] as const;
const UNITS = ['ratio', 'seconds', 'count', 'none'] as const;
const POLICIES = ['stop', 'continue', 'extend'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Reads the `analysis` input: empty or `default` → the default spec of
 * `options.defaultProvider`; otherwise inline YAML / JSON, or the path of a YAML / JSON file.
 */
export function parseAnalysisSpec(input: string, options: ParseSpecOptions = {}): AnalysisSpec {
  const text = input.trim();
  const inputName = options.inputName ?? 'analysis';
  if (text === '' || text === 'default') {
    if (!options.defaultProvider) {
      throw new UserError(
        `Input '${inputName}' is empty and there is no default analysis here.`,
        'Write an analysis spec (see docs/analysis.md).',
      );
    }
    const spec = defaultAnalysisSpec(options.defaultProvider, {
      prometheus: options.prometheus,
      cloudMonitoring: options.cloudMonitoring,
    });
    checkAgainstOptions(spec, new SpecReader(spec.source), options);
    return spec;
  }
  let source = 'inline';
  let body = text;
  if (!text.includes('\n') && !text.startsWith('{')) {
    const base = options.workspace ?? process.env.GITHUB_WORKSPACE ?? process.cwd();
    const path = isAbsolute(text) ? text : resolve(base, text);
    if (existsSync(path) && statSync(path).isFile()) {
      source = text;
      body = readFileSync(path, 'utf8');
    } else if (!/:\s/.test(text)) {
      throw new UserError(
        `Input '${inputName}' names a file that does not exist: ${text} (looked for ${path}).`,
        'Check out the repository before this step, fix the path (relative to the workspace), or write the spec inline as YAML.',
      );
    }
  }
  const doc = parseDocument(body, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as { message: string; linePos?: Array<{ line: number; col: number }> };
    const at = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    const firstLine = e.message.split('\n')[0] ?? e.message;
    throw new UserError(
      `The analysis spec${source === 'inline' ? '' : ` ${source}`} is not valid YAML or JSON: ${firstLine}${at}.`,
      'Check indentation and quoting; see docs/analysis.md for examples.',
    );
  }
  return buildSpec(doc.toJS() as unknown, source, options);
}

/** Checks an already-structured spec (e.g. from a workflow's JSON) the same way. */
export function buildSpec(raw: unknown, source: string, options: ParseSpecOptions = {}): AnalysisSpec {
  const r: SpecReader = new SpecReader(source);
  const top = r.mapping(raw, 'the top level', TOP_KEYS);
  const intervalMs = r.duration(top, 'interval', '', SPEC_DEFAULTS.interval, MIN_INTERVAL_MS) as number;
  const failureLimit = r.integer(top, 'failure-limit', '', SPEC_DEFAULTS.failureLimit, 1, 100);
  const errorLimit = r.integer(top, 'error-limit', '', SPEC_DEFAULTS.errorLimit, 1, 100);
  const lookbackMs = r.duration(top, 'lookback', '', undefined, MIN_STEP_MS);
  const onInconclusive = r.choice(top, 'on-inconclusive', '', POLICIES, SPEC_DEFAULTS.onInconclusive);
  if (top['max-extension'] !== undefined && onInconclusive !== 'extend') {
    r.fail(
      'max-extension',
      'only applies with on-inconclusive: extend',
      "Add 'on-inconclusive: extend' or remove max-extension.",
    );
  }
  const maxExtensionMs = r.duration(top, 'max-extension', '', SPEC_DEFAULTS.maxExtension, MIN_INTERVAL_MS) as number;
  const stepMs = r.duration(top, 'step', '', SPEC_DEFAULTS.step, MIN_STEP_MS) as number;
  const defaultProvider = r.string(
    top,
    'provider',
    '',
    'Write the provider most metrics use: cloudwatch, prometheus or cloud-monitoring.',
  );
  const defaultMinCount = r.integer(top, 'min-count', '', 0, 0, 1e9);

  const rawMetrics = top.metrics;
  if (!Array.isArray(rawMetrics) || rawMetrics.length === 0) {
    r.fail(
      'metrics',
      rawMetrics === undefined || rawMetrics === null
        ? 'is missing'
        : Array.isArray(rawMetrics)
          ? 'is empty'
          : `must be a list, not ${describe(rawMetrics)}`,
      "List what to judge under 'metrics:', each with name, provider, query and judge; or leave the input empty for the platform SLO defaults.",
    );
  }
  const seen = new Set<string>();
  const metrics = rawMetrics.map((item, i): MetricSpec => {
    const path = `metrics[${i}]`;
    const m = r.mapping(item, path, METRIC_KEYS);
    const name = r.string(m, 'name', path, 'Give every metric a short name, e.g. error-rate.');
    if (name === undefined)
      r.fail(`${path}.name`, 'is missing', 'Give every metric a short name, e.g. error-rate or p95-latency.');
    if (!NAME.test(name))
      r.fail(
        `${path}.name`,
        `must be letters, digits, '.', '_' or '-' (up to 63), not ${describe(name)}`,
        'For example: error-rate, p95_latency.',
      );
    if (seen.has(name))
      r.fail(
        `${path}.name`,
        `repeats '${name}'`,
        'Give every metric a different name: the report and the verdicts refer to them by name.',
      );
    seen.add(name);
    const provider =
      r.string(m, 'provider', path, 'Write the provider: cloudwatch, prometheus or cloud-monitoring.') ??
      defaultProvider;
    if (provider === undefined) {
      r.fail(
        `${path}.provider`,
        'is missing',
        "Write the provider for this metric (e.g. 'provider: prometheus'), or one 'provider:' at the top level for all metrics.",
      );
    }
    const query = r.string(
      m,
      'query',
      path,
      'Write the query, e.g. alb:error-rate for CloudWatch or a PromQL expression.',
    );
    if (query === undefined)
      r.fail(
        `${path}.query`,
        'is missing',
        'Write the query, e.g. alb:error-rate for CloudWatch or a PromQL expression.',
      );
    checkPlaceholders(r, `${path}.query`, query);
    const countQuery = r.string(
      m,
      'count-query',
      path,
      'Write a query returning the number of requests, e.g. sum(increase(http_requests_total{...}[{{range}}])).',
    );
    if (countQuery !== undefined) checkPlaceholders(r, `${path}.count-query`, countQuery);
    const minCount = r.integer(m, 'min-count', path, defaultMinCount, 0, 1e9);
    const stepSeconds = Math.round((r.duration(m, 'step', path, undefined, MIN_STEP_MS) ?? stepMs) / 1000);
    const { judge, unit: inferred } = parseJudge(r, m.judge, `${path}.judge`);
    const unit = r.choice(m, 'unit', path, UNITS, inferred ?? 'none');
    return { name, provider, query, ...(countQuery ? { countQuery } : {}), minCount, stepSeconds, unit, judge };
  });

  const spec: AnalysisSpec = {
    intervalMs,
    failureLimit,
    errorLimit,
    ...(lookbackMs !== undefined ? { lookbackMs } : {}),
    onInconclusive,
    maxExtensionMs,
    metrics,
    source,
    ...(top.smoke !== undefined ? { smoke: buildSmokeSpec(top.smoke) } : {}),
    ...(top.load !== undefined ? { load: buildLoadSpec(top.load) } : {}),
  };
  checkAgainstOptions(spec, r, options);
  return spec;
}

function parseJudge(r: SpecReader, raw: unknown, path: string): { judge: JudgeSpec; unit?: MetricUnit } {
  const hint =
    'Write exactly one of: threshold: { max: 1% }, relative: { tolerance: 10% }, mann-whitney: { confidence: 0.95 }.';
  if (raw === undefined || raw === null) r.fail(path, 'is missing', hint);
  const j = r.mapping(raw, path, JUDGE_KINDS);
  const kinds = Object.keys(j);
  if (kinds.length !== 1)
    r.fail(
      path,
      kinds.length === 0 ? 'names no judge' : `names ${kinds.length} judges (${kinds.join(', ')})`,
      `${hint} Use two metrics to judge one query two ways.`,
    );
  const kind = kinds[0] as JudgeKind;
  const p = `${path}.${kind}`;
  const body = j[kind] ?? {};
  if (kind === 'threshold') {
    const t = r.mapping(body, p, ['max', 'min']);
    const max = r.quantity(t, 'max', p);
    const min = r.quantity(t, 'min', p);
    if (!max && !min)
      r.fail(
        p,
        'needs max or min',
        'For example threshold: { max: 1% } for an error rate, or { max: 500ms } for a latency.',
      );
    if (max && min && min.value >= max.value)
      r.fail(`${p}.min`, `(${min.value}) must be below max (${max.value})`, 'Swap them, or drop one.');
    return {
      judge: { kind, ...(max ? { max: max.value } : {}), ...(min ? { min: min.value } : {}) },
      unit: max?.unit ?? min?.unit,
    };
  }
  if (kind === 'relative') {
    const t = r.mapping(body, p, ['tolerance', 'margin', 'direction']);
    const tolerance = r.fraction(t, 'tolerance', p, SPEC_DEFAULTS.relativeTolerance, 0, 100);
    const margin = r.quantity(t, 'margin', p);
    if (margin && margin.value < 0)
      r.fail(
        `${p}.margin`,
        'must not be negative',
        'Write an absolute allowance such as 0.1% or 20ms, or leave it out.',
      );
    const direction = r.choice(t, 'direction', p, DIRECTIONS, 'increase');
    return { judge: { kind, tolerance, margin: margin?.value ?? 0, direction }, unit: margin?.unit };
  }
  const t = r.mapping(body, p, ['confidence', 'min-samples', 'direction', 'tolerance']);
  const confidence = r.fraction(t, 'confidence', p, SPEC_DEFAULTS.confidence, 0.5, 0.9999, true);
  const minSamples = r.integer(t, 'min-samples', p, SPEC_DEFAULTS.minSamples, 3, 100_000);
  const direction = r.choice(t, 'direction', p, DIRECTIONS, 'increase');
  const tolerance = r.fraction(t, 'tolerance', p, 0, 0, 100);
  return { judge: { kind, confidence, minSamples, direction, tolerance } };
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The `{{name}}` placeholders of a query, in order of appearance, without duplicates. */
export function placeholdersOf(query: string): string[] {
  return [...new Set(Array.from(query.matchAll(PLACEHOLDER), (m) => m[1] as string))];
}

function checkPlaceholders(r: SpecReader, path: string, query: string): void {
  for (const name of placeholdersOf(query)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      r.fail(
        path,
        `has a placeholder '{{${name}}}' that is not a label name`,
        'Placeholders are {{label}} with a label of the rollout (e.g. {{deployment}}, {{targetGroup}}) or {{range}}, {{window}}, {{step}}.',
      );
    }
  }
  const open = (query.match(/\{\{/g) ?? []).length;
  const close = (query.match(/\}\}/g) ?? []).length;
  if (open !== close) r.fail(path, 'has an unclosed {{ placeholder', 'Write placeholders as {{name}}.');
}

function checkAgainstOptions(spec: AnalysisSpec, r: SpecReader, options: ParseSpecOptions): void {
  spec.metrics.forEach((m, i) => {
    if (options.providers && !options.providers.includes(m.provider)) {
      r.fail(
        `metrics[${i}].provider`,
        `is '${m.provider}', which is not available here`,
        `Available providers: ${options.providers.join(', ') || 'none'}.`,
      );
    }
    if (options.labels) {
      for (const [field, q] of [
        ['query', m.query],
        ['count-query', m.countQuery],
      ] as const) {
        for (const name of placeholdersOf(q ?? '')) {
          if (!options.labels.includes(name) && !(BUILTIN_PLACEHOLDERS as readonly string[]).includes(name)) {
            r.fail(
              `metrics[${i}].${field}`,
              `uses {{${name}}}, which this rollout does not supply`,
              `Placeholders available here: ${[...options.labels, ...BUILTIN_PLACEHOLDERS].map((l) => `{{${l}}}`).join(', ')}.`,
            );
          }
        }
      }
    }
  });
}
