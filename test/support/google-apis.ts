import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkShape, googleApiShapes } from './api-schema.js';
import { celTrue, evaluateCel } from './cel.js';
import {
  ALIGNERS,
  InvalidArgument,
  LIST_PARAMETERS,
  listTimeSeries,
  MONITORING_SHAPES,
  REDUCERS,
  type StoredSeries,
} from './monitoring-series.js';
import { verifyJwt } from './oidc-issuer.js';

/** A workload identity pool provider as IAM stores it (the fields the exchange uses). */
export interface PoolProvider {
  /** projects/N/locations/global/workloadIdentityPools/P/providers/X */
  name: string;
  issuerUri: string;
  /** Empty: only the default audience https://iam.googleapis.com/<name> is accepted. */
  allowedAudiences?: string[];
  attributeMapping: Record<string, string>;
  attributeCondition?: string;
  disabled?: boolean;
}

/** A service account and the members holding roles/iam.workloadIdentityUser on it. */
export interface ServiceAccount {
  email: string;
  workloadIdentityUsers: string[];
}

export interface Exchange {
  subject: string;
  attributes: Record<string, string>;
  provider: PoolProvider;
  expiresAt: number;
}

/** A GKE cluster as the Container API describes it (the fields a deploy reads). */
export interface GkeCluster {
  project: string;
  location: string;
  name: string;
  /** host:port of the control plane, e.g. a KubeServer's 127.0.0.1:PORT. */
  endpoint: string;
  caPem: string;
  status?: string;
  /** Only the DNS-based endpoint is on (IP endpoints disabled). */
  dnsEndpoint?: string;
}

export interface GoogleApis {
  /** Base URL to use for every service (sts, iamcredentials, container, monitoring). */
  url: string;
  /** PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS value pointing every service here. */
  endpointsEnv: string;
  providers: PoolProvider[];
  serviceAccounts: ServiceAccount[];
  /** Every request: method, path, query, body; plus schema violations found in requests and responses. */
  requests: Array<{ method: string; path: string; query: Record<string, string>; body: Record<string, unknown> }>;
  violations: string[];
  /** Federated tokens issued, by token. */
  exchanges: Map<string, Exchange>;
  /** Tokens minted for service accounts. */
  minted: Array<{
    serviceAccount: string;
    kind: 'access' | 'id';
    token: string;
    lifetime?: string;
    scope?: string[];
    audience?: string;
  }>;
  /** Container API: clusters projects.locations.clusters.get describes. */
  clusters: GkeCluster[];
  /** Monitoring: stored time series, per project. */
  timeSeries: Array<StoredSeries & { project: string }>;
  /** Time series per page of timeSeries.list (default 1000). */
  monitoringPageSize: number;
  /** Managed Prometheus: the real Prometheus its query API is served from. */
  prometheusUpstream?: string;
  /** IAM permissions refused to every caller, e.g. 'container.clusters.get', 'monitoring.timeSeries.list'. */
  deniedPermissions: Set<string>;
  /** True for an unexpired access token this stand-in issued (federated or for a service account). */
  isAccessToken(token: string): boolean;
  reset(): void;
  close(): Promise<void>;
}

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

/**
 * A stand-in for sts, iamcredentials, container and monitoring.googleapis.com (nothing real
 * exists offline). It does what Google does with the parts this project uses: checks
 * every request body field by field, verifies the GitHub JWT against its issuer's JWKS,
 * applies the provider's attribute mapping and condition, and checks impersonation
 * bindings. Requests and responses are checked against the published API shapes
 * (the @googleapis/sts, @googleapis/iamcredentials and @googleapis/container types; for
 * Monitoring, which has no such package, the shapes of its REST reference written out in
 * monitoring-series.ts). It also describes GKE clusters (container.googleapis.com),
 * answers projects.timeSeries.list from stored series, and serves Managed Prometheus's
 * query API from a real Prometheus, all for access tokens it issued itself.
 */
