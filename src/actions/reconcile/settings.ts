import { resolveRegion } from '../../aws/client.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

/** ECS: the clusters of one environment's account and region. */
export interface EcsScope {
  platform: 'ecs';
  region: string;
  clusters: string[];
}

/** GKE: namespaces of one cluster. */
export interface GkeScope {
  platform: 'gke';
  namespaces: string[];
  projectId: string | undefined;
  location: string | undefined;
  cluster: string | undefined;
  kubeconfig: string | undefined;
}

export type Scope = EcsScope | GkeScope;

/** Everything reconcile needs, checked before anything touches a cloud. */
export interface Settings {
  scope: Scope;
  /** Analysis spec for paused canaries: empty is the platform SLO where it applies, `none` turns judging off. */
  analysis: string;
  prometheusUrl: string | undefined;
  dryRun: boolean;
  /** Longest a restore or promotion is retried before this run gives up (the next run tries again). */
  restoreTimeoutMs: number;
  environment: string | undefined;
  githubToken: string | undefined;
}

const CLUSTER = /^(arn:[^:]+:ecs:[^:]+:\d{12}:cluster\/)?[A-Za-z0-9_-]{1,255}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const notEcsClusters = (bad: string[]): UserError =>
  new UserError(
    `clusters has ${bad.map((c) => `'${c}'`).join(', ')}, which ${bad.length > 1 ? 'are' : 'is'} not an ECS cluster name or ARN.`,
    'Give names (letters, digits, - and _) or cluster ARNs.',
  );

const notNamespaces = (bad: string[]): UserError =>
  new UserError(
    `namespaces has ${bad.map((n) => `'${n}'`).join(', ')}, which ${bad.length > 1 ? 'are' : 'is'} not a Kubernetes namespace name.`,
    'Give namespace names (lower-case letters, digits and -), one per line or comma-separated.',
  );

const environmentWithoutToken = (): UserError =>
  new UserError(
    'environment is set but github-token is empty, so the abandoned GitHub Deployments of that environment cannot be closed.',
    'Pass github-token: ${{ github.token }} and give the job `permissions: actions: read, deployments: write`, or leave environment empty.',
  );

export function readSettings(): Settings {
  const platform = inputs.choice('platform', ['ecs', 'gke'], 'ecs');
  let scope: Scope;
  if (platform === 'ecs') {
    const clusters = inputs.list('clusters');
    if (clusters.length === 0)
      throw new UserError(
        'clusters is empty, so there is nothing to reconcile on ECS.',
        'Give the ECS clusters of this environment, one per line or comma-separated (names or ARNs).',
      );
    const bad = clusters.filter((c) => !CLUSTER.test(c));
    if (bad.length) throw notEcsClusters(bad);
    scope = { platform, region: resolveRegion(inputs.string('aws-region')), clusters };
  } else {
    const namespaces = inputs.list('namespaces');
    const list = namespaces.length ? namespaces : ['default'];
    const bad = list.filter((n) => !NAMESPACE.test(n));
    if (bad.length) throw notNamespaces(bad);
    scope = {
      platform,
      namespaces: list,
      projectId: inputs.string('project-id'),
      location: inputs.string('location'),
      cluster: inputs.string('cluster'),
      kubeconfig: inputs.string('kubeconfig'),
    };
  }
  const prometheusUrl = inputs.string('prometheus-url');
  if (prometheusUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(prometheusUrl)) {
    throw new UserError(
      `prometheus-url '${prometheusUrl}' is not an http(s) URL.`,
      'Give the base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
    );
  }
  const token = inputs.string('github-token', '${{ github.token }}');
  const githubToken = token && !token.startsWith('${{') ? token : undefined;
  const environment = inputs.string('environment');
  if (environment && !githubToken) {
    throw environmentWithoutToken();
  }
  return {
    scope,
    analysis: inputs.string('analysis', ''),
    prometheusUrl,
    dryRun: inputs.boolean('dry-run', false),
    restoreTimeoutMs: inputs.duration('restore-timeout', '10m'),
    environment,
    githubToken,
  };
}
