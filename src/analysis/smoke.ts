/**
 * Smoke checks: HTTP requests against the new side only, before it gets any production
 * traffic (the analysis spec's `smoke:` section). Each check has a method, a path, the
 * status it expects, optionally a body match or a JSON path condition, headers, a timeout
 * and retries. The target supplies the base URL that reaches only the new side (an ECS
 * test listener rule or port, a GKE preview Service or header-matched route rule).
 */
import { systemClock, type Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { followPath, parseJsonPath, type PathStep } from './web.js';

export interface SmokeCheck {
  name: string;
  method: 'GET' | 'HEAD' | 'POST';
  /** Path (and query) appended to the side's base URL. */
  path: string;
  /** Accepted statuses. Default [200]. */
  status: number[];
  bodyContains?: string;
  json?: { path: string; steps: PathStep[]; equals?: string | number | boolean; exists?: boolean };
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Attempts after the first failure. */
  retries: number;
}

/**
 * The header that routes a smoke request to the new side: the deploy actions add a
 * listener rule (ECS) or an HTTPRoute rule (GKE) matching it, with the rollout's id as the
 * value, for the time of the checks. Nothing else sends it.
 */
export const SMOKE_HEADER = 'x-platform-actions-smoke';

export interface SmokeSpec {
  checks: SmokeCheck[];
  /** Base URL the checks are sent to (the action's smoke-url input wins); absent: the action's default. */
  url?: string;
  /** Between attempts of a check. */
  retryDelayMs: number;
}

export interface SmokeResult {
  name: string;
  passed: boolean;
  attempts: number;
  /** What the last attempt saw, in one sentence. */
  detail: string;
}

const CHECK_KEYS = [
  'name',
  'method',
  'path',
  'status',
  'body-contains',
  'json',
  'headers',
  'body',
  'timeout',
  'retries',
];

function fail(where: string, what: string, hint: string): never {
  throw new UserError(`In the analysis spec, smoke.${where} ${what}.`, hint);
}

/** Reads the spec's `smoke:` value (already parsed YAML). */
export function buildSmokeSpec(raw: unknown): SmokeSpec {
  const top = (Array.isArray(raw) ? { checks: raw } : raw) as Record<string, unknown> | null;
  if (!top || typeof top !== 'object')
    fail('', 'must be a list of checks or a mapping with checks:', 'For example smoke: [{ path: /health }].');
  for (const k of Object.keys(top))
    if (!['checks', 'retry-delay', 'timeout', 'retries', 'url'].includes(k))
      fail(k, 'is not a smoke setting', 'Use checks, url, timeout, retries, retry-delay.');
  const url = top.url === undefined ? undefined : checkSmokeUrl(String(top.url), 'smoke.url in the analysis spec');
  const defaults = {
    timeoutMs: top.timeout === undefined ? 5000 : parseDuration(String(top.timeout), 'smoke.timeout'),
    retries: top.retries === undefined ? 2 : Number(top.retries),
  };
  if (!Number.isInteger(defaults.retries) || defaults.retries < 0 || defaults.retries > 20)
    fail('retries', 'must be a whole number from 0 to 20', 'For example retries: 3.');
  const checks = top.checks;
  if (!Array.isArray(checks) || checks.length === 0)
    fail('checks', 'must list at least one check', 'For example checks: [{ path: /health, status: 200 }].');
  return {
    ...(url ? { url } : {}),
    retryDelayMs:
      top['retry-delay'] === undefined ? 2000 : parseDuration(String(top['retry-delay']), 'smoke.retry-delay'),
    checks: checks.map((c, i) => buildCheck(c, i, defaults)),
  };
}

const notAUrl = (where: string, text: string): UserError =>
  new UserError(
    `${where} is '${text}', not a URL.`,
    'Give the base URL that reaches the service, e.g. https://chat.example.com or http://10.0.1.20:8080.',
  );

const urlNotAccepted = (where: string, text: string): UserError =>
  new UserError(
    `${where} is '${text}': only an http(s) URL without credentials, query or fragment is accepted.`,
    'Give the base URL alone (e.g. https://chat.example.com); each check adds its path, and headers carry any token.',
  );

/** An http(s) base URL without credentials, query or fragment (the checks' paths are appended). */
export function checkSmokeUrl(text: string, where: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw notAUrl(where, text);
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.username || u.password || u.search || u.hash) {
    throw urlNotAccepted(where, text);
  }
  return text.replace(/\/+$/, '');
}

