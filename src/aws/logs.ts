/**
 * Reading a CloudWatch Logs stream forward (GetLogEvents), the one Logs call ecs-run-task
 * needs. A small signed JSON 1.1 client instead of @aws-sdk/client-cloudwatch-logs: the
 * same SigV4 signer the SDK uses, the credentials of an SDK client we already made (so
 * aws-auth's renewing session and the default chain apply alike), the standard
 * AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / AWS_ENDPOINT_URL overrides, and retries with backoff
 * for throttling and 5xx.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { retry } from '../util/retry.js';
import { endpointFor } from './client.js';

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (or HMAC-SHA-256 with a secret) in the shape the signer takes. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface LogEvent {
  timestamp: number;
  message: string;
}

/** An error answer of the Logs API. */
export class LogsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'LogsError';
  }
}

export interface LogsReaderOptions {
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  env?: NodeJS.ProcessEnv;
  /** Attempts per call for throttling and 5xx. Default 4. */
  attempts?: number;
}

const RETRYABLE = new Set(['ThrottlingException', 'ServiceUnavailableException', 'RequestLimitExceeded']);

export class LogsReader {
  private readonly signer: SignatureV4;
  private readonly url: URL;
  private readonly attempts: number;

  constructor(options: LogsReaderOptions) {
    const env = options.env ?? process.env;
    this.url = new URL(endpointFor('CloudWatch Logs', env) ?? `https://logs.${options.region}.amazonaws.com`);
    this.signer = new SignatureV4({
      service: 'logs',
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
    this.attempts = options.attempts ?? 4;
  }

  private async call(operation: string, body: object, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(body);
    const request = {
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: this.url.pathname || '/',
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `Logs_20140328.${operation}`,
      } as Record<string, string>,
      body: payload,
    };
    const signed = await this.signer.sign(request);
    const { host: _host, ...headers } = signed.headers;
    const res = await fetch(new URL(request.path, this.url), { method: 'POST', headers, body: payload, signal });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new LogsError(
        'InvalidResponse',
        res.status,
        `CloudWatch Logs answered HTTP ${res.status} with a body that is not JSON`,
      );
    }
    if (!res.ok) {
      const type = String(res.headers.get('x-amzn-errortype') ?? parsed.__type ?? `HTTP${res.status}`);
      throw new LogsError(
        type.split(':')[0]?.split('#').pop() ?? type,
        res.status,
        String(parsed.message ?? parsed.Message ?? text.slice(0, 200)),
      );
    }
    return parsed;
  }

  /** One Logs API call (JSON 1.1), retried with backoff for throttling and 5xx. */
  send(operation: string, body: object, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return retry(() => this.call(operation, body, signal), {
      attempts: this.attempts,
      signal,
      isRetryable: (err) =>
        err instanceof LogsError ? RETRYABLE.has(err.code) || err.status >= 500 : err instanceof TypeError,
    });
  }

  /**
   * The events after `token` (from the start of the stream without one) and the token to
   * read on from; the token stays the same when nothing new was written.
   */
  async forward(
    group: string,
    stream: string,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ events: LogEvent[]; token: string | undefined }> {
    const out = await this.send(
      'GetLogEvents',
      { logGroupName: group, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) },
      signal,
    );
    const events = Array.isArray(out.events) ? (out.events as Array<Record<string, unknown>>) : [];
    return {
      events: events.map((e) => ({ timestamp: Number(e.timestamp ?? 0), message: String(e.message ?? '') })),
      token: typeof out.nextForwardToken === 'string' ? out.nextForwardToken : token,
    };
  }
}
