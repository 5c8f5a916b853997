import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../delivery/plan.js';
import { jobLimit, type TimeLimit } from '../../delivery/time-budget.js';
import type { RolloutPlan } from '../../delivery/types.js';
import { clusterRef } from '../../gcp/container.js';
import type { ClusterTarget } from '../../gcp/gke-connection.js';
import { readRecordSettings } from '../../github/deployment-record.js';
import { readPauseSettings } from '../../github/pause-inputs.js';
import { inputs } from '../../github/inputs.js';
import { parseReference } from '../../image/reference.js';
import { UserError } from '../../util/errors.js';
import { checkSmokeUrl } from '../../analysis/smoke.js';
import { parseCommand } from '../../aws/run-task-input.js';

export type GkeStrategy = 'rolling' | 'canary' | 'blue-green';
export const GKE_STRATEGIES: readonly GkeStrategy[] = ['rolling', 'canary', 'blue-green'];

/** Everything gke-deploy needs to know, checked before anything touches a cluster. */
export interface Settings {
  cluster: ClusterTarget;
  /** For Managed Prometheus and Cloud Monitoring: project-id, the cluster's project, or what gcp-auth exported. */
  projectId: string | undefined;
  namespace: string;
  deployment: string;
  containerName: string | undefined;
  image: string;
  manifests: string[];
  strategy: GkeStrategy;
  plan: RolloutPlan;
  stepDurationMs: number;
  analysis: string;
  prometheusUrl: string | undefined;
  httpRoute: string | undefined;
  service: string | undefined;
  keepPreviousMs: number;
  waitTimeoutMs: number;
  /** The job's time limit (job-timeout, else 360 min assumed) the plan must fit in. */
  jobLimit: TimeLimit & { assumed: boolean };
  rollbackOnFailure: boolean;
  dryRun: boolean;
  /** Roll out even when the Deployment would not change. */
  force: boolean;
  /** Let a production deploy use a tag-only image. */
  allowTag: boolean;
  /** Continue the paused canary on the Deployment instead of starting one. */
  resume: boolean;
  /** How long a pause step holds the canary for a resume. */
  pauseTimeoutMs: number;
  /** Where the smoke checks go (overrides the spec's smoke.url). */
  smokeUrl: string | undefined;
  /** A Kubernetes Job of the new image run to completion before the rollout (pre-deploy*). */
  preDeploy: { command: string[] | undefined; args: string[] | undefined; timeoutMs: number } | undefined;
  environment: string | undefined;
  githubToken: string | undefined;
}

/** Variables gcp-auth exports the project in, in the order they are read. */
export const PROJECT_VARIABLES = [
  'GOOGLE_CLOUD_PROJECT',
  'CLOUDSDK_CORE_PROJECT',
  'CLOUDSDK_PROJECT',
  'GCLOUD_PROJECT',
  'GCP_PROJECT',
];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkName(
  value: string,
  input: string,
  kind: 'label' | '1035' | 'subdomain',
  what: string,
  maxLength = kind === 'subdomain' ? 253 : 63,
): string {
  const re = kind === 'label' ? DNS_LABEL : kind === '1035' ? DNS_1035 : DNS_SUBDOMAIN;
  if (!re.test(value) || value.length > maxLength) {
    throw new UserError(
      `Input '${input}' is '${value}', which is not a valid ${what}.`,
      `${what[0]?.toUpperCase()}${what.slice(1)}s are at most ${maxLength} lowercase letters, digits${kind === 'subdomain' ? ', dots' : ''} and hyphens, ${kind === '1035' ? 'starting with a letter' : 'starting with a letter or digit'} and ending with one.`,
    );
  }
  return value;
}

function clusterTarget(projectInput: string | undefined, env: NodeJS.ProcessEnv): ClusterTarget {
  const kubeconfig = inputs.string('kubeconfig');
  const location = inputs.string('location');
  const cluster = inputs.string('cluster');
  if (kubeconfig && (cluster || location)) {
    throw new UserError(
      'Both kubeconfig and a GKE cluster (cluster / location) are set.',
      'Give one: project-id, location and cluster (with gcp-auth earlier in the job), or a kubeconfig.',
    );
  }
  if (cluster)
    return {
      kind: 'gke',
      ref: clusterRef(projectInput ?? PROJECT_VARIABLES.map((v) => env[v]).find(Boolean), location, cluster),
    };
  if (location)
    throw new UserError(
      'location is set but cluster is empty.',
      "Give cluster (the GKE cluster's name) with project-id and location, or a kubeconfig.",
    );
  if (kubeconfig) return { kind: 'kubeconfig', path: kubeconfig };
  if (!env.KUBECONFIG && !existsSync(join(env.HOME ?? homedir(), '.kube', 'config'))) {
    throw new UserError(
      'No cluster to deploy to: cluster and kubeconfig are empty, and there is no KUBECONFIG or ~/.kube/config.',
      'Give project-id, location and cluster (run gcp-auth earlier in the job), or kubeconfig: the path of a kubeconfig.',
    );
  }
  return { kind: 'kubeconfig', path: undefined };
}

