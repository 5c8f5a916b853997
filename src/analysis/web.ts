/**
 * Any HTTP metrics API as a metric provider (`provider: web`): Datadog, New Relic, an
 * in-house endpoint. A metric's query is a small request description, one `key: value`
 * per line:
 *
 *   url: https://api.datadoghq.com/api/v1/query?from=${start}&to=${end}&query=...
 *   method: GET                          (or POST, with body:)
 *   header: DD-API-KEY: ${env.DD_API_KEY}
 *   value: $.series[0].pointlist[-1][1]  (a JSON path to the window's number)
 *   count: $.series[1].pointlist[-1][1]  (optional: what the value stands on, for min-count)
 *   samples: $.series[0].pointlist       (optional: numbers, or [time, value] pairs)
 *
 * `${start}` / `${end}` are the window in epoch seconds, `${start_ms}` / `${end_ms}` in
 * milliseconds, `${start_iso}` / `${end_iso}` as ISO 8601; `${env.NAME}` reads a variable
 * of the step's environment (where a workflow puts a secret), allowed in headers and body
 * only, and never printed: messages show the request as written, not as sent.
 * `{{label}}` placeholders are filled by analysis before the provider sees the text.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import type { MetricProvider, MetricQuery, MetricResult } from './types.js';

export interface WebProviderOptions {
  /** Name specs use in `provider:`. Default 'web'. */
  name?: string;
  /** Where `${env.NAME}` is read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout (ms). Default 15000. */
  timeoutMs?: number;
  /** Attempts for answers worth retrying (unreachable, timeout, 429, 5xx). Default 3. */
  attempts?: number;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** A request as a query describes it. */
export interface WebRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Array<[string, string]>;
  body: string | undefined;
  value: PathStep[];
  valuePath: string;
  count: PathStep[] | undefined;
  countPath: string | undefined;
  samples: PathStep[] | undefined;
  samplesPath: string | undefined;
}

export type PathStep = string | number;

/** A failure worth another attempt. */
export class TransientWebError extends Error {
  override name = 'TransientWebError';
}

const KEYS = ['url', 'method', 'header', 'body', 'value', 'count', 'samples'] as const;

/** `$.a.b[0]['c d'][-1]` → ['a', 'b', 0, 'c d', -1]. */
export function parseJsonPath(path: string, what: string): PathStep[] {
  const steps: PathStep[] = [];
  let rest = path.trim();
  if (!rest.startsWith('$'))
    throw new UserError(
      `${what} '${path}' is not a JSON path.`,
      "Start it with $, e.g. $.series[0].pointlist[-1][1] or $.results[0]['average.duration'].",
    );
  rest = rest.slice(1);
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z_$][\w$-]*)/.exec(rest))) steps.push(m[1] as string);
    else if ((m = /^\[(-?\d+)\]/.exec(rest))) steps.push(Number(m[1]));
    else if ((m = /^\['([^']*)'\]/.exec(rest)) || (m = /^\["([^"]*)"\]/.exec(rest))) steps.push(m[1] as string);
    else
      throw new UserError(
        `${what} '${path}' cannot be read at '${rest}'.`,
        "Use .name, ['name with dots'], [index] or [-1] for the last element.",
      );
    rest = rest.slice(m[0].length);
  }
  return steps;
}

