import { errorMessage } from '../util/errors.js';
import { retry } from '../util/retry.js';

/** A Google API answered with an error. Both shapes are read: OAuth (`error`, `error_description`) and Google (`error.status`). */
export class GoogleApiError extends Error {
  constructor(
    readonly url: string,
    readonly httpStatus: number,
    /** `invalid_grant`, `PERMISSION_DENIED`... */
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code} (HTTP ${httpStatus}): ${detail}`);
    this.name = 'GoogleApiError';
  }
}

function parseError(url: string, status: number, text: string): GoogleApiError {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: string };
    if (typeof body.error === 'string')
      return new GoogleApiError(url, status, body.error, body.error_description ?? '');
    if (body.error && typeof body.error === 'object') {
      const e = body.error as { status?: string; message?: string; code?: number };
      return new GoogleApiError(url, status, e.status ?? String(e.code ?? status), e.message ?? '');
    }
  } catch {
    // not JSON: fall through
  }
  return new GoogleApiError(url, status, `HTTP_${status}`, text.slice(0, 500));
}

function retryable(err: unknown): boolean {
  if (err instanceof GoogleApiError) return err.httpStatus === 429 || err.httpStatus >= 500;
  return err instanceof TypeError; // fetch's network failure
}

export interface GoogleRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** OAuth access token for the Authorization header. */
  token?: string;
  signal?: AbortSignal;
  attempts?: number;
}

/**
 * Calls a Google JSON API: throttling (429), 5xx and network failures are retried with
 * backoff and jitter; any other answer is a GoogleApiError carrying Google's own code.
 */
export async function googleJson<T>(url: string, request: GoogleRequest = {}): Promise<T> {
  return retry(
    async () => {
      let res: Response;
      try {
        res = await fetch(url, {
          method: request.method ?? (request.body === undefined ? 'GET' : 'POST'),
          headers: {
            accept: 'application/json',
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
            'user-agent': 'platform-actions',
          },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal: request.signal,
        });
      } catch (err) {
        throw new TypeError(
          `Cannot reach ${new URL(url).host}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`,
          { cause: err },
        );
      }
      const text = await res.text();
      if (!res.ok) throw parseError(url, res.status, text);
      return (text ? JSON.parse(text) : {}) as T;
    },
    { attempts: request.attempts ?? 4, isRetryable: retryable, baseDelayMs: 500, signal: request.signal },
  );
}
