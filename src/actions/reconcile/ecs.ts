import { info } from '@actions/core';
import { createAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { Analysis, MetricProvider } from '../../analysis/types.js';
import { cloudWatchClient } from '../../aws/alarms.js';
import { createCloudWatchProvider } from '../../aws/cloudwatch-metrics.js';
import { ecsClient } from '../../aws/ecs.js';
import { scanEcs } from '../../aws/ecs-reconcile.js';
import { elbv2Client } from '../../aws/elbv2.js';
import type { PlatformScan } from './platform.js';
import type { EcsScope, Settings } from './settings.js';

/** Attempts per AWS call; the restore itself is retried to its deadline on top. */
const MAX_ATTEMPTS = 5;

export async function scanEcsScope(scope: EcsScope, s: Settings, signal: AbortSignal): Promise<PlatformScan> {
  const aws = { region: scope.region, maxAttempts: MAX_ATTEMPTS };
  const ecs = ecsClient(aws);
  const elbv2 = elbv2Client(aws);
  const cloudwatch = cloudWatchClient(aws);
  const scan = await scanEcs({
    ecs,
    elbv2,
    cloudwatch,
    clusters: scope.clusters,
    waitTimeoutMs: s.restoreTimeoutMs,
    log: info,
    signal,
  });
  const providers: Record<string, MetricProvider> = { cloudwatch: createCloudWatchProvider(aws) };
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  const text = s.analysis.trim();
  const analyses = new Map<string, Analysis | undefined>();
  return {
    seen: scan.services,
    calls: scan.calls,
    items: scan.findings.map((f) => ({
      where: `${f.cluster.split('/').pop()}/${f.service}`,
      service: f.service,
      found: f,
      ...(f.target ? { target: f.target } : {}),
      ...(f.subjects ? { subjects: f.subjects } : {}),
      analysis: () => {
        // Task sets sit behind an ALB: the platform SLO applies when no spec is given.
        if (text === 'none' || !f.labels || (text === '' && !f.labels.includes('targetGroup'))) return undefined;
        const key = f.labels.join(',');
        if (!analyses.has(key))
          analyses.set(
            key,
            createAnalysis(
              parseAnalysisSpec(text, {
                defaultProvider: 'cloudwatch',
                providers: Object.keys(providers),
                labels: [...f.labels],
              }),
              { providers },
            ),
          );
        return analyses.get(key);
      },
    })),
    close: () => {
      ecs.destroy();
      elbv2.destroy();
      cloudwatch.destroy();
    },
  };
}
