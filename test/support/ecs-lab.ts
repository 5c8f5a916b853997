/**
 * The ECS lab the task-set tests share: this worker's moto with the seed workload
 * (ecs-workload.ts) rebuilt before every test, a fault-injecting proxy in front of it that
 * the bundles talk to, optionally the GitHub stand-in, and ALB metrics written into moto's
 * CloudWatch while a test wants them.
 *
 * `useEcsLab()` registers the jest hooks of the calling file and returns the lab, whose
 * servers and workload are there from the first test on. `startEcsLab()` is the same
 * without jest hooks: call `reset()` before each case and `stop()` at the end.
 *
 * Nothing here mocks: the bundles run against moto through the proxy, as in every test that
 * set this up by hand before.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import { startAwsProxy, type AwsProxy } from './aws-proxy.js';
import {
  forwardPercentages,
  seedWorkload,
  startAlbTraffic,
  workloadClients,
  WORKLOAD,
  type SideTraffic,
  type Workload,
} from './ecs-workload.js';
import { startGitHubServer, type GitHubServer } from './github-server.js';
import { motoEndpoint, resetMoto } from './moto.js';
import { Job } from './runner.js';

/** The workload's target groups by the name the seed gives them a role. */
export type AlbSide = keyof Workload['targetGroups'];

/** How often ALB metrics are written (default 2 s), and a namespace for a per-target-group latency metric too. */
export type AlbTrafficOptions = Parameters<typeof startAlbTraffic>[3];

export interface EcsLabOptions<P extends AwsProxy> {
  /** What stands in front of moto for the bundles. Default: the fault-injecting proxy (aws-proxy.ts). */
  front?: (moto: string) => Promise<P>;
  /** Also start the GitHub stand-in (`lab.gh`); after each test it must have seen nothing off GitHub's schema. */
  github?: boolean;
  /**
   * Seed the workload through the front instead of straight into moto, for fronts that must
   * see what exists (the native ECS stand-in) or that change what moto answers. The front is
   * reset before the seed, so the seed's calls stay in its record.
   */
  seedThroughFront?: boolean;
  /** ALB traffic written from the start of every test to its end; asked every tick. */
  traffic?: () => Partial<Record<AlbSide, SideTraffic>>;
}

export interface EcsLab<P extends AwsProxy = AwsProxy> {
  /** This worker's moto (tests read state here directly, bypassing the front). */
  readonly moto: string;
  /** SDK clients on moto itself (no proxy, no retries). */
  readonly clients: ReturnType<typeof workloadClients>;
  /** The front the bundles talk to: calls recorded, faults injectable. */
  readonly proxy: P;
  /** The GitHub stand-in; only with `github: true`. */
  readonly gh: GitHubServer;
  /** The seed workload of the current test. */
  readonly workload: Workload;
  /**
   * A runner job whose AWS calls go through the front with dummy credentials in the
   * workload's region. `env` is added as given (pass `lab.gh.env()` to reach the GitHub stand-in).
   */
  job(runId?: string, env?: Record<string, string>): Job;
  /**
   * Writes ALB metrics for the workload's target groups until the test ends (or `stop()`).
   * `sides` is asked every tick, so a test can change the traffic mid-rollout.
   */
  traffic(sides: () => Partial<Record<AlbSide, SideTraffic>>, options?: AlbTrafficOptions): { stop(): Promise<void> };
  /**
   * Target group name → percent of the listener's forward (or of the rule's, given its ARN),
   * read from moto: `{ 'open-webui-blue': 90, 'open-webui-green': 10 }`.
   */
  weights(arn?: string): Promise<Record<string, number>>;
  /** Empties moto, reseeds the workload, forgets the front's and GitHub's records. */
  reset(): Promise<void>;
  /** After each test: stops its traffic, and checks the stand-ins saw no off-schema request. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new Error(`ecs-lab: ${what} is not there (started, and with the option that asks for it?)`);
  return value;
}

/** Starts the lab's servers; the workload exists after the first `reset()`. */
export async function startEcsLab<P extends AwsProxy = AwsProxy>(options: EcsLabOptions<P> = {}): Promise<EcsLab<P>> {
  const moto = motoEndpoint();
  const clients = workloadClients(moto);
  const front = options.front ?? ((target: string) => startAwsProxy(target) as Promise<P>);
  const proxy = await front(moto);
  const gh = options.github ? await startGitHubServer() : undefined;
  let workload: Workload | undefined;
  const running: Array<{ stop(): Promise<void> }> = [];

  const lab: EcsLab<P> = {
    moto,
    clients,
    proxy,
    get gh() {
      return required(gh, 'the GitHub stand-in (github: true)');
    },
    get workload() {
      return required(workload, 'the workload (reset() seeds it)');
    },
    job(runId = '4242', env = {}) {
      return new Job({
        AWS_ENDPOINT_URL: proxy.url,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: WORKLOAD.region,
        GITHUB_RUN_ID: runId,
        ...env,
      });
    },
    traffic(sides, trafficOptions) {
      const w = lab.workload;
      const writer = startAlbTraffic(
        clients.cloudwatch,
        w.loadBalancerArn,
        () => Object.fromEntries(Object.entries(sides()).map(([side, t]) => [w.targetGroups[side as AlbSide], t])),
        trafficOptions,
      );
      running.push(writer);
      return writer;
    },
    async weights(arn = lab.workload.listenerArn) {
      const byArn = await forwardPercentages(clients.elbv2, arn);
      return Object.fromEntries(
        Object.entries(byArn).map(([tg, p]) => [/targetgroup\/([^/]+)\//.exec(tg)?.[1] ?? tg, p]),
      );
    },
    async reset() {
      await stopTraffic();
      await resetMoto(moto);
      proxy.reset();
      gh?.reset();
      workload = await seedWorkload(options.seedThroughFront ? proxy.url : moto);
      if (options.traffic) lab.traffic(options.traffic);
    },
    async settle() {
      await stopTraffic();
      const problems = (proxy as Partial<{ problems: string[] }>).problems;
      if (problems) expect(problems).toEqual([]);
      if (gh) expect(gh.problems).toEqual([]);
    },
    async stop() {
      await stopTraffic();
      clients.destroy();
      await proxy.close();
      await gh?.close();
    },
  };
  async function stopTraffic(): Promise<void> {
    while (running.length) await running.pop()?.stop();
  }
  return lab;
}

/**
 * The lab for the calling test file: servers started before its first test and closed
 * after its last, a fresh workload before each test, traffic stopped and stand-ins
 * checked after each. Read its fields inside hooks and tests only.
 */
export function useEcsLab<P extends AwsProxy = AwsProxy>(options: EcsLabOptions<P> = {}): EcsLab<P> {
  let lab: EcsLab<P> | undefined;
  const live = () => required(lab, 'the lab (read it inside a test or hook)');
  beforeAll(async () => {
    lab = await startEcsLab(options);
  });
  afterAll(async () => {
    await lab?.stop();
  });
  beforeEach(() => live().reset());
  afterEach(() => live().settle());
  return {
    get moto() {
      return live().moto;
    },
    get clients() {
      return live().clients;
    },
    get proxy() {
      return live().proxy;
    },
    get gh() {
      return live().gh;
    },
    get workload() {
      return live().workload;
    },
    job: (runId, env) => live().job(runId, env),
    traffic: (sides, trafficOptions) => live().traffic(sides, trafficOptions),
    weights: (arn) => live().weights(arn),
    reset: () => live().reset(),
    settle: () => live().settle(),
    stop: () => live().stop(),
  };
}
