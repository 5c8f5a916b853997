/**
 * Analysis: metric providers and judges, returning pass / fail / inconclusive with the
 * numbers behind each verdict. Cloud-neutral: providers come from the cloud domains
 * (src/aws/cloudwatch-metrics.ts) or src/analysis/prometheus.ts, passed to createAnalysis.
 */
export type * from './types.js';
export { createAnalysis, fillQuery, type AnalysisOptions, type SpecAnalysis } from './analysis.js';
export {
  BUILTIN_PLACEHOLDERS,
  buildSpec,
  defaultAnalysisSpec,
  parseAnalysisSpec,
  parseQuantity,
  placeholdersOf,
  SLO,
  SPEC_DEFAULTS,
  type AnalysisSpec,
  type Direction,
  type InconclusivePolicy,
  type JudgeKind,
  type JudgeSpec,
  type MannWhitneyJudge,
  type MetricSpec,
  type ParseSpecOptions,
  type PrometheusDefaults,
  type RelativeJudge,
  type ThresholdJudge,
} from './spec.js';
export { mannWhitneyU, median, normalCdf, type Alternative, type MannWhitneyResult } from './mann-whitney.js';
export { analysisReport, describeJudge, renderAnalysisMarkdown, tallyRuns, VERDICT_ICON, type AnalysisReport, type RenderOptions, type RunTally } from './report.js';
export { formatValue } from './format.js';
