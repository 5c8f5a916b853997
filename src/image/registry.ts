import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { HttpClient, type HttpClientResponse } from '@actions/http-client';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import { findCredentials, type RegistryCredentials } from './credentials.js';
import { apiHost, isLoopbackRegistry } from './reference.js';

/**
 * A small client for the OCI distribution API, enough to read back what was pushed:
 * resolve a tag to its digest, read manifests and the image config. It honours the
 * runner's proxy variables (through @actions/http-client), answers Basic and Bearer
 * challenges (token service flow) with credentials from our own login or the usual
 * auth files, and talks plain HTTP to loopback registries only.
 */

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const INDEX_TYPES = new Set([MANIFEST_TYPES[0], MANIFEST_TYPES[2]]);

export interface Descriptor {
  digest: string;
  mediaType: string;
  size: number;
}

export interface Manifest extends Descriptor {
  bytes: Buffer;
  json: {
    mediaType?: string;
    manifests?: Array<Descriptor & { platform?: { os?: string; architecture?: string; variant?: string } }>;
    config?: Descriptor;
    layers?: Descriptor[];
  };
}

export interface PlatformImage {
  platform: string;
  digest: string;
  /** Config plus compressed layers, as pulled. */
  size: number;
  labels: Record<string, string>;
}

export interface ImageInfo {
  digest: string;
  mediaType: string;
  /** Compressed size: the sum over platforms (attestation manifests excluded). */
  size: number;
  platforms: PlatformImage[];
}

export interface RegistryClientOptions {
  /** Credentials to use; otherwise looked up in the auth files when challenged. */
  credentials?: RegistryCredentials;
  /** Send the credentials as Basic from the first request (ECR), instead of waiting for a challenge. */
  basicAuth?: boolean;
  env?: NodeJS.ProcessEnv;
  attempts?: number;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Parses `Bearer realm="...",service="...",scope="..."` into scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[(m[1] as string).toLowerCase()] = m[2] as string;
  return { scheme, params };
}

class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A 401 or 403: who refused, and with which credentials (their source, never their value). */
function accessRefused(
  registry: string,
  repository: string,
  err: RegistryHttpError,
  credentials: RegistryCredentials | undefined,
): UserError {
  return new UserError(
    `Registry ${registry} refused access to ${repository} (HTTP ${err.status}${credentials ? `, with credentials from ${credentials.source}` : ', without credentials'}).`,
    'Log in to the registry earlier in the job (docker/login-action, `buildah login`, or gcp-auth for Artifact Registry); ECR logins are done by image-build itself.',
    { cause: err },
  );
}

/** A manifest fetched by digest hashes to another digest: the registry (or something between) changed it. */
function manifestNotAskedFor(registry: string, digest: string, reference: string): UserError {
  return new UserError(
    `Registry ${registry} returned a manifest whose digest ${digest} is not the ${reference} asked for.`,
  );
}

export class RegistryClient {
  private readonly http = new HttpClient('platform-actions', [], { allowRetries: false, socketTimeout: 60_000 });
  private readonly base: string;
  private credentials: RegistryCredentials | undefined;
  private credentialsLooked = false;
  private authorization: string | undefined;

  constructor(
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.base = `${isLoopbackRegistry(registry) ? 'http' : 'https'}://${apiHost(registry)}`;
    this.credentials = options.credentials;
    this.credentialsLooked = options.credentials !== undefined;
    if (options.basicAuth && options.credentials) {
      this.authorization = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`;
    }
  }

  close(): void {
    this.http.dispose();
  }

  private async creds(): Promise<RegistryCredentials | undefined> {
    if (!this.credentialsLooked) {
      this.credentials = await findCredentials(this.registry, this.options.env);
      this.credentialsLooked = true;
    }
    return this.credentials;
  }

  /** Answers a 401 challenge; returns false when there is nothing more to try. */
  private async authenticate(challenge: string | undefined, repository: string): Promise<boolean> {
    const creds = await this.creds();
    const { scheme, params } = parseChallenge(challenge ?? 'Basic');
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (scheme === 'basic') {
      if (!basic || this.authorization === basic) return false;
      this.authorization = basic;
      return true;
    }
    if (scheme !== 'bearer' || !params.realm) return false;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${repository}:pull`);
    const headers: OutgoingHttpHeaders = basic && creds?.username !== '<token>' ? { authorization: basic } : {};
    if (creds?.username === '<token>') {
      // An identity token is exchanged with the OAuth2 refresh_token grant.
      url.searchParams.set('grant_type', 'refresh_token');
      url.searchParams.set('refresh_token', creds.password);
    }
    const res = await this.http.get(url.toString(), headers);
    const body = await res.readBody();
    if (res.message.statusCode !== 200) {
      throw new RegistryHttpError(
        res.message.statusCode ?? 0,
        `the token service ${url.host} answered HTTP ${res.message.statusCode}: ${body.slice(0, 200)}`,
      );
    }
    const token =
      (JSON.parse(body) as { token?: string; access_token?: string }).token ??
      (JSON.parse(body) as { access_token?: string }).access_token;
    if (!token) return false;
    const bearer = `Bearer ${token}`;
    if (this.authorization === bearer) return false;
    this.authorization = bearer;
    return true;
  }

