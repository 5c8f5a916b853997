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
 * The analysis spec's `load:` key is read by `buildLoadSpec`; the deploy actions give the
 * per-side URLs and routing (src/actions/ecs-deploy/load.ts, src/actions/gke-deploy/load.ts).
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
  /** Base URLs that override the action's default for a side. */
  urls: { canary?: string; stable?: string };
}

const KEYS = ['rps', 'max-concurrency', 'max-requests', 'paths', 'headers', 'timeout', 'url'];

function baseUrl(value: unknown, where: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  let ok: boolean;
  try {
    ok = /^https?:$/.test(new URL(text).protocol);
  } catch {
    ok = false;
  }
  if (!ok) fail(where, 'must be an http(s) URL', 'For example url: https://webui.example.com.');
  return text;
}

/** `url: <both sides>` or `url: { new: ..., stable: ... }`. */
function parseUrls(raw: unknown): LoadSpec['urls'] {
  if (raw === undefined) return {};
  if (typeof raw === 'string') {
    const u = baseUrl(raw, 'url');
    return { canary: u, stable: u };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    fail(
      'url',
      'must be a URL or a mapping of new and stable',
      'For example url: { new: https://a, stable: https://b }.',
    );
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'new' && k !== 'stable') fail(`url.${k}`, 'is not a side', 'The sides are new and stable.');
  return {
    ...(o.new !== undefined ? { canary: baseUrl(o.new, 'url.new') } : {}),
    ...(o.stable !== undefined ? { stable: baseUrl(o.stable, 'url.stable') } : {}),
  };
}

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
  if (o.headers !== undefined && (!o.headers || typeof o.headers !== 'object' || Array.isArray(o.headers)))
    fail('headers', 'must be a mapping', 'For example headers: { Accept: application/json }.');
  const headers = (o.headers ?? {}) as Record<string, unknown>;
  return {
    rps: num('rps', 5, LOAD_CAPS.rps),
    concurrency: num('max-concurrency', 4, LOAD_CAPS.concurrency),
    totalRequests: num('max-requests', 10_000, LOAD_CAPS.totalRequests),
    paths,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
    timeoutMs: o.timeout === undefined ? 5000 : parseDuration(String(o.timeout), 'load.timeout'),
    urls: parseUrls(o.url),
  };
}

/**
 * The smoke header's value on a side's synthetic requests, and on the rule (listener rule,
 * HTTPRoute rule) that routes them to that side alone: `load-new-<id>`, `load-stable-<id>`.
 */
export const loadHeaderValue = (side: 'new' | 'stable', deploymentId: string) => `load-${side}-${deploymentId}`;

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
  /** What the last failed request saw (HTTP status or the connection error), for the log. */
  lastError?: string;
}

/** A bake's result with what the load sent during it, per side (the report shows it). */
export type LoadedBakeResult = BakeResult & { synthetic?: Record<string, SideCounts> };

/** What `after` adds to `before`, per side. */
export function countsSince(
  before: Record<string, SideCounts>,
  after: Record<string, SideCounts>,
): Record<string, SideCounts> {
  return Object.fromEntries(
    Object.entries(after).map(([side, a]) => {
      const b = before[side] ?? { sent: 0, ok: 0, failed: 0 };
      return [
        side,
        {
          sent: a.sent - b.sent,
          ok: a.ok - b.ok,
          failed: a.failed - b.failed,
          ...(a.lastError && a.failed > b.failed ? { lastError: a.lastError } : {}),
        },
      ];
    }),
  );
}

export interface LoadGenerator {
  /** Sends load to every target for `durationMs` or until the signal aborts; resolves when all its requests ended. */
  run(targets: LoadTarget[], durationMs: number, signal?: AbortSignal): Promise<void>;
  /** Everything sent so far in this rollout, per side. */
  counts(): Record<string, SideCounts>;
  /** Whether `totalRequests` was reached (nothing more is sent). */
  readonly exhausted: boolean;
}

function describeFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer within the timeout';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
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
      else {
        counts.failed++;
        counts.lastError = `HTTP ${res.status}`;
      }
    } catch (err) {
      counts.failed++;
      if (!stop.aborted) counts.lastError = describeFailure(err);
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

/** Where a bake's load goes, and what to undo after it (a header rule opened for it). */
export interface LoadRouting {
  targets: LoadTarget[];
  /** Called once the bake's load has stopped, also after a cancel. */
  release?: () => Promise<void>;
}

/**
 * The analysis with load during every bake: the generator runs beside the bake and is
 * stopped the moment the bake returns (or its signal aborts: rollback, cancel). After
 * each bake `onBake` hears what was sent so far, and the bake's result carries what was
 * sent during it (`synthetic`). `targetsFor` may set up routing for the bake (opened
 * before the load starts, released right after it stops): nothing is left between bakes.
 */
export function withLoad(
  analysis: Analysis,
  load: LoadGenerator,
  targetsFor: (
    subjects: Subjects,
    signal?: AbortSignal,
  ) => LoadTarget[] | LoadRouting | Promise<LoadTarget[] | LoadRouting>,
  onBake: (counts: Record<string, SideCounts>, bake: Record<string, SideCounts>) => void,
): Analysis {
  return {
    intervalMs: analysis.intervalMs,
    failureLimit: analysis.failureLimit,
    errorLimit: analysis.errorLimit,
    run: (subjects, window, signal) => analysis.run(subjects, window, signal),
    async bake(options: BakeOptions): Promise<LoadedBakeResult> {
      const before = load.counts();
      const asked = await targetsFor(options.subjects, options.signal);
      const routing: LoadRouting = Array.isArray(asked) ? { targets: asked } : asked;
      const stop = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
      const running = load.run(routing.targets, options.durationMs, signal);
      let synthetic: Record<string, SideCounts> | undefined;
      let result: BakeResult;
      try {
        result = await analysis.bake(options);
      } finally {
        stop.abort();
        await running;
        try {
          await routing.release?.();
        } finally {
          const after = load.counts();
          synthetic = countsSince(before, after);
          onBake(after, synthetic);
        }
      }
      return { ...result, synthetic };
    },
  };
}