function buildCheck(raw: unknown, i: number, defaults: { timeoutMs: number; retries: number }): SmokeCheck {
  const at = `checks[${i}]`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    fail(at, 'must be a mapping', 'For example { name: health, path: /health }.');
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c))
    if (!CHECK_KEYS.includes(k)) fail(`${at}.${k}`, 'is not a check field', `Use: ${CHECK_KEYS.join(', ')}.`);
  const path = String(c.path ?? '');
  if (!path.startsWith('/'))
    fail(
      `${at}.path`,
      `is '${path}', not a path starting with /`,
      'The base URL of the new side is supplied by the rollout; write only the path, e.g. /health.',
    );
  const method = String(c.method ?? 'GET').toUpperCase();
  if (!['GET', 'HEAD', 'POST'].includes(method))
    fail(
      `${at}.method`,
      `is '${method}'`,
      'Smoke checks use GET, HEAD or POST (never anything that changes data you cannot lose).',
    );
  const status = (Array.isArray(c.status) ? c.status : [c.status ?? 200]).map(Number);
  if (status.some((s) => !Number.isInteger(s) || s < 100 || s > 599))
    fail(`${at}.status`, 'must be HTTP status codes', 'For example status: 200 or status: [200, 204].');
  let json: SmokeCheck['json'];
  if (c.json !== undefined) {
    const j = c.json as Record<string, unknown>;
    if (!j || typeof j !== 'object' || typeof j.path !== 'string')
      fail(`${at}.json`, 'needs a path', 'For example json: { path: $.status, equals: ok }.');
    const equals = j.equals as string | number | boolean | undefined;
    json = {
      path: j.path,
      steps: parseJsonPath(j.path, `smoke.${at}.json.path`),
      ...(equals !== undefined ? { equals } : { exists: true }),
    };
  }
  const headers = (c.headers ?? {}) as Record<string, unknown>;
  const retries = c.retries === undefined ? defaults.retries : Number(c.retries);
  return {
    name: String(c.name ?? path),
    method: method as SmokeCheck['method'],
    path,
    status,
    ...(c['body-contains'] !== undefined ? { bodyContains: String(c['body-contains']) } : {}),
    ...(json ? { json } : {}),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
    ...(c.body !== undefined ? { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) } : {}),
    timeoutMs: c.timeout === undefined ? defaults.timeoutMs : parseDuration(String(c.timeout), `smoke.${at}.timeout`),
    retries,
  };
}

async function attempt(
  check: SmokeCheck,
  baseUrl: string,
  extraHeaders: Record<string, string>,
  doFetch: typeof fetch,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(check.timeoutMs);
  let res: Response;
  try {
    res = await doFetch(new URL(check.path, baseUrl.replace(/\/?$/, '/')).toString().replace(/\/\/(?=[^/]*$)/, '/'), {
      method: check.method,
      headers: {
        'user-agent': 'platform-actions-smoke',
        ...extraHeaders,
        ...check.headers,
        ...(check.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(check.body !== undefined ? { body: check.body } : {}),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    return timeout.aborted
      ? `no answer within ${check.timeoutMs / 1000}s`
      : `unreachable (${(err as { cause?: { code?: string; message?: string } }).cause?.code ?? (err as { cause?: { message?: string } }).cause?.message ?? errorMessage(err)})`;
  }
  const text = check.method === 'HEAD' ? '' : await res.text();
  if (!check.status.includes(res.status))
    return `HTTP ${res.status}, expected ${check.status.join(' or ')}${text ? `: ${text.slice(0, 120).replace(/\s+/g, ' ')}` : ''}`;
  if (check.bodyContains !== undefined && !text.includes(check.bodyContains))
    return `HTTP ${res.status}, but the body does not contain '${check.bodyContains}'`;
  if (check.json) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return `HTTP ${res.status}, but the body is not JSON`;
    }
    let found: unknown;
    try {
      found = followPath(doc, check.json.steps, check.json.path);
    } catch (err) {
      return errorMessage(err);
    }
    if (check.json.exists && (found === undefined || found === null)) return `${check.json.path} is missing`;
    if (check.json.equals !== undefined && String(found) !== String(check.json.equals))
      return `${check.json.path} is ${JSON.stringify(found)}, expected ${JSON.stringify(check.json.equals)}`;
  }
  return undefined;
}

/**
 * Runs every check against `baseUrl` (the new side only), each retried up to its
 * `retries`; returns every result. Passes only when all pass.
 */
export async function runSmokeChecks(
  spec: SmokeSpec,
  baseUrl: string,
  options: {
    headers?: Record<string, string>;
    fetch?: typeof fetch;
    clock?: Clock;
    signal?: AbortSignal;
    log?: (line: string) => void;
  } = {},
): Promise<{ passed: boolean; results: SmokeResult[] }> {
  const clock = options.clock ?? systemClock;
  const results: SmokeResult[] = [];
  for (const check of spec.checks) {
    let problem: string | undefined;
    let n = 0;
    for (; n <= check.retries; n++) {
      if (n > 0) await clock.sleep(spec.retryDelayMs, options.signal);
      problem = await attempt(check, baseUrl, options.headers ?? {}, options.fetch ?? fetch, options.signal);
      if (!problem) break;
    }
    const attempts = Math.min(n + 1, check.retries + 1);
    results.push({
      name: check.name,
      passed: !problem,
      attempts,
      detail: problem ?? `${check.method} ${check.path}: passed`,
    });
    options.log?.(`smoke ${check.name}: ${problem ? `failed after ${attempts} attempt(s): ${problem}` : 'passed'}`);
  }
  return { passed: results.every((r) => r.passed), results };
}