/** Reads and checks every input before anything touches a cluster. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const deployment = checkName(inputs.required('deployment'), 'deployment', 'subdomain', 'Deployment name', 240);
  const image = inputs.required('image');
  parseReference(image, "Input 'image'");
  const projectInput = inputs.string('project-id');
  const cluster = clusterTarget(projectInput, env);
  const namespace = checkName(inputs.string('namespace', 'default'), 'namespace', 'label', 'namespace name');
  const strategy = inputs.choice('strategy', GKE_STRATEGIES, 'rolling');
  const steps = inputs.string('steps', '');
  const stepDurationMs = inputs.duration('step-duration', '5m');
  const plan = buildPlan({ strategy, steps, stepDurationMs });

  const httpRoute = inputs.string('http-route');
  if (httpRoute) checkName(httpRoute, 'http-route', 'subdomain', 'HTTPRoute name');
  if (httpRoute && strategy === 'rolling') {
    throw new UserError(
      'http-route is set, but a rolling update does not move traffic between Services.',
      'Use strategy canary or blue-green to split or switch traffic with the route, or remove http-route.',
    );
  }
  const service = inputs.string('service');
  if (service) checkName(service, 'service', '1035', 'Service name');
  const keepPreviousMs = inputs.duration('keep-previous', '10m');

  const prometheusUrl = inputs.string('prometheus-url');
  if (prometheusUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(prometheusUrl)) {
    throw new UserError(
      `prometheus-url '${prometheusUrl}' is not an http(s) URL.`,
      'Give the base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
    );
  }

  const smokeUrlInput = inputs.string('smoke-url');
  const smokeUrl = smokeUrlInput === undefined ? undefined : checkSmokeUrl(smokeUrlInput, "Input 'smoke-url'");
  const preCommand = parseCommand(inputs.string('pre-deploy'), "Input 'pre-deploy'");
  const preArgs = parseCommand(inputs.string('pre-deploy-args'), "Input 'pre-deploy-args'");
  const preTimeoutMs = inputs.duration('pre-deploy-timeout', '30m');

  const { environment, githubToken } = readRecordSettings();
  const { resume, pauseTimeoutMs } = readPauseSettings();
  if ((resume || plan.steps.some((st) => st.pause)) && strategy !== 'canary') {
    throw new UserError(
      `${resume ? 'resume is true' : 'steps pause'}, but strategy is ${strategy}: only a canary holds part of the traffic, so only a canary pauses and resumes.`,
      'Use strategy canary with a pause step (e.g. 10:5m,25:pause,100), or remove the pause.',
    );
  }

  return {
    cluster,
    projectId:
      projectInput ??
      (cluster.kind === 'gke' ? cluster.ref.project : PROJECT_VARIABLES.map((v) => env[v]).find(Boolean)),
    namespace,
    deployment,
    containerName: inputs.string('container-name'),
    image,
    manifests: inputs.list('manifests'),
    strategy,
    plan,
    stepDurationMs,
    analysis: inputs.string('analysis', ''),
    prometheusUrl,
    httpRoute,
    service,
    keepPreviousMs,
    waitTimeoutMs: inputs.duration('wait-timeout', '15m'),
    jobLimit: jobLimit(inputs.string('job-timeout')),
    rollbackOnFailure: inputs.boolean('rollback-on-failure', true),
    dryRun: inputs.boolean('dry-run', false),
    force: inputs.boolean('force', false),
    allowTag: inputs.boolean('allow-tag', false),
    resume,
    pauseTimeoutMs,
    smokeUrl,
    preDeploy: preCommand || preArgs ? { command: preCommand, args: preArgs, timeoutMs: preTimeoutMs } : undefined,
    environment,
    githubToken,
  };
}
