/**
 * The Prometheus HTTP API as a metric provider: `/api/v1/query` for a window's value and
 * `/api/v1/query_range` for its samples. Works with any server that speaks the API:
 * Prometheus itself, Google Managed Prometheus (base URL
 * https://monitoring.googleapis.com/v1/projects/PROJECT/location/global/prometheus with
 * an OAuth access token), Thanos, Mimir, VictoriaMetrics.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import type { MetricProvider, MetricQuery, MetricResult } from './types.js';

export interface PrometheusOptions {
  /** Base URL: the part before `/api/v1`, e.g. http://prometheus:9090. */
  url: string;
  /** Bearer token, or a function returning a fresh one per request (tokens that expire). */
  token?: string | (() => Promise<string>);
  /** Extra request headers, e.g. X-Scope-OrgID for Mimir. */
  headers?: Record<string, string>;
  /** Name specs use in `provider:`. Default 'prometheus'. */
  name?: string;
  /** Per-request timeout (ms). Default 30000. */
  timeoutMs?: number;
  /** Attempts for answers worth retrying (unreachable, 429, 5xx). Default 3. */
  attempts?: number;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** One series as the API returns it. */
interface Series {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

interface ApiBody {
  status?: 'success' | 'error';
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: unknown };
  errorType?: string;
  error?: string;
}

/** A failure worth another attempt: connection refused or reset, timeouts, 429, 5xx. */
export class TransientPrometheusError extends Error {
  override name = 'TransientPrometheusError';
}

export interface PrometheusProvider extends MetricProvider {
  readonly url: string;
  /** One instant query: the single series' value at `time`, or undefined when empty / NaN. */
  instant(query: string, time: Date, signal?: AbortSignal): Promise<number | undefined>;
  /** One range query: the single series' values from `start` to `end` every `stepSeconds`. */
  range(query: string, start: Date, end: Date, stepSeconds: number, signal?: AbortSignal): Promise<number[]>;
}

export function normalisePrometheusUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new UserError(
      `The Prometheus URL '${url}' is not a URL.`,
      'Write the base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(
      `The Prometheus URL '${url}' must start with http:// or https://.`,
      'Write the base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
    );
  }
  if (parsed.username || parsed.password) {
    throw new UserError(
      'The Prometheus URL must not contain credentials.',
      'Pass a bearer token or headers instead, so they are kept secret.',
    );
  }
  parsed.search = '';
  parsed.hash = '';
  return parsed
    .toString()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1(\/query(_range)?)?$/, '');
}

function seconds(date: Date): string {
  return (date.getTime() / 1000).toFixed(3);
}

