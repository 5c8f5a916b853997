/**
 * The GKE lab the gke-deploy, rollback and reconcile tests share: the Kubernetes API
 * stand-in (kube-server.ts) with a fresh kubeconfig and, if asked, the seed workload
 * (gke-workload.ts) before every test; optionally the GitHub stand-in and a real
 * Prometheus scraping one load-driven metrics app per Deployment (prometheus.ts).
 *
 * `useGkeLab()` registers the jest hooks of the calling file and returns the lab;
 * `startGkeLab()` is the same without hooks: `reset()` before each case, `stop()` at the end.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import { startGitHubServer, type GitHubServer } from './github-server.js';
import { NS, seedWeb } from './gke-workload.js';
import { startKubeServer, type KubeServer } from './kube-server.js';
import { startMetricsLab, type LabDeployment, type MetricsLab } from './prometheus.js';
import { Job } from './runner.js';

export interface GkeLabOptions {
  /** Also start the GitHub stand-in (`lab.gh`); after each test it must have seen nothing off GitHub's schema. */
  github?: boolean;
  /**
   * Start a real Prometheus (`lab.metrics`) scraping one metrics app per Deployment named
   * here, in the workload's namespace, each under its load. It lives for the whole file.
   */
  metrics?: Record<string, LabDeployment>;
  /** Seed `web` (seedWeb, with these options) before every test and wait until it is settled. */
  seed?: Parameters<typeof seedWeb>[1];
}

export interface GkeLab {
  /** The Kubernetes API stand-in: requests recorded, faults injectable, controllers simulated. */
  readonly kube: KubeServer;
  /** A kubeconfig for the stand-in, written for the current test. */
  readonly kubeconfig: string;
  /** The GitHub stand-in; only with `github: true`. */
  readonly gh: GitHubServer;
  /** Prometheus and its metrics apps; only with `metrics`. */
  readonly metrics: MetricsLab;
  /** A runner job of this run id, with `env` added as given (pass `lab.gh.env()` to reach the GitHub stand-in). */
  job(runId?: string, env?: Record<string, string>): Job;
  /** Empties the stand-ins, writes a new kubeconfig and seeds the workload if asked. */
  reset(): Promise<void>;
  /** After each test: the stand-ins saw no request off their API's schema. */
  settle(): void;
  stop(): Promise<void>;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new Error(`gke-lab: ${what} is not there (started, and with the option that asks for it?)`);
  return value;
}

export async function startGkeLab(options: GkeLabOptions = {}): Promise<GkeLab> {
  const [kube, gh, metrics] = await Promise.all([
    startKubeServer(),
    options.github ? startGitHubServer() : undefined,
    options.metrics ? startMetricsLab({ namespace: NS, deployments: options.metrics }) : undefined,
  ]);
  let kubeconfig: string | undefined;
  return {
    kube,
    get kubeconfig() {
      return required(kubeconfig, 'the kubeconfig (reset() writes it)');
    },
    get gh() {
      return required(gh, 'the GitHub stand-in (github: true)');
    },
    get metrics() {
      return required(metrics, 'the metrics lab (metrics: {...})');
    },
    job: (runId = '4242', env = {}) => new Job({ GITHUB_RUN_ID: runId, ...env }),
    async reset() {
      kube.reset();
      gh?.reset();
      kubeconfig = kube.kubeconfig();
      if (options.seed) await seedWeb(kube, options.seed);
    },
    settle() {
      expect(kube.problems).toEqual([]);
      if (gh) expect(gh.problems).toEqual([]);
    },
    async stop() {
      await Promise.all([kube.close(), gh?.close(), metrics?.stop()]);
    },
  };
}

/**
 * The lab for the calling test file: servers started before its first test (Prometheus
 * included, hence the minute) and closed after its last, reset before each test and
 * checked after each. Read its fields inside hooks and tests only.
 */
export function useGkeLab(options: GkeLabOptions = {}): GkeLab {
  let lab: GkeLab | undefined;
  const live = () => required(lab, 'the lab (read it inside a test or hook)');
  beforeAll(async () => {
    lab = await startGkeLab(options);
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });
  beforeEach(() => live().reset());
  afterEach(() => live().settle());
  return {
    get kube() {
      return live().kube;
    },
    get kubeconfig() {
      return live().kubeconfig;
    },
    get gh() {
      return live().gh;
    },
    get metrics() {
      return live().metrics;
    },
    job: (runId, env) => live().job(runId, env),
    reset: () => live().reset(),
    settle: () => live().settle(),
    stop: () => live().stop(),
  };
}
