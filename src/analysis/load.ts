/**
 * Synthetic load for quiet services: during each bake, a bounded stream of requests from
 * the runner to the new side and, equally, to stable, so that `min-count` is reached
 * where real users are too few. Hard caps hold whatever the spec asks: a rate per side
 * (LOAD_CAPS.rps), a total for the whole rollout, a number in flight. It stops at once
 * when the bake ends, the rollout rolls back or the job is cancelled (in-flight requests
 * are aborted), and it counts what it sent, so the report can say how much of the judged
 * traffic was synthetic.
 *
 * `LoadGenerator` is the seam: `boundedLoad` is a small scheduler over fetch, kept behind
 * it so that a load generator library can take its place.
 *
 * Not wired into the deploy actions yet (no `load:` key in the analysis spec): see
 * docs/analysis.md.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import type { Analysis, BakeOptions, BakeResult, Subjects } from './types.js';

/** The most any spec may ask for: per side per second, in flight per side, per rollout. */
export const LOAD_CAPS = { rps: 50, concurrency: 20, totalRequests: 100_000 } as const;

export interface LoadSpec {
  /** Requests per second to each side. */
  rps: number;
  /** Requests in flight per side at most. */
  concurrency: number;
  /** Requests (all sides, all bakes) this rollout may send at most. */
  totalRequests: number;
  /** Paths, taken in turn. */
  paths: string[];
  headers: Record<string, string>;
  timeoutMs: number;
}

const KEYS = ['rps', 'max-concurrency', 'max-requests', 'paths', 'headers', 'timeout'];

function fail(where: string, what: string, hint: string): never {
  throw new UserError(`In the analysis spec, load.${where} ${what}.`, hint);
}

/** Reads a `load:` value (already parsed YAML), refusing anything above the caps. */
export function buildLoadSpec(raw: unknown): LoadSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    fail('', 'must be a mapping', 'For example load: { rps: 5, paths: [/health] }.');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(k, 'is not a load setting', `Use: ${KEYS.join(', ')}.`);
  const num = (key: string, dflt: number, max: number) => {
    const v = o[key] === undefined ? dflt : Number(o[key]);
    if (!Number.isFinite(v) || v <= 0 || v > max || (key !== 'rps' && !Number.isInteger(v)))
      fail(
        key,
        `must be a number above 0 and at most ${max}`,
        `The cap keeps a mistake from becoming a load test of production; ${max} is the most.`,
      );
    return v;
  };
  const paths =
    o.paths === undefined
      ? ['/']
      : Array.isArray(o.paths)
        ? o.paths.map(String)
        : fail('paths', 'must be a list', 'For example paths: [/health, /api/config].');
  if (paths.length === 0 || paths.some((p) => !p.startsWith('/')))
    fail('paths', 'must list paths starting with /', 'Read-only paths only: /health, /api/config.');
  const headers = (o.headers ?? {}) as Record<string, unknown>;
  return {
    rps: num('rps', 5, LOAD_CAPS.rps),
    concurrency: num('max-concurrency', 4, LOAD_CAPS.concurrency),
    totalRequests: num('max-requests', 10_000, LOAD_CAPS.totalRequests),
    paths,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
    timeoutMs: o.timeout === undefined ? 5000 : parseDuration(String(o.timeout), 'load.timeout'),
  };
}

export interface LoadTarget {
  /** canary or stable: counted apart. */
  side: string;
  baseUrl: string;
  /** Headers that route to this side (the smoke header for the new side). */
  headers?: Record<string, string>;
}

export interface SideCounts {
  sent: number;
  /** 2xx and 3xx answers. */
  ok: number;
  /** Other answers, timeouts and connection failures. */
  failed: number;
}

export interface LoadGenerator {
  /** Sends load to every target for `durationMs` or until the signal aborts; resolves when all its requests ended. */
  run(targets: LoadTarget[], durationMs: number, signal?: AbortSignal): Promise<void>;
  /** Everything sent so far in this rollout, per side. */
  counts(): Record<string, SideCounts>;
  /** Whether `totalRequests` was reached (nothing more is sent). */
  readonly exhausted: boolean;
}

/**
 * A scheduler over fetch: request n of a side starts at n / rps seconds (never earlier),
 * skipped when `concurrency` are already in flight for that side, and nothing starts
 * once the rollout's total is reached or the signal aborts.
 */
export function boundedLoad(spec: LoadSpec, options: { fetch?: typeof fetch; clock?: Clock } = {}): LoadGenerator {
  const doFetch = options.fetch ?? fetch;
  const clock = options.clock ?? systemClock;
  const totals: Record<string, SideCounts> = {};
  let sentAll = 0;
  const side = (name: string) => (totals[name] ??= { sent: 0, ok: 0, failed: 0 });

  async function one(target: LoadTarget, path: string, stop: AbortSignal): Promise<void> {
    const counts = side(target.side);
    counts.sent++;
    sentAll++;
    try {
      const res = await doFetch(
        new URL(path, target.baseUrl.replace(/\/?$/, '/')).toString().replace(/\/\/(?=[^/]*$)/, '/'),
        {
          headers: { 'user-agent': 'platform-actions-load', ...spec.headers, ...(target.headers ?? {}) },
          signal: AbortSignal.any([stop, AbortSignal.timeout(spec.timeoutMs)]),
        },
      );
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 400) counts.ok++;
      else counts.failed++;
    } catch {
      counts.failed++;
    }
  }

  async function drive(target: LoadTarget, until: number, stop: AbortSignal): Promise<void> {
    const start = clock.now();
    const inFlight = new Set<Promise<void>>();
    for (let n = 0; ; n++) {
      const at = start + (n * 1000) / spec.rps;
      if (at >= until || stop.aborted || sentAll >= spec.totalRequests) break;
      const wait = at - clock.now();
      if (wait > 0) {
        try {
          await clock.sleep(wait, stop);
        } catch {
          break;
        }
      }
      if (stop.aborted || sentAll >= spec.totalRequests) break;
      if (inFlight.size >= spec.concurrency) continue;
      const p = one(target, spec.paths[n % spec.paths.length] as string, stop).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }

  return {
    async run(targets, durationMs, signal) {
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      if (signal?.aborted) return;
      signal?.addEventListener('abort', onAbort, { once: true });
      const until = clock.now() + durationMs;
      try {
        await Promise.all(targets.map((t) => drive(t, until, stop.signal)));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    counts: () => JSON.parse(JSON.stringify(totals)) as Record<string, SideCounts>,
    get exhausted() {
      return sentAll >= spec.totalRequests;
    },
  };
}

/**
 * The analysis with load during every bake: the generator runs beside the bake and is
 * stopped the moment the bake returns (or its signal aborts: rollback, cancel). After
 * each bake `onBake` hears what was sent so far.
 */
export function withLoad(
  analysis: Analysis,
  load: LoadGenerator,
  targetsFor: (subjects: Subjects) => LoadTarget[],
  onBake: (counts: Record<string, SideCounts>) => void,
): Analysis {
  return {
    intervalMs: analysis.intervalMs,
    failureLimit: analysis.failureLimit,
    errorLimit: analysis.errorLimit,
    run: (subjects, window, signal) => analysis.run(subjects, window, signal),
    async bake(options: BakeOptions): Promise<BakeResult> {
      const stop = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
      const running = load.run(targetsFor(options.subjects), options.durationMs, signal);
      try {
        return await analysis.bake(options);
      } finally {
        stop.abort();
        await running;
        onBake(load.counts());
      }
    },
  };
}