export async function startGoogleApis(): Promise<GoogleApis> {
  const sts = googleApiShapes('@googleapis/sts');
  const iam = googleApiShapes('@googleapis/iamcredentials');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const state: GoogleApis = {
    url: '',
    endpointsEnv: '',
    providers: [],
    serviceAccounts: [],
    requests: [],
    violations: [],
    exchanges: new Map(),
    minted: [],
    clusters: [],
    timeSeries: [],
    monitoringPageSize: 1000,
    deniedPermissions: new Set(),
    isAccessToken(token: string) {
      const ex = this.exchanges.get(token);
      if (ex) return ex.expiresAt > Date.now();
      return this.minted.some((m) => m.kind === 'access' && m.token === token);
    },
    reset() {
      this.clusters.length = 0;
      this.timeSeries.length = 0;
      this.monitoringPageSize = 1000;
      this.prometheusUpstream = undefined;
      this.deniedPermissions.clear();
      this.providers.length = 0;
      this.serviceAccounts.length = 0;
      this.requests.length = 0;
      this.violations.length = 0;
      this.exchanges.clear();
      this.minted.length = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: object,
    shape?: [Map<string, Record<string, never>>, string],
  ) => {
    if (shape && status < 300) {
      const s = shape[0].get(shape[1]);
      if (!s) state.violations.push(`no schema ${shape[1]}`);
      else state.violations.push(...checkShape(body, s, `response ${shape[1]}`));
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, status: number, error: string, description: string) =>
    send(res, status, { error, error_description: description });
  const googleError = (res: ServerResponse, code: number, status: string, message: string) =>
    send(res, code, { error: { code, message, status } });

  async function exchange(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const shape = sts.get('GoogleIdentityStsV1ExchangeTokenRequest');
    state.violations.push(...checkShape(body, shape ?? {}, 'request ExchangeToken'));
    if (body.grantType !== GRANT) return oauthError(res, 400, 'unsupported_grant_type', `grantType must be ${GRANT}`);
    if (body.requestedTokenType !== ACCESS)
      return oauthError(res, 400, 'invalid_request', `requestedTokenType must be ${ACCESS}`);
    if (!JWT_TYPES.includes(String(body.subjectTokenType)))
      return oauthError(res, 400, 'invalid_request', 'subjectTokenType must be a JWT type');
    if (typeof body.scope !== 'string' || body.scope.trim() === '')
      return oauthError(res, 400, 'invalid_scope', 'scope is required');
    const audience = String(body.audience ?? '');
    const provider = state.providers.find((p) => `//iam.googleapis.com/${p.name}` === audience);
    if (!provider || provider.disabled) {
      return oauthError(
        res,
        400,
        'invalid_target',
        'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
      );
    }
    let claims: Record<string, unknown>;
    try {
      const payload = JSON.parse(
        Buffer.from(String(body.subjectToken).split('.')[1] ?? '', 'base64url').toString(),
      ) as { iss?: string };
      if (payload.iss !== provider.issuerUri) {
        return oauthError(
          res,
          400,
          'invalid_grant',
          `The issuer in ID Token ${payload.iss} does not match the expected ones: ${provider.issuerUri}.`,
        );
      }
      claims = await verifyJwt(String(body.subjectToken), `${provider.issuerUri}/.well-known/jwks`);
    } catch (err) {
      return oauthError(res, 400, 'invalid_grant', `Invalid JWT signature or claims: ${(err as Error).message}`);
    }
    const allowed = provider.allowedAudiences?.length
      ? provider.allowedAudiences
      : [`https://iam.googleapis.com/${provider.name}`];
    if (!allowed.includes(String(claims.aud))) {
      return oauthError(
        res,
        400,
        'invalid_grant',
        `The audience in ID Token [${String(claims.aud)}] does not match the expected audience.`,
      );
    }
    const attributes: Record<string, string> = {};
    const google: Record<string, string> = {};
    for (const [target, expr] of Object.entries(provider.attributeMapping)) {
      const value = evaluateCel(expr, { assertion: claims });
      if (value === undefined) continue;
      if (target.startsWith('attribute.')) attributes[target.slice('attribute.'.length)] = String(value);
      else if (target.startsWith('google.')) google[target.slice('google.'.length)] = String(value);
    }
    if (!google.subject)
      return oauthError(res, 400, 'invalid_grant', 'The mapped attribute google.subject is missing.');
    if (
      provider.attributeCondition &&
      !celTrue(provider.attributeCondition, { assertion: claims, attribute: attributes, google })
    ) {
      return oauthError(
        res,
        400,
        'unauthorized_client',
        'The given credential is rejected by the attribute condition.',
      );
    }
    const token = `ya29.fed-${randomBytes(24).toString('hex')}`;
    const expiresIn = Math.max(1, Math.min(3600, Number(claims.exp) - Math.floor(Date.now() / 1000)));
    state.exchanges.set(token, {
      subject: google.subject,
      attributes,
      provider,
      expiresAt: Date.now() + expiresIn * 1000,
    });
    send(res, 200, { access_token: token, issued_token_type: ACCESS, token_type: 'Bearer', expires_in: expiresIn }, [
      sts as never,
      'GoogleIdentityStsV1ExchangeTokenResponse',
    ]);
  }

  /** Whether the federated identity behind `token` holds workloadIdentityUser on the account. */
  function mayImpersonate(token: string | undefined, email: string): Exchange | undefined {
    const ex = token ? state.exchanges.get(token) : undefined;
    const sa = state.serviceAccounts.find((s) => s.email === email);
    if (!ex || !sa || ex.expiresAt < Date.now()) return undefined;
    const [, number, pool] =
      /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\//.exec(ex.provider.name) ?? [];
    const base = `iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/${pool}`;
    const members = new Set([
      `principal://${base}/subject/${ex.subject}`,
      `principalSet://${base}/*`,
      ...Object.entries(ex.attributes).map(([k, v]) => `principalSet://${base}/attribute.${k}/${v}`),
    ]);
    return sa.workloadIdentityUsers.some((m) => members.has(m)) ? ex : undefined;
  }

  function signIdToken(payload: object): string {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'stand-in' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const sig = createSign('RSA-SHA256').update(`${header}.${body}`).sign(privateKey).toString('base64url');
    return `${header}.${body}.${sig}`;
  }

  function impersonate(
    email: string,
    method: string,
    body: Record<string, unknown>,
    auth: string | undefined,
    res: ServerResponse,
  ): void {
    const request = method === 'generateAccessToken' ? 'GenerateAccessTokenRequest' : 'GenerateIdTokenRequest';
    state.violations.push(...checkShape(body, iam.get(request) ?? {}, `request ${request}`));
    const token = auth?.replace(/^Bearer /, '');
    if (!mayImpersonate(token, email)) {
      return googleError(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
      );
    }
    if (method === 'generateAccessToken') {
      const lifetime = String(body.lifetime ?? '3600s');
      const seconds = /^(\d+)s$/.exec(lifetime)?.[1];
      if (!seconds || Number(seconds) > 3600) {
        return googleError(
          res,
          400,
          'INVALID_ARGUMENT',
          `The lifetime ${lifetime} exceeds the maximum of 3600s for this service account.`,
        );
      }
      if (!Array.isArray(body.scope) || body.scope.length === 0)
        return googleError(res, 400, 'INVALID_ARGUMENT', 'scope is required');
      const accessToken = `ya29.sa-${randomBytes(24).toString('hex')}`;
      state.minted.push({
        serviceAccount: email,
        kind: 'access',
        token: accessToken,
        lifetime,
        scope: body.scope as string[],
      });
      const expireTime = new Date(Date.now() + Number(seconds) * 1000).toISOString();
      return send(res, 200, { accessToken, expireTime }, [iam as never, 'GenerateAccessTokenResponse']);
    }
    if (typeof body.audience !== 'string' || body.audience === '')
      return googleError(res, 400, 'INVALID_ARGUMENT', 'audience is required');
    const now = Math.floor(Date.now() / 1000);
    const idToken = signIdToken({
      iss: 'https://accounts.google.com',
      aud: body.audience,
      sub: '100000000000000000000',
      iat: now,
      exp: now + 3600,
      ...(body.includeEmail ? { email, email_verified: true } : {}),
    });
    state.minted.push({ serviceAccount: email, kind: 'id', token: idToken, audience: body.audience });
    send(res, 200, { token: idToken }, [iam as never, 'GenerateIdTokenResponse']);
  }

  const container = googleApiShapes('@googleapis/container');

  /** The caller's access token must be one this stand-in issued, and the permission not refused. */
  function authorize(req: IncomingMessage, res: ServerResponse, permission: string, resourceName: string): boolean {
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!state.isAccessToken(token)) {
      googleError(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
      return false;
    }
    if (state.deniedPermissions.has(permission)) {
      googleError(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission '${permission}' denied on resource '${resourceName}' (or it may not exist).`,
      );
      return false;
    }
    return true;
  }

  function checkQuery(path: string, query: Record<string, string>, allowed: string[]): void {
    for (const k of Object.keys(query))
      if (!allowed.includes(k)) state.violations.push(`${path}: query parameter '${k}' is not part of the method`);
  }

  /** projects.locations.clusters.get, answered in the Cluster shape of @googleapis/container. */
  function getCluster(
    req: IncomingMessage,
    res: ServerResponse,
    project: string,
    location: string,
    name: string,
    query: Record<string, string>,
  ): void {
    checkQuery(req.url ?? '', query, ['projectId', 'zone', 'clusterId', 'name']);
    const resourceName = `projects/${project}/locations/${location}/clusters/${name}`;
    if (!authorize(req, res, 'container.clusters.get', resourceName)) return;
    const c = state.clusters.find((x) => x.project === project && x.location === location && x.name === name);
    if (!c) return googleError(res, 404, 'NOT_FOUND', `Not found: ${resourceName}.`);
    const body = {
      name: c.name,
      location: c.location,
      selfLink: `https://container.googleapis.com/v1/${resourceName}`,
      status: c.status ?? 'RUNNING',
      endpoint: c.endpoint,
      currentMasterVersion: '1.32.4-gke.1106000',
      masterAuth: { clusterCaCertificate: Buffer.from(c.caPem).toString('base64') },
      ...(c.dnsEndpoint
        ? {
            controlPlaneEndpointsConfig: {
              dnsEndpointConfig: { endpoint: c.dnsEndpoint, allowExternalTraffic: true },
              ipEndpointsConfig: { enabled: false },
            },
          }
        : {}),
    };
    for (const [field, shape] of [
      ['masterAuth', 'MasterAuth'],
      ['controlPlaneEndpointsConfig', 'ControlPlaneEndpointsConfig'],
    ] as const) {
      const value = (body as Record<string, unknown>)[field];
      if (value !== undefined)
        state.violations.push(...checkShape(value, container.get(shape) ?? {}, `response Cluster.${field}`));
    }
    const cp = body.controlPlaneEndpointsConfig;
    if (cp) {
      state.violations.push(
        ...checkShape(cp.dnsEndpointConfig, container.get('DNSEndpointConfig') ?? {}, 'response DNSEndpointConfig'),
      );
      state.violations.push(
        ...checkShape(cp.ipEndpointsConfig, container.get('IPEndpointsConfig') ?? {}, 'response IPEndpointsConfig'),
      );
    }
    send(res, 200, body, [container as never, 'Cluster']);
  }

  /** projects.timeSeries.list, with its query parameters checked against the REST reference. */
  function listSeries(req: IncomingMessage, res: ServerResponse, project: string, query: Record<string, string>): void {
    const where = `timeSeries.list`;
    checkQuery(where, query, LIST_PARAMETERS);
    const bad = (message: string) => {
      state.violations.push(`${where}: ${message}`);
      googleError(res, 400, 'INVALID_ARGUMENT', message);
    };
    const timestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
    if (!query.filter) return bad('Field filter had an invalid value: the filter is required.');
    if (!query['interval.endTime'] || !timestamp.test(query['interval.endTime']))
      return bad(`Field interval.endTime had an invalid value of "${query['interval.endTime'] ?? ''}".`);
    if (query['interval.startTime'] !== undefined && !timestamp.test(query['interval.startTime']))
      return bad(`Field interval.startTime had an invalid value of "${query['interval.startTime']}".`);
    const aligner = query['aggregation.perSeriesAligner'];
    const reducer = query['aggregation.crossSeriesReducer'];
    const period = query['aggregation.alignmentPeriod'];
    if (aligner !== undefined && !ALIGNERS.includes(aligner))
      return bad(`Field aggregation.perSeriesAligner had an invalid value of "${aligner}".`);
    if (reducer !== undefined && !REDUCERS.includes(reducer))
      return bad(`Field aggregation.crossSeriesReducer had an invalid value of "${reducer}".`);
    if (aligner && aligner !== 'ALIGN_NONE' && !period)
      return bad('The alignment period must be specified when a per-series aligner is.');
    if (period !== undefined && (!/^\d+s$/.test(period) || Number(period.slice(0, -1)) < 60))
      return bad(
        `Field aggregation.alignmentPeriod had an invalid value of "${period}": the alignment period must be at least 60 seconds.`,
      );
    if (reducer && reducer !== 'REDUCE_NONE' && (!aligner || aligner === 'ALIGN_NONE'))
      return bad('A cross-series reducer needs a per-series aligner other than ALIGN_NONE.');
    if (query.view !== undefined && !['FULL', 'HEADERS'].includes(query.view))
      return bad(`Field view had an invalid value of "${query.view}".`);
    if (!authorize(req, res, 'monitoring.timeSeries.list', `projects/${project}`)) return;
    let series: Array<Record<string, unknown>>;
    try {
      series = listTimeSeries(
        state.timeSeries.filter((t) => t.project === project),
        query,
        project,
      );
    } catch (err) {
      if (err instanceof InvalidArgument) return googleError(res, 400, 'INVALID_ARGUMENT', err.message);
      throw err;
    }
    const offset = Number(query.pageToken ?? 0);
    const page = series.slice(offset, offset + state.monitoringPageSize);
    const next =
      offset + state.monitoringPageSize < series.length ? String(offset + state.monitoringPageSize) : undefined;
    const body = { ...(page.length ? { timeSeries: page } : {}), ...(next ? { nextPageToken: next } : {}) };
    state.violations.push(
      ...checkShape(body, MONITORING_SHAPES.ListTimeSeriesResponse as never, 'response ListTimeSeriesResponse'),
    );
    for (const ts of page) {
      state.violations.push(...checkShape(ts, MONITORING_SHAPES.TimeSeries as never, 'response TimeSeries'));
      state.violations.push(...checkShape(ts.metric, MONITORING_SHAPES.Metric as never, 'response Metric'));
      state.violations.push(
        ...checkShape(ts.resource, MONITORING_SHAPES.MonitoredResource as never, 'response MonitoredResource'),
      );
      for (const p of ts.points as Array<Record<string, unknown>>) {
        state.violations.push(...checkShape(p, MONITORING_SHAPES.Point as never, 'response Point'));
        state.violations.push(
          ...checkShape(p.interval, MONITORING_SHAPES.TimeInterval as never, 'response TimeInterval'),
        );
        state.violations.push(...checkShape(p.value, MONITORING_SHAPES.TypedValue as never, 'response TypedValue'));
        const dist = (p.value as { distributionValue?: { bucketOptions?: { explicitBuckets?: unknown } } })
          .distributionValue;
        if (dist) {
          state.violations.push(...checkShape(dist, MONITORING_SHAPES.Distribution as never, 'response Distribution'));
          state.violations.push(
            ...checkShape(dist.bucketOptions, MONITORING_SHAPES.BucketOptions as never, 'response BucketOptions'),
          );
          state.violations.push(
            ...checkShape(
              dist.bucketOptions?.explicitBuckets,
              MONITORING_SHAPES.Explicit as never,
              'response Explicit',
            ),
          );
        }
      }
    }
    send(res, 200, body);
  }

  /** Managed Prometheus's query API: the bearer token checked, then served by a real Prometheus. */
  async function prometheus(
    req: IncomingMessage,
    res: ServerResponse,
    project: string,
    api: string,
    query: Record<string, string>,
  ): Promise<void> {
    checkQuery(
      api,
      query,
      api === 'query' ? ['query', 'time', 'timeout'] : ['query', 'start', 'end', 'step', 'timeout'],
    );
    if (!authorize(req, res, 'monitoring.timeSeries.list', `projects/${project}`)) return;
    if (!state.prometheusUpstream) throw new Error('prometheusUpstream is not set');
    const upstream = await fetch(`${state.prometheusUpstream}/api/v1/${api}?${new URLSearchParams(query).toString()}`);
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(await upstream.text());
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const path = url.pathname;
        const query = Object.fromEntries(url.searchParams);
        let body: Record<string, unknown>;
        try {
          body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
        } catch {
          return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
        }
        state.requests.push({ method: req.method ?? '', path, query, body });
        if (req.headers['content-type']?.startsWith('application/json') !== true && req.method === 'POST') {
          state.violations.push(`${path}: content-type ${req.headers['content-type']} is not application/json`);
        }
        if (req.method === 'POST' && path === '/v1/token') return exchange(body, res);
        const sa = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):(generateAccessToken|generateIdToken)$/.exec(path);
        if (req.method === 'POST' && sa)
          return impersonate(
            decodeURIComponent(sa[1] as string),
            sa[2] as string,
            body,
            req.headers.authorization,
            res,
          );
        const cluster = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters\/([^/:]+)$/.exec(path);
        if (req.method === 'GET' && cluster)
          return getCluster(req, res, cluster[1] as string, cluster[2] as string, cluster[3] as string, query);
        const series = /^\/v3\/projects\/([^/]+)\/timeSeries$/.exec(path);
        if (req.method === 'GET' && series) return listSeries(req, res, series[1] as string, query);
        const prom = /^\/v1\/projects\/([^/]+)\/location\/global\/prometheus\/api\/v1\/(query|query_range)$/.exec(path);
        if (req.method === 'GET' && prom) return prometheus(req, res, prom[1] as string, prom[2] as string, query);
        state.violations.push(`no such route: ${req.method} ${path}`);
        googleError(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
      })().catch((err: unknown) => googleError(res, 500, 'INTERNAL', String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.endpointsEnv = ['sts', 'iamcredentials', 'container', 'monitoring']
    .map((name) => `${name}=${state.url}`)
    .join(',');
  return state;
}
