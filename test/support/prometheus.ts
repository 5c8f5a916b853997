/**
 * A real Prometheus (Debian package `prometheus`) on a free loopback port, scraping the
 * given targets every second, with its data in a temporary directory. `startMetricsLab`
 * adds the usual set-up: one test app per deployment, labelled the way Kubernetes service
 * discovery labels pods (`namespace`, `deployment`), each under steady load.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './global-setup.js';
import { startLoad, startMetricsApp, type Behaviour, type Load, type MetricsApp } from './metrics-app.js';

export interface ScrapeTarget {
  /** host:port serving /metrics. */
  address: string;
  /** Target labels Prometheus attaches to every series it scrapes there. */
  labels?: Record<string, string>;
}

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:40123. */
  url: string;
  scrapeIntervalSeconds: number;
  /** Waits until every target has been scraped successfully at least once. */
  waitForTargets(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function prometheusBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
  if (!found)
    throw new Error(
      'prometheus is not installed: apt-get install -y prometheus (it is listed in .ci/apt-packages.txt).',
    );
  return found;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export async function startPrometheus(options: {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds?: number;
}): Promise<PrometheusServer> {
  const interval = options.scrapeIntervalSeconds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'pa-prometheus-'));
  const config = [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${Math.max(1, interval)}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    '  - job_name: app',
    '    static_configs:',
    ...options.targets.flatMap((t) => [
      `      - targets: [${yamlString(t.address)}]`,
      ...(t.labels && Object.keys(t.labels).length
        ? ['        labels:', ...Object.entries(t.labels).map(([k, v]) => `          ${k}: ${yamlString(v)}`)]
        : []),
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    prometheusBinary(),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Never outlive the test process, even when it dies without running afterAll.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        process.removeListener('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });
  try {
    await waitForHttp(`${url}/-/ready`, 20_000);
    for (let i = 0; ; i++) {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
      if (i > 200) throw new Error(`Prometheus never became ready: HTTP ${res.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw new Error(`prometheus did not start:\n${stderr}`, { cause: err });
  }

  return {
    url,
    scrapeIntervalSeconds: interval,
    async waitForTargets(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        const body = (await (await fetch(`${url}/api/v1/targets`)).json()) as {
          data: { activeTargets: Array<{ health: string; scrapeUrl: string; lastError: string }> };
        };
        const targets = body.data.activeTargets;
        if (targets.length === options.targets.length && targets.every((t) => t.health === 'up')) return;
        last = targets.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('; ');
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`Prometheus targets not up after ${timeoutMs} ms: ${last}`);
    },
    stop,
  };
}

export interface LabDeployment {
  behaviour: Behaviour;
  /** Requests per second sent to it. */
  rps: number;
}

export interface MetricsLab {
  prometheus: PrometheusServer;
  apps: Record<string, MetricsApp>;
  loads: Record<string, Load>;
  namespace: string;
  /** The subject labels of one deployment, as a GKE target would supply them. */
  labels(deployment: string): { namespace: string; deployment: string };
  /** Stops the load (not the apps or Prometheus). */
  stopLoad(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One app per deployment, scraped by one Prometheus with `namespace` and `deployment`
 * target labels, each under steady in-process load that starts once Prometheus sees them.
 */
export async function startMetricsLab(options: {
  namespace?: string;
  deployments: Record<string, LabDeployment>;
  scrapeIntervalSeconds?: number;
}): Promise<MetricsLab> {
  const namespace = options.namespace ?? 'shop';
  const apps: Record<string, MetricsApp> = {};
  for (const [name, d] of Object.entries(options.deployments)) apps[name] = await startMetricsApp(name, d.behaviour);
  let prometheus: PrometheusServer;
  try {
    prometheus = await startPrometheus({
      scrapeIntervalSeconds: options.scrapeIntervalSeconds,
      targets: Object.values(apps).map((a) => ({ address: a.address, labels: { namespace, deployment: a.name } })),
    });
    await prometheus.waitForTargets();
  } catch (err) {
    await Promise.all(Object.values(apps).map((a) => a.close()));
    throw err;
  }
  const loads: Record<string, Load> = {};
  for (const [name, d] of Object.entries(options.deployments))
    if (d.rps > 0) loads[name] = startLoad(apps[name] as MetricsApp, d.rps);
  const stopLoad = async () => {
    await Promise.all(Object.values(loads).map((l) => l.stop()));
  };
  return {
    prometheus,
    apps,
    loads,
    namespace,
    labels: (deployment) => ({ namespace, deployment }),
    stopLoad,
    async stop() {
      await stopLoad();
      await prometheus.stop();
      await Promise.all(Object.values(apps).map((a) => a.close()));
    },
  };
}
