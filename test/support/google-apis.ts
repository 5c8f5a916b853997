import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkShape, googleApiShapes } from './api-schema.js';
import { celTrue, evaluateCel } from './cel.js';
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

export interface GoogleApis {
  /** Base URL to use for every service (sts, iamcredentials). */
  url: string;
  /** PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS value pointing every service here. */
  endpointsEnv: string;
  providers: PoolProvider[];
  serviceAccounts: ServiceAccount[];
  /** Every request: method, path, body; plus schema violations found in requests and responses. */
  requests: Array<{ method: string; path: string; body: Record<string, unknown> }>;
  violations: string[];
  /** Federated tokens issued, by token. */
  exchanges: Map<string, Exchange>;
  /** Tokens minted for service accounts. */
  minted: Array<{ serviceAccount: string; kind: 'access' | 'id'; token: string; lifetime?: string; scope?: string[]; audience?: string }>;
  reset(): void;
  close(): Promise<void>;
}

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

/**
 * A stand-in for sts.googleapis.com and iamcredentials.googleapis.com (nothing real
 * exists offline). It does what Google does with the parts this project uses: checks
 * every request body field by field, verifies the GitHub JWT against its issuer's JWKS,
 * applies the provider's attribute mapping and condition, and checks impersonation
 * bindings. Requests and responses are checked against the published API shapes
 * (the @googleapis/sts and @googleapis/iamcredentials types).
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
    reset() {
      this.providers.length = 0;
      this.serviceAccounts.length = 0;
      this.requests.length = 0;
      this.violations.length = 0;
      this.exchanges.clear();
      this.minted.length = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const send = (res: ServerResponse, status: number, body: object, shape?: [Map<string, Record<string, never>>, string]) => {
    if (shape && status < 300) {
      const s = shape[0].get(shape[1]);
      if (!s) state.violations.push(`no schema ${shape[1]}`);
      else state.violations.push(...checkShape(body, s, `response ${shape[1]}`));
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, status: number, error: string, description: string) => send(res, status, { error, error_description: description });
  const googleError = (res: ServerResponse, code: number, status: string, message: string) => send(res, code, { error: { code, message, status } });

  async function exchange(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const shape = sts.get('GoogleIdentityStsV1ExchangeTokenRequest');
    state.violations.push(...checkShape(body, shape ?? {}, 'request ExchangeToken'));
    if (body.grantType !== GRANT) return oauthError(res, 400, 'unsupported_grant_type', `grantType must be ${GRANT}`);
    if (body.requestedTokenType !== ACCESS) return oauthError(res, 400, 'invalid_request', `requestedTokenType must be ${ACCESS}`);
    if (!JWT_TYPES.includes(String(body.subjectTokenType))) return oauthError(res, 400, 'invalid_request', 'subjectTokenType must be a JWT type');
    if (typeof body.scope !== 'string' || body.scope.trim() === '') return oauthError(res, 400, 'invalid_scope', 'scope is required');
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
      const payload = JSON.parse(Buffer.from(String(body.subjectToken).split('.')[1] ?? '', 'base64url').toString()) as { iss?: string };
      if (payload.iss !== provider.issuerUri) {
        return oauthError(res, 400, 'invalid_grant', `The issuer in ID Token ${payload.iss} does not match the expected ones: ${provider.issuerUri}.`);
      }
      claims = await verifyJwt(String(body.subjectToken), `${provider.issuerUri}/.well-known/jwks`);
    } catch (err) {
      return oauthError(res, 400, 'invalid_grant', `Invalid JWT signature or claims: ${(err as Error).message}`);
    }
    const allowed = provider.allowedAudiences?.length ? provider.allowedAudiences : [`https://iam.googleapis.com/${provider.name}`];
    if (!allowed.includes(String(claims.aud))) {
      return oauthError(res, 400, 'invalid_grant', `The audience in ID Token [${String(claims.aud)}] does not match the expected audience.`);
    }
    const attributes: Record<string, string> = {};
    const google: Record<string, string> = {};
    for (const [target, expr] of Object.entries(provider.attributeMapping)) {
      const value = evaluateCel(expr, { assertion: claims });
      if (value === undefined) continue;
      if (target.startsWith('attribute.')) attributes[target.slice('attribute.'.length)] = String(value);
      else if (target.startsWith('google.')) google[target.slice('google.'.length)] = String(value);
    }
    if (!google.subject) return oauthError(res, 400, 'invalid_grant', 'The mapped attribute google.subject is missing.');
    if (provider.attributeCondition && !celTrue(provider.attributeCondition, { assertion: claims, attribute: attributes, google })) {
      return oauthError(res, 400, 'unauthorized_client', 'The given credential is rejected by the attribute condition.');
    }
    const token = `ya29.fed-${randomBytes(24).toString('hex')}`;
    const expiresIn = Math.max(1, Math.min(3600, Number(claims.exp) - Math.floor(Date.now() / 1000)));
    state.exchanges.set(token, { subject: google.subject, attributes, provider, expiresAt: Date.now() + expiresIn * 1000 });
    send(res, 200, { access_token: token, issued_token_type: ACCESS, token_type: 'Bearer', expires_in: expiresIn }, [sts as never, 'GoogleIdentityStsV1ExchangeTokenResponse']);
  }

  /** Whether the federated identity behind `token` holds workloadIdentityUser on the account. */
  function mayImpersonate(token: string | undefined, email: string): Exchange | undefined {
    const ex = token ? state.exchanges.get(token) : undefined;
    const sa = state.serviceAccounts.find((s) => s.email === email);
    if (!ex || !sa || ex.expiresAt < Date.now()) return undefined;
    const [, number, pool] = /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\//.exec(ex.provider.name) ?? [];
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

  function impersonate(email: string, method: string, body: Record<string, unknown>, auth: string | undefined, res: ServerResponse): void {
    const request = method === 'generateAccessToken' ? 'GenerateAccessTokenRequest' : 'GenerateIdTokenRequest';
    state.violations.push(...checkShape(body, iam.get(request) ?? {}, `request ${request}`));
    const token = auth?.replace(/^Bearer /, '');
    if (!mayImpersonate(token, email)) {
      return googleError(res, 403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`);
    }
    if (method === 'generateAccessToken') {
      const lifetime = String(body.lifetime ?? '3600s');
      const seconds = /^(\d+)s$/.exec(lifetime)?.[1];
      if (!seconds || Number(seconds) > 3600) {
        return googleError(res, 400, 'INVALID_ARGUMENT', `The lifetime ${lifetime} exceeds the maximum of 3600s for this service account.`);
      }
      if (!Array.isArray(body.scope) || body.scope.length === 0) return googleError(res, 400, 'INVALID_ARGUMENT', 'scope is required');
      const accessToken = `ya29.sa-${randomBytes(24).toString('hex')}`;
      state.minted.push({ serviceAccount: email, kind: 'access', token: accessToken, lifetime, scope: body.scope as string[] });
      const expireTime = new Date(Date.now() + Number(seconds) * 1000).toISOString();
      return send(res, 200, { accessToken, expireTime }, [iam as never, 'GenerateAccessTokenResponse']);
    }
    if (typeof body.audience !== 'string' || body.audience === '') return googleError(res, 400, 'INVALID_ARGUMENT', 'audience is required');
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

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        let body: Record<string, unknown>;
        try {
          body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
        } catch {
          return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
        }
        state.requests.push({ method: req.method ?? '', path, body });
        if (req.headers['content-type']?.startsWith('application/json') !== true && req.method === 'POST') {
          state.violations.push(`${path}: content-type ${req.headers['content-type']} is not application/json`);
        }
        if (req.method === 'POST' && path === '/v1/token') return exchange(body, res);
        const sa = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):(generateAccessToken|generateIdToken)$/.exec(path);
        if (req.method === 'POST' && sa) return impersonate(decodeURIComponent(sa[1] as string), sa[2] as string, body, req.headers.authorization, res);
        state.violations.push(`no such route: ${req.method} ${path}`);
        googleError(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
      })().catch((err: unknown) => googleError(res, 500, 'INTERNAL', String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.endpointsEnv = `sts=${state.url},iamcredentials=${state.url}`;
  return state;
}