  private async send(
    method: 'GET' | 'HEAD',
    path: string,
    repository: string,
    headers: OutgoingHttpHeaders,
  ): Promise<{ res: HttpClientResponse; body: Buffer }> {
    const url = `${this.base}${path}`;
    const once = async () => {
      const all = { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
      const res = method === 'HEAD' ? await this.http.head(url, all) : await this.http.get(url, all);
      const body = res.readBodyBuffer ? await res.readBodyBuffer() : Buffer.from(await res.readBody());
      return { res, body };
    };
    return retry(
      async () => {
        let r = await once();
        for (let i = 0; i < 2 && r.res.message.statusCode === 401; i++) {
          if (!(await this.authenticate(String(r.res.message.headers['www-authenticate'] ?? ''), repository))) break;
          r = await once();
        }
        const status = r.res.message.statusCode ?? 0;
        if (status >= 200 && status < 300) return r;
        throw new RegistryHttpError(
          status,
          `${method} ${path} answered HTTP ${status}${r.body.length ? `: ${r.body.toString('utf8').slice(0, 300)}` : ''}`,
        );
      },
      {
        attempts: this.options.attempts ?? 3,
        isRetryable: (err) => !(err instanceof RegistryHttpError) || err.status === 429 || err.status >= 500,
      },
    ).catch((err: unknown) => {
      throw this.explain(err, repository);
    });
  }

  private explain(err: unknown, repository: string): Error {
    if (err instanceof UserError) return err;
    if (err instanceof RegistryHttpError) {
      if (err.status === 401 || err.status === 403) {
        return accessRefused(this.registry, repository, err, this.credentials);
      }
      if (err.status === 404)
        return new UserError(
          `Registry ${this.registry} has no ${repository} manifest for that reference: ${err.message}`,
          undefined,
          { cause: err },
        );
      return new UserError(
        `Registry ${this.registry} failed: ${err.message}`,
        'This is usually temporary: re-run the job.',
        { cause: err },
      );
    }
    return new UserError(
      `Cannot reach registry ${this.registry} (${this.base}): ${errorMessage(err)}`,
      'Check the registry name, the network and any proxy settings of the runner.',
      {
        cause: err,
      },
    );
  }

  /** The digest, media type and size a tag or digest points at. */
  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const { res, body } = await this.send('HEAD', `/v2/${repository}/manifests/${reference}`, repository, {
      accept: MANIFEST_TYPES.join(', '),
    });
    const digest = res.message.headers['docker-content-digest'];
    const mediaType = String(res.message.headers['content-type'] ?? '').split(';')[0] as string;
    const size = Number(res.message.headers['content-length'] ?? body.length);
    if (typeof digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(digest)) return { digest, mediaType, size };
    // Some registries leave the header out of HEAD answers: hash the manifest itself.
    const manifest = await this.manifest(repository, reference);
    return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size };
  }

  async manifest(repository: string, reference: string): Promise<Manifest> {
    const { res, body } = await this.send('GET', `/v2/${repository}/manifests/${reference}`, repository, {
      accept: MANIFEST_TYPES.join(', '),
    });
    const digest = sha256(body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw manifestNotAskedFor(this.registry, digest, reference);
    }
    const json = JSON.parse(body.toString('utf8')) as Manifest['json'];
    const mediaType = json.mediaType ?? (String(res.message.headers['content-type'] ?? '').split(';')[0] as string);
    return { digest, mediaType, size: body.length, bytes: body, json };
  }

  async blob(repository: string, digest: string): Promise<Buffer> {
    const { body } = await this.send('GET', `/v2/${repository}/blobs/${digest}`, repository, {});
    if (sha256(body) !== digest)
      throw new UserError(`Registry ${this.registry} returned a blob that does not match ${digest}.`);
    return body;
  }

  /** Manifest(s), sizes and config labels of an image (one entry per platform). */
  async inspect(repository: string, digest: string): Promise<ImageInfo> {
    const top = await this.manifest(repository, digest);
    const platforms: PlatformImage[] = [];
    const single = async (m: Manifest, platform?: string): Promise<PlatformImage> => {
      const layers = m.json.layers ?? [];
      const size = (m.json.config?.size ?? 0) + layers.reduce((sum, l) => sum + (l.size ?? 0), 0);
      let labels: Record<string, string> = {};
      let name = platform;
      if (m.json.config?.digest) {
        const config = JSON.parse((await this.blob(repository, m.json.config.digest)).toString('utf8')) as {
          os?: string;
          architecture?: string;
          variant?: string;
          config?: { Labels?: Record<string, string> | null };
        };
        labels = config.config?.Labels ?? {};
        name ??= [config.os, config.architecture, config.variant].filter(Boolean).join('/');
      }
      return { platform: name || 'unknown', digest: m.digest, size, labels };
    };
    if (INDEX_TYPES.has(top.mediaType) || Array.isArray(top.json.manifests)) {
      for (const d of top.json.manifests ?? []) {
        const p = d.platform;
        // BuildKit's attestation manifests are listed as unknown/unknown.
        if (p?.os === 'unknown' && p.architecture === 'unknown') continue;
        const child = await this.manifest(repository, d.digest);
        platforms.push(
          await single(child, p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined),
        );
      }
    } else {
      platforms.push(await single(top));
    }
    return { digest: top.digest, mediaType: top.mediaType, size: platforms.reduce((s, p) => s + p.size, 0), platforms };
  }
}
