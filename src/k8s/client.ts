/**
 * A small Kubernetes REST client over node's https (and http, for `kubectl proxy`).
 * Not fetch: trusting a cluster's own CA, or presenting a client certificate, needs a TLS
 * agent per cluster, which fetch only offers through undici (not bundled here).
 *
 * `KubeClient.request` is the one place requests go through: credentials asked for per
 * request (so expiring tokens renew), throttling, 5xx and connection failures retried
 * with backoff, server warnings passed on, errors turned into `KubeApiError` carrying
 * the API server's Status. `resource()` gives the typed operations (resources.ts).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import type { KubeStatus } from './types.js';

/** What one request authenticates with. */
export interface KubeCredentials {
  /** Bearer token. */
  token?: string;
  /** PEM client certificate and key (kubeconfig client-certificate / exec plugins). */
  cert?: string;
  key?: string;
}

/** Where a cluster is and how to talk to it; from a kubeconfig or the GKE Container API. */
export interface KubeConnection {
  /** https://host[:port][/path], or http:// for a local `kubectl proxy`. */
  server: string;
  /** PEM of the CA(s) that sign the API server's certificate; absent: the system's roots. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  /** Name to check the server certificate against, when it differs from the server's host. */
  tlsServerName?: string;
  /** Asked before every request, so a token source can renew what expires. */
  credentials: () => Promise<KubeCredentials>;
  /** For messages: "kubeconfig ~/.kube/config, context prod", "GKE cluster p/l/c". */
  description: string;
  /** The context's namespace, when the kubeconfig names one. */
  namespace?: string;
}

/** A connection to an API server found some other way (GKE's Container API). */
export function connectionTo(options: {
  server: string;
  caPem?: string;
  token: () => Promise<string>;
  description: string;
  namespace?: string;
}): KubeConnection {
  const server = /^https?:\/\//.test(options.server) ? options.server : `https://${options.server}`;
  return {
    server,
    ca: options.caPem,
    credentials: async () => ({ token: await options.token() }),
    description: options.description,
    namespace: options.namespace,
  };
}

/** The API server refused or failed a request; `status` is its Status object. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly httpStatus: number,
    readonly status: KubeStatus,
  ) {
    super(`${method} ${path}: ${status.reason ?? `HTTP ${httpStatus}`}: ${status.message ?? ''}`.trim());
    this.name = 'KubeApiError';
  }

  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** The answer to a write made with a stale resourceVersion. */
export function isConflict(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.httpStatus === 409 && err.reason === 'Conflict';
}

export function isNotFound(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.httpStatus === 404;
}

export function isAlreadyExists(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.httpStatus === 409 && err.reason === 'AlreadyExists';
}

/** A request that never got an answer (refused, reset, timed out). */
export class KubeConnectionError extends Error {
  override name = 'KubeConnectionError';
  constructor(
    message: string,
    /** True when nothing reached the server, so even a create may be sent again. */
    readonly beforeSending: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. /apis/apps/v1/namespaces/default/deployments/web. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Default application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
  /** The answer is plain text (pod logs): returned as a string, not parsed. */
  text?: boolean;
}

export interface KubeClientOptions {
  /** Per-request timeout (ms). Default 30000. */
  timeoutMs?: number;
  /** Attempts for answers worth retrying (429, 5xx, connection failures). Default 4. */
  attempts?: number;
  clock?: Clock;
  /** Called with each Warning header the server sends (deprecations, dropped fields). */
  onWarning?: (warning: string) => void;
}

function retryable(method: string) {
  return (err: unknown): boolean => {
    if (err instanceof KubeConnectionError) return method !== 'POST' || err.beforeSending;
    if (!(err instanceof KubeApiError)) return false;
    if (err.httpStatus === 429) return true;
    // A create that failed with a 5xx may still have happened; let the caller look.
    return method !== 'POST' && [500, 502, 503, 504].includes(err.httpStatus);
  };
}

/** Warning: 299 - "text" → text. */
function warningText(header: string): string {
  const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(header);
  return m ? (m[1] as string).replace(/\\(.)/g, '$1') : header;
}

/** The server's TLS certificate does not chain to the CA the connection trusts. */
function untrustedCertificate(connection: KubeConnection, code: string, detail: string): UserError {
  return new UserError(
    `The Kubernetes API at ${connection.server} presented a certificate we do not trust (${code}: ${detail}).`,
    `The certificate must be signed by the cluster CA from ${connection.description}; check that the kubeconfig's certificate-authority(-data) or the cluster belongs to this server.`,
  );
}

export class KubeClient {
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly clock: Clock;
  private readonly base: URL;
  private agents = new Map<string, HttpAgent>();

