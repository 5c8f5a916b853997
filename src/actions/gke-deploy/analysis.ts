/**
 * gke-deploy's analysis: the metric providers it can reach (Prometheus at a given URL or
 * Google Managed Prometheus, Cloud Monitoring where Google credentials exist) and the spec.
 */
import { info } from '@actions/core';
import { createAnalysis, type SpecAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import type { MetricProvider } from '../../analysis/types.js';
import { createWebProvider } from '../../analysis/web.js';
import { CREDENTIALS_VARIABLES } from '../../gcp/access-token.js';
import { createCloudMonitoringProvider, managedPrometheusProvider } from '../../gcp/cloud-monitoring.js';
import type { lazyGoogleTokens } from '../../gcp/gke-connection.js';
import type { Settings } from './settings.js';

/** Labels the GKE targets give each side, for `{{placeholders}}` in analysis queries. */
const LABELS = ['namespace', 'deployment', 'service', 'track'];

/** Metric providers: Prometheus (given URL, or Managed Prometheus), Cloud Monitoring where Google credentials exist. */
function metricProviders(s: Settings, google: ReturnType<typeof lazyGoogleTokens>): Record<string, MetricProvider> {
  const providers: Record<string, MetricProvider> = {};
  const googleCredentials = s.cluster.kind === 'gke' || CREDENTIALS_VARIABLES.some((v) => process.env[v]);
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  providers.web = createWebProvider();
  if (s.projectId && googleCredentials) {
    const token = () => google.token();
    providers.prometheus ??= managedPrometheusProvider({ project: s.projectId, token });
    providers['cloud-monitoring'] = createCloudMonitoringProvider({ project: s.projectId, token });
  }
  return providers;
}

function analysisSpec(s: Settings, providers: Record<string, MetricProvider>): AnalysisSpec | undefined {
  const text = s.analysis.trim();
  if (text === 'none') return undefined;
  const defaultProvider = providers.prometheus ? 'prometheus' : undefined;
  if ((text === '' || text === 'default') && !defaultProvider) {
    info(
      'No analysis: no Prometheus is known (give prometheus-url, or project-id with gcp-auth for Managed Prometheus), and no analysis spec was given.',
    );
    return undefined;
  }
  return parseAnalysisSpec(text, {
    ...(defaultProvider ? { defaultProvider } : {}),
    providers: Object.keys(providers),
    labels: LABELS,
  });
}

/** The spec and the analysis that judges each bake (none without a spec). */
export function gkeAnalysis(
  s: Settings,
  google: ReturnType<typeof lazyGoogleTokens>,
): { spec: AnalysisSpec | undefined; analysis: SpecAnalysis | undefined } {
  const providers = metricProviders(s, google);
  const spec = analysisSpec(s, providers);
  return { spec, analysis: spec ? createAnalysis(spec, { providers }) : undefined };
}