/** Parses a web metric's query text (placeholders already filled). */
export function parseWebRequest(text: string, what = 'The web query'): WebRequest {
  const fields = new Map<string, string[]>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    const key = at > 0 ? line.slice(0, at).trim().toLowerCase() : '';
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new UserError(
        `${what} has the line '${line}', which is not one of ${KEYS.join(', ')} followed by ':'.`,
        'Write one key: value per line, e.g. url: https://..., value: $.data[0].value.',
      );
    }
    fields.set(key, [...(fields.get(key) ?? []), line.slice(at + 1).trim()]);
  }
  const one = (key: string): string | undefined => {
    const v = fields.get(key);
    if (v && v.length > 1)
      throw new UserError(`${what} gives ${key} ${v.length} times.`, `Give ${key} once (header may repeat).`);
    return v?.[0];
  };
  const url = one('url');
  if (!url) throw new UserError(`${what} has no url.`, 'Add a line url: https://... (the metrics API endpoint).');
  if (!/^https?:\/\/[^\s]+$/.test(url))
    throw new UserError(
      `${what}: url '${url}' is not an http(s) URL.`,
      'Write the full endpoint, e.g. https://api.datadoghq.com/api/v1/query?...',
    );
  if (/\$\{env\./.test(url))
    throw new UserError(
      `${what}: url uses \${env.…}; secrets go in headers or the body, where they are never printed.`,
      'Move the key into a header, e.g. header: DD-API-KEY: ${env.DD_API_KEY}.',
    );
  const method = (one('method') ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    throw new UserError(
      `${what}: method '${method}' is not GET or POST.`,
      'Metrics APIs are read with GET, or POST with a query body (New Relic NerdGraph).',
    );
  const body = one('body');
  if (body !== undefined && method === 'GET')
    throw new UserError(`${what} has a body but method GET.`, 'Add method: POST.');
  const headers = (fields.get('header') ?? []).map((h): [string, string] => {
    const at = h.indexOf(':');
    const name = at > 0 ? h.slice(0, at).trim() : '';
    if (!/^[A-Za-z0-9-]+$/.test(name))
      throw new UserError(
        `${what}: header '${h}' is not Name: value.`,
        'For example header: Api-Key: ${env.NEW_RELIC_API_KEY}.',
      );
    return [name, h.slice(at + 1).trim()];
  });
  const valuePath = one('value');
  if (!valuePath)
    throw new UserError(`${what} has no value path.`, 'Add a line value: $.path.to.the.number in the JSON answer.');
  const countPath = one('count');
  const samplesPath = one('samples');
  return {
    url,
    method,
    headers,
    body,
    valuePath,
    value: parseJsonPath(valuePath, `${what}: value`),
    countPath,
    count: countPath ? parseJsonPath(countPath, `${what}: count`) : undefined,
    samplesPath,
    samples: samplesPath ? parseJsonPath(samplesPath, `${what}: samples`) : undefined,
  };
}

const pathNotInAnswer = (step: string, walked: string, path: string, keys: string[]): UserError =>
  new UserError(
    `The answer has no '${step}' at ${walked} (path ${path}); there it has ${keys.length ? keys.join(', ') : 'no keys'}.`,
    'Fix the JSON path in the query against a real answer of the API.',
  );

/** Follows a path: undefined when an array is too short (no data), an error when an object lacks the key (a wrong path). */
export function followPath(doc: unknown, steps: PathStep[], path: string): unknown {
  let at: unknown = doc;
  let walked = '$';
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(at))
        throw new UserError(
          `The answer has no list at ${walked} (value path ${path}); it is ${describe(at)}.`,
          'Fix the JSON path in the query against a real answer of the API.',
        );
      const i = step < 0 ? at.length + step : step;
      if (i < 0 || i >= at.length) return undefined;
      at = at[i];
      walked += `[${step}]`;
    } else {
      if (!at || typeof at !== 'object' || Array.isArray(at))
        throw new UserError(
          `The answer has no object at ${walked} (path ${path}); it is ${describe(at)}.`,
          'Fix the JSON path in the query against a real answer of the API.',
        );
      if (!(step in (at as Record<string, unknown>))) {
        const keys = Object.keys(at as Record<string, unknown>).slice(0, 8);
        throw pathNotInAnswer(step, walked, path, keys);
      }
      at = (at as Record<string, unknown>)[step];
      walked += `.${step}`;
    }
  }
  return at;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? `a list of ${v.length}` : typeof v;
}

function toNumber(v: unknown, path: string): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || Number.isNaN(n))
    throw new UserError(
      `The value at ${path} is ${JSON.stringify(v).slice(0, 60)}, not a number.`,
      'Point the path at a number (for a [time, value] pair, add [1]).',
    );
  return n;
}

