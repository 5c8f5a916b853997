/**
 * ecs-deploy's analysis: the alarms watched, the metric providers, the spec (given, or the
 * SLO defaults behind an ALB, or alarms alone), and the smoke checks the engine can run.
 */
import { info } from '@actions/core';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { createAnalysis, type SpecAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { defaultAnalysisSpec } from '../../analysis/default-spec.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import type { ExtraCheck, MetricProvider } from '../../analysis/types.js';
import { createWebProvider } from '../../analysis/web.js';
import { AlarmWatch, describeFiring } from '../../aws/alarms.js';
import type { AwsClientOptions } from '../../aws/client.js';
import { createCloudWatchProvider } from '../../aws/cloudwatch-metrics.js';
import type { EcsEngine } from '../../aws/ecs-engine.js';
import { EcsNativeTarget } from '../../aws/ecs-native-target.js';
import type { RolloutPlan } from '../../delivery/types.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';
import type { BuiltTarget } from './target.js';

export interface EcsAnalysis {
  spec: AnalysisSpec | undefined;
  analysis: SpecAnalysis | undefined;
  /** Alarms watched as a check of every run. */
  extraChecks: ExtraCheck[];
}

/** The alarms to watch, started (those already in ALARM do not count until they clear). */
export async function watchAlarms(
  s: Settings,
  cloudwatch: CloudWatchClient,
  signal: AbortSignal,
): Promise<AlarmWatch | undefined> {
  if (!s.alarms.length) return undefined;
  const alarms = new AlarmWatch(cloudwatch, s.alarms);
  const firing = (await alarms.start(signal)).filter((a) => a.state === 'ALARM');
  const already = firing.length
    ? `. Already in ALARM, so not counted until they clear: ${describeFiring(firing)}`
    : ' (none in ALARM now)';
  info(`Watching alarms ${s.alarms.join(', ')}${already}.`);
  return alarms;
}

/** Alarms alone: a look every 15 s, and one alarm in ALARM is enough (alarms debounce themselves). */
function alarmsOnlySpec(): AnalysisSpec {
  return {
    ...defaultAnalysisSpec('cloudwatch'),
    intervalMs: 15_000,
    failureLimit: 1,
    metrics: [],
    source: 'alarms only',
  };
}

/** Metrics from the spec (or the SLO defaults behind an ALB), alarms as a check. */
export function ecsAnalysis(
  s: Settings,
  built: BuiltTarget,
  o: { aws: AwsClientOptions; alarms: AlarmWatch | undefined },
): EcsAnalysis {
  const providers: Record<string, MetricProvider> = { cloudwatch: createCloudWatchProvider(o.aws) };
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  providers.web = createWebProvider();
  const extraChecks: ExtraCheck[] = o.alarms ? [o.alarms.check()] : [];
  let spec: AnalysisSpec | undefined;
  const text = s.analysis.trim();
  if (text === 'none') spec = undefined;
  else if (text !== '' || built.albLabels)
    spec = parseAnalysisSpec(text, {
      defaultProvider: 'cloudwatch',
      providers: Object.keys(providers),
      labels: [...built.labels],
    });
  if (!spec && extraChecks.length) spec = alarmsOnlySpec();
  // Native: every run also asks ECS whether the deployment still goes forward (its own alarms, circuit breaker).
  const target = built.target;
  const checks = spec && target instanceof EcsNativeTarget ? [...extraChecks, target.deploymentCheck()] : extraChecks;
  const analysis = spec ? createAnalysis(spec, { providers, extraChecks: checks }) : undefined;
  return { spec, analysis, extraChecks };
}

/** Nothing would judge a rolling update's bake: it is done when ECS is. */
export function withoutIdleBakes(plan: RolloutPlan, engine: EcsEngine, analysis: SpecAnalysis | undefined) {
  if (analysis || engine !== 'ecs-rolling') return plan;
  return { ...plan, steps: plan.steps.map((step) => ({ ...step, bakeMs: 0 })) };
}

function smokeNeedsANewSide(serviceName: string | undefined): UserError {
  return new UserError(
    `The analysis spec has smoke checks, but service ${serviceName} runs rolling updates: ecs-deploy runs smoke checks before the first weight only for task sets (EXTERNAL controller) and ECS native deployments with a test listener. Nothing was changed.`,
    'Remove smoke: from the spec (a rolling update has no new side without traffic), or move the service to the EXTERNAL controller.',
  );
}

function smokeInputWithoutChecks(s: Settings): UserError {
  return new UserError(
    `${s.smokeUrl ? 'smoke-url' : 'smoke-listener-arn'} is set, but the analysis spec has no smoke: section, so there is nothing to check.`,
    'Add smoke: checks to the analysis spec (docs/analysis.md), or remove the input.',
  );
}

/**
 * Smoke checks need a new side that nothing else reaches: a task set behind its own target
 * group, or a native deployment held on its test listener (checked when it is wired).
 */
export function checkSmoke(
  s: Settings,
  spec: AnalysisSpec | undefined,
  built: BuiltTarget,
  o: { serviceName: string | undefined; engine: EcsEngine },
): void {
  if (spec?.smoke && !s.resume && o.engine === 'ecs-rolling') throw smokeNeedsANewSide(o.serviceName);
  if ((s.smokeUrl || s.smokeListenerArn) && !spec?.smoke) throw smokeInputWithoutChecks(s);
}
