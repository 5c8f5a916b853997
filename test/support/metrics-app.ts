/**
 * A small HTTP service that behaves as the test says (error rate, latency) and exposes
 * what it served in the Prometheus text format, the way an instrumented app does:
 *
 *   http_requests_total{method="GET", code="200"}          counter
 *   http_request_duration_seconds_bucket{le="..."}         histogram (seconds)
 *
 * `startLoad` sends it real requests at a steady rate from this process, so the numbers
 * Prometheus scrapes are measured, not written. Used by the analysis tests and by the GKE
 * tests (Managed Prometheus serves the same API).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Behaviour {
  /** Fraction of requests answered with HTTP 500 (0..1). */
  errorRate: number;
  /** Time each request takes, in ms (before jitter). */
  latencyMs: number;
  /** Each request takes latencyMs ± up to this much, uniformly. Default 10% of latencyMs. */
  jitterMs?: number;
}

/** Histogram buckets (seconds): fine where canary tests put their latencies. */
export const BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2.5, 5,
];

export interface MetricsApp {
  readonly name: string;
  /** host:port, as a scrape target. */
  readonly address: string;
  readonly url: string;
  /** What the next requests do; change it at any time. */
  behaviour: Behaviour;
  /** What it has answered so far. */
  readonly served: { total: number; errors: number };
  /** The metrics page as Prometheus would read it now. */
  exposition(): string;
  close(): Promise<void>;
}

export async function startMetricsApp(name: string, behaviour: Behaviour): Promise<MetricsApp> {
  const counts = new Map<string, number>(); // status code → requests
  const buckets = new Array<number>(BUCKETS.length).fill(0);
  let sum = 0;
  let count = 0;
  const served = { total: 0, errors: 0 };
  const state = { behaviour };

  function observe(code: number, seconds: number): void {
    counts.set(String(code), (counts.get(String(code)) ?? 0) + 1);
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) buckets[i] = (buckets[i] as number) + 1;
    });
    sum += seconds;
    count++;
    served.total++;
    if (code >= 500) served.errors++;
  }

  function exposition(): string {
    const lines = [
      '# HELP http_requests_total Requests served, by status code.',
      '# TYPE http_requests_total counter',
      ...[...counts.entries()].sort().map(([code, n]) => `http_requests_total{method="GET",code="${code}"} ${n}`),
      '# HELP http_request_duration_seconds Time to answer a request.',
      '# TYPE http_request_duration_seconds histogram',
      ...BUCKETS.map((le, i) => `http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`),
      `http_request_duration_seconds_bucket{le="+Inf"} ${count}`,
      `http_request_duration_seconds_sum ${sum}`,
      `http_request_duration_seconds_count ${count}`,
    ];
    return `${lines.join('\n')}\n`;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(exposition());
      return;
    }
    const started = performance.now();
    const { errorRate, latencyMs, jitterMs = latencyMs * 0.1 } = state.behaviour;
    const delay = Math.max(0, latencyMs + (Math.random() * 2 - 1) * jitterMs);
    const code = Math.random() < errorRate ? 500 : 200;
    setTimeout(() => {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(code === 200 ? 'ok\n' : 'boom\n');
      observe(code, (performance.now() - started) / 1000);
    }, delay);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: Behaviour) {
      state.behaviour = b;
    },
    served,
    exposition,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Load {
  /** Requests sent and answered so far (any status), and those that never got an answer. */
  readonly answered: number;
  readonly lost: number;
  stop(): Promise<void>;
}

/** Sends `rps` requests a second to the app, evenly spread, until stopped. */
export function startLoad(app: MetricsApp, rps: number): Load {
  const tickMs = 50;
  let owed = 0;
  let answered = 0;
  let lost = 0;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    owed += (rps * tickMs) / 1000;
    while (owed >= 1) {
      owed -= 1;
      const p: Promise<void> = fetch(`${app.url}/work`)
        .then(async (res) => {
          await res.arrayBuffer();
          answered++;
        })
        .catch(() => {
          lost++;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }
  }, tickMs);
  return {
    get answered() {
      return answered;
    },
    get lost() {
      return lost;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
    },
  };
}