  constructor(
    readonly connection: KubeConnection,
    private readonly options: KubeClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.attempts = options.attempts ?? 4;
    this.clock = options.clock ?? systemClock;
    this.base = new URL(connection.server);
  }

  /** Where requests go, for messages. */
  get server(): string {
    return this.connection.server;
  }

  private agent(creds: KubeCredentials): HttpAgent {
    const key = `${creds.cert ?? ''}\n${creds.key ?? ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent =
        this.base.protocol === 'http:'
          ? new HttpAgent({ keepAlive: true })
          : new HttpsAgent({
              keepAlive: true,
              ca: this.connection.ca,
              cert: creds.cert,
              key: creds.key,
              rejectUnauthorized: !this.connection.insecureSkipTlsVerify,
              servername: this.connection.tlsServerName,
            });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Sends one request (with retries) and returns the parsed JSON answer. */
  async request<T>(req: KubeRequest): Promise<T> {
    return retry(() => this.once<T>(req), {
      attempts: this.attempts,
      isRetryable: retryable(req.method),
      baseDelayMs: 300,
      maxDelayMs: 5000,
      clock: this.clock,
      signal: req.signal,
    });
  }

  private async once<T>(req: KubeRequest): Promise<T> {
    req.signal?.throwIfAborted();
    const creds = await this.connection.credentials();
    const url = new URL(this.base.pathname.replace(/\/$/, '') + req.path, this.base);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = {
      accept: req.text ? 'text/plain, application/json' : 'application/json',
      'user-agent': 'platform-actions',
    };
    if (body) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    if (creds.token) headers.authorization = `Bearer ${creds.token}`;
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const where = `${req.method} ${url.pathname}`;

    const { status, text, warnings } = await new Promise<{ status: number; text: string; warnings: string[] }>(
      (resolve, reject) => {
        const r = send(
          url,
          { method: req.method, headers, agent: this.agent(creds), signal: req.signal, timeout: this.timeoutMs },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const w = res.headers.warning;
              resolve({
                status: res.statusCode ?? 0,
                text: Buffer.concat(chunks).toString('utf8'),
                warnings: w === undefined ? [] : Array.isArray(w) ? w : String(w).split(/,(?=\s*\d{3} )/),
              });
            });
            res.on('error', (err) =>
              reject(
                new KubeConnectionError(`${where}: the answer broke off (${errorMessage(err)})`, false, { cause: err }),
              ),
            );
          },
        );
        r.on('timeout', () => r.destroy(new Error(`no answer within ${this.timeoutMs / 1000}s`)));
        r.on('error', (err: NodeJS.ErrnoException) => {
          if (req.signal?.aborted) return reject(req.signal.reason);
          const code = err.code ?? '';
          if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL/.test(code)) {
            return reject(untrustedCertificate(this.connection, code, err.message));
          }
          if (code === 'ENOTFOUND') {
            return reject(
              new UserError(
                `The Kubernetes API host in ${this.connection.server} does not resolve (ENOTFOUND).`,
                `Check the server of ${this.connection.description}; the runner must be able to reach it.`,
              ),
            );
          }
          reject(
            new KubeConnectionError(
              `Cannot reach the Kubernetes API at ${this.connection.server}: ${code || errorMessage(err)}`,
              code === 'ECONNREFUSED',
              { cause: err },
            ),
          );
        });
        r.end(body);
      },
    );
    for (const w of warnings) this.options.onWarning?.(warningText(w.trim()));
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (status >= 400) {
      const st =
        parsed && typeof parsed === 'object' && (parsed as KubeStatus).kind === 'Status'
          ? (parsed as KubeStatus)
          : { message: text.slice(0, 300), code: status };
      throw new KubeApiError(req.method, url.pathname, status, st);
    }
    if (req.text) return text as T;
    if (parsed === undefined)
      throw new Error(`${where}: the answer is not JSON (HTTP ${status}): ${text.slice(0, 200)}`);
    return parsed as T;
  }

  /** Drops kept-alive connections, so the process can exit. */
  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