/** Fills the window's `${...}` and, where allowed, `${env.NAME}`. */
function fill(text: string, window: MetricQuery['window'], env: NodeJS.ProcessEnv | undefined, what: string): string {
  const s = window.start.getTime();
  const e = window.end.getTime();
  const values: Record<string, string> = {
    start: String(Math.floor(s / 1000)),
    end: String(Math.floor(e / 1000)),
    start_ms: String(s),
    end_ms: String(e),
    start_iso: window.start.toISOString(),
    end_iso: window.end.toISOString(),
  };
  return text.replace(/\$\{([A-Za-z_][\w.]*)\}/g, (_all, name: string) => {
    if (name.startsWith('env.')) {
      if (!env)
        throw new UserError(
          `${what} uses \${${name}} where secrets are not allowed.`,
          'Use ${env.NAME} in headers or the body only.',
        );
      const v = env[name.slice(4)];
      if (v === undefined || v === '')
        throw new UserError(
          `${what} uses \${${name}}, and the step has no such variable (or it is empty).`,
          `Pass it to the step: env: { ${name.slice(4)}: \${{ secrets.${name.slice(4)} }} }.`,
        );
      return v;
    }
    const v = values[name];
    if (v === undefined)
      throw new UserError(
        `${what} uses \${${name}}, which is not a window placeholder.`,
        'Use ${start}, ${end}, ${start_ms}, ${end_ms}, ${start_iso}, ${end_iso} or ${env.NAME}.',
      );
    return v;
  });
}

const requestRefused = (shown: string, res: Response): UserError =>
  new UserError(
    `${shown} refused the request (HTTP ${res.status}).`,
    'Check the key headers and that the secret they read (${env.NAME}) is passed to the step and may read metrics.',
  );

export function createWebProvider(options: WebProviderOptions = {}): MetricProvider {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const attempts = options.attempts ?? 3;
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? fetch;
  const name = options.name ?? 'web';

  return {
    name,
    async query(q: MetricQuery, signal?: AbortSignal): Promise<MetricResult> {
      const req = parseWebRequest(q.query);
      const shown = `${req.method} ${req.url.split('?')[0]}`;
      const url = fill(req.url, q.window, undefined, 'url');
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'platform-actions' };
      for (const [h, v] of req.headers) headers[h.toLowerCase()] = fill(v, q.window, env, `header ${h}`);
      const body = req.body === undefined ? undefined : fill(req.body, q.window, env, 'body');
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';

      const once = async (): Promise<unknown> => {
        const timeout = AbortSignal.timeout(timeoutMs);
        let res: Response;
        try {
          res = await doFetch(url, {
            method: req.method,
            headers,
            body,
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
        } catch (err) {
          if (signal?.aborted) throw err;
          const code = (err as { cause?: { code?: string } }).cause?.code;
          if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
            throw new UserError(
              `The metrics host of ${shown} does not resolve (${code}).`,
              'Check the url in the query: the runner must reach it.',
            );
          if (timeout.aborted) throw new TransientWebError(`${shown} did not answer within ${timeoutMs / 1000}s`);
          throw new TransientWebError(`${shown} is unreachable (${code ?? errorMessage(err)})`);
        }
        const text = await res.text();
        if (res.status === 401 || res.status === 403) {
          throw requestRefused(shown, res);
        }
        if (res.status === 429 || res.status >= 500)
          throw new TransientWebError(`${shown} answered HTTP ${res.status}`);
        if (!res.ok)
          throw new UserError(
            `${shown} answered HTTP ${res.status}: ${text.slice(0, 200)}`,
            'Fix the url, method or body of the query.',
          );
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new UserError(
            `${shown} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`,
            'Point url at the JSON API endpoint.',
          );
        }
      };
      const doc = await retry(once, {
        attempts,
        isRetryable: (err) => err instanceof TransientWebError,
        baseDelayMs: 500,
        maxDelayMs: 4000,
        clock,
        signal,
      });

      const value = toNumber(followPath(doc, req.value, req.valuePath), req.valuePath);
      // A count path that finds no data point means nothing was counted.
      const count = req.count
        ? (toNumber(followPath(doc, req.count, req.countPath as string), req.countPath as string) ?? 0)
        : undefined;
      let samples: number[] = [];
      if (req.samples) {
        const raw = followPath(doc, req.samples, req.samplesPath as string);
        if (raw !== undefined && raw !== null && !Array.isArray(raw))
          throw new UserError(
            `The answer at ${req.samplesPath} is ${describe(raw)}, not a list.`,
            'Point samples at a list of numbers or of [time, value] pairs.',
          );
        samples = ((raw as unknown[] | undefined) ?? [])
          .map((p) => toNumber(Array.isArray(p) ? p[p.length - 1] : p, req.samplesPath as string))
          .filter((n): n is number => n !== undefined);
      } else if (value !== undefined) samples = [value];
      return { value, samples, ...(count !== undefined ? { count } : {}) };
    },
  };
}