function parseNumber(text: string): number {
  // The API writes NaN, +Inf and -Inf as text; Number() reads "NaN" but not "+Inf".
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

const queryRefused = (base: string, res: Response, body: ApiBody | undefined): UserError =>
  new UserError(
    `Prometheus at ${base} refused the query (HTTP ${res.status}${body?.error ? `: ${body.error}` : ''}).`,
    'Check the bearer token or headers. For Google Managed Prometheus the identity needs roles/monitoring.viewer on the project and a fresh access token.',
  );

const noPrometheusApi = (base: string, path: '/api/v1/query' | '/api/v1/query_range'): UserError =>
  new UserError(
    `There is no Prometheus HTTP API at ${base} (HTTP 404 for ${path}).`,
    'Write the base URL without /api/v1, e.g. http://prometheus:9090, or https://monitoring.googleapis.com/v1/projects/PROJECT_ID/location/global/prometheus for Managed Prometheus.',
  );

const tooManySeries = (result: Series[], shown: string, query: string): UserError =>
  new UserError(
    `The Prometheus query returned ${result.length} series (${shown}${result.length > 3 ? ', ...' : ''}); the analysis needs one. Query: ${query}`,
    'Aggregate it to one series, e.g. wrap it in sum(...) or use sum by () (...), and select one side with the {{label}} placeholders.',
  );

export function createPrometheusProvider(options: PrometheusOptions): PrometheusProvider {
  const base = normalisePrometheusUrl(options.url);
  const name = options.name ?? 'prometheus';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const attempts = options.attempts ?? 3;
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? fetch;

  async function headers(): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'platform-actions',
      ...(options.headers ?? {}),
    };
    if (options.token !== undefined) {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      if (token) h.authorization = `Bearer ${token}`;
    }
    return h;
  }

  async function call(
    path: '/api/v1/query' | '/api/v1/query_range',
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ApiBody['data']> {
    const url = `${base}${path}?${new URLSearchParams(params).toString()}`;
    const query = params.query as string;
    const once = async (): Promise<ApiBody['data']> => {
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await doFetch(url, {
          headers: await headers(),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
          throw new UserError(
            `The Prometheus host in ${base} does not resolve (${code}).`,
            'Check the Prometheus URL: the runner must be able to reach it.',
          );
        }
        if (timeout.aborted)
          throw new TransientPrometheusError(`Prometheus at ${base} did not answer within ${timeoutMs / 1000}s`);
        throw new TransientPrometheusError(`Prometheus at ${base} is unreachable (${code ?? errorMessage(err)})`);
      }
      const text = await res.text();
      let body: ApiBody | undefined;
      try {
        body = JSON.parse(text) as ApiBody;
      } catch {
        body = undefined;
      }
      if (res.status === 401 || res.status === 403) {
        throw queryRefused(base, res, body);
      }
      if (res.status === 404) {
        throw noPrometheusApi(base, path);
      }
      if (res.status === 400 || res.status === 422) {
        const kind = body?.errorType ? ` (${body.errorType})` : '';
        throw new UserError(
          `Prometheus rejected the query${kind}: ${body?.error ?? text.slice(0, 300)}. Query: ${query}`,
          'Fix the PromQL in the analysis spec; try it in the Prometheus UI with the placeholders filled in.',
        );
      }
      if (res.status === 429 || res.status >= 500) {
        throw new TransientPrometheusError(
          `Prometheus at ${base} answered HTTP ${res.status}${body?.error ? `: ${body.error}` : ''}`,
        );
      }
      if (!res.ok || !body || body.status !== 'success' || !body.data) {
        throw new Error(`Prometheus at ${base} gave an unexpected answer (HTTP ${res.status}): ${text.slice(0, 200)}`);
      }
      return body.data;
    };
    return retry(once, {
      attempts,
      isRetryable: (err) => err instanceof TransientPrometheusError,
      baseDelayMs: 500,
      maxDelayMs: 4000,
      clock,
      signal,
    });
  }

  function single(result: Series[], query: string): Series | undefined {
    if (result.length > 1) {
      const shown = result
        .slice(0, 3)
        .map(
          (s) =>
            `{${Object.entries(s.metric)
              .map(([k, v]) => `${k}="${v}"`)
              .join(', ')}}`,
        )
        .join(', ');
      throw tooManySeries(result, shown, query);
    }
    return result[0];
  }

  async function instant(query: string, time: Date, signal?: AbortSignal): Promise<number | undefined> {
    const data = await call('/api/v1/query', { query, time: seconds(time) }, signal);
    if (!data) return undefined;
    let text: string | undefined;
    if (data.resultType === 'scalar') text = (data.result as [number, string])[1];
    else if (data.resultType === 'vector') text = single(data.result as Series[], query)?.value?.[1];
    else
      throw new UserError(
        `The Prometheus query returned a ${data.resultType}, not a number. Query: ${query}`,
        'Write a query that returns one number (an instant vector of one series, or a scalar).',
      );
    if (text === undefined) return undefined;
    const value = parseNumber(text);
    return Number.isNaN(value) ? undefined : value;
  }

  async function range(
    query: string,
    start: Date,
    end: Date,
    stepSeconds: number,
    signal?: AbortSignal,
  ): Promise<number[]> {
    if (start.getTime() > end.getTime()) return [];
    const data = await call(
      '/api/v1/query_range',
      { query, start: seconds(start), end: seconds(end), step: `${stepSeconds}s` },
      signal,
    );
    if (!data) return [];
    if (data.resultType !== 'matrix') {
      throw new UserError(
        `The Prometheus range query returned a ${data.resultType}, not a series. Query: ${query}`,
        'Write a query that returns one series.',
      );
    }
    const series = single(data.result as Series[], query);
    return (series?.values ?? []).map(([, v]) => parseNumber(v)).filter((v) => !Number.isNaN(v));
  }

  return {
    name,
    url: base,
    instant,
    range,
    async query(q: MetricQuery, signal?: AbortSignal): Promise<MetricResult> {
      const need = q.need ?? 'both';
      // Samples start one step after the window opens, so the first covers only the window.
      const firstSample = new Date(q.window.start.getTime() + q.stepSeconds * 1000);
      const [value, samples] = await Promise.all([
        need === 'samples' ? Promise.resolve(undefined) : instant(q.query, q.window.end, signal),
        need === 'value' ? Promise.resolve([]) : range(q.query, firstSample, q.window.end, q.stepSeconds, signal),
      ]);
      return { value, samples };
    },
  };
}
