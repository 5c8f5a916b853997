import { createSign, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The facts about a job that GitHub writes into its OIDC token. */
export interface JobIdentity {
  owner: string;
  repo: string;
  ref: string;
  sha: string;
  environment?: string;
  eventName: string;
  workflow: string;
  runId: string;
  runAttempt: string;
  actor: string;
}

export const DEFAULT_JOB: JobIdentity = {
  owner: 'acme',
  repo: 'webapp',
  ref: 'refs/heads/main',
  sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  eventName: 'push',
  workflow: 'release',
  runId: '4242',
  runAttempt: '1',
  actor: 'octocat',
};

export interface OidcIssuer {
  /** The issuer URL (the `iss` claim), with /.well-known/openid-configuration and /.well-known/jwks. */
  url: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL. */
  requestUrl: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** The job tokens are minted for; change it between cases. */
  job: JobIdentity;
  /** Audiences of the tokens handed out, in order. */
  issued: string[];
  /** The claims GitHub would put in a token for `audience`. */
  claims(audience: string, job?: JobIdentity): Record<string, unknown>;
  /** A signed RS256 JWT with those claims (and any overrides). */
  mint(audience: string, overrides?: Record<string, unknown>): string;
  /**
   * The runner environment that lets `core.getIDToken` reach this issuer. Given a job,
   * the environment holds a request token of its own, as each job on GitHub gets one:
   * tokens requested with it carry that job's claims, whatever `job` says meanwhile, so
   * jobs running at the same time (say, bound to different environments) do not mix.
   */
  runnerEnv(job?: Partial<JobIdentity>): Record<string, string>;
  close(): Promise<void>;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function signJwt(payload: object, key: KeyObject, kid: string): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify(payload));
  const signature = createSign('RSA-SHA256').update(`${header}.${body}`).sign(key);
  return `${header}.${body}.${b64url(signature)}`;
}

/** GitHub's `sub`: environment wins, then pull_request, then the ref. */
export function subjectFor(job: JobIdentity): string {
  const repo = `repo:${job.owner}/${job.repo}`;
  if (job.environment) return `${repo}:environment:${job.environment}`;
  if (job.eventName === 'pull_request') return `${repo}:pull_request`;
  return `${repo}:ref:${job.ref}`;
}

/**
 * A local stand-in for GitHub's token service and OIDC issuer: serves the runner's
 * token endpoint (what `core.getIDToken` calls), signs real RS256 JWTs with GitHub's
 * claim set, and publishes the discovery document and JWKS to verify them.
 */
export async function startOidcIssuer(job: Partial<JobIdentity> = {}): Promise<OidcIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const requestToken = randomBytes(24).toString('hex');
  /** Request tokens of jobs given to runnerEnv(job), with their identities. */
  const jobTokens = new Map<string, JobIdentity>();
  const issued: string[] = [];
  let url = '';

  const issuer: OidcIssuer = {
    url: '',
    requestUrl: '',
    requestToken,
    job: { ...DEFAULT_JOB, ...job },
    issued,
    claims(audience, j = issuer.job) {
      const now = Math.floor(Date.now() / 1000);
      const repository = `${j.owner}/${j.repo}`;
      const workflowRef = `${repository}/.github/workflows/${j.workflow}.yml@${j.ref}`;
      return {
        jti: randomUUID(),
        sub: subjectFor(j),
        aud: audience,
        ref: j.ref,
        sha: j.sha,
        repository,
        repository_owner: j.owner,
        repository_owner_id: '1000',
        repository_id: '2000',
        repository_visibility: 'private',
        run_id: j.runId,
        run_number: '7',
        run_attempt: j.runAttempt,
        actor: j.actor,
        actor_id: '3000',
        workflow: j.workflow,
        workflow_ref: workflowRef,
        workflow_sha: j.sha,
        job_workflow_ref: workflowRef,
        job_workflow_sha: j.sha,
        event_name: j.eventName,
        ref_type: j.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
        ref_protected: 'true',
        runner_environment: 'github-hosted',
        ...(j.environment ? { environment: j.environment } : {}),
        iss: url,
        nbf: now - 5,
        iat: now,
        exp: now + 300,
      };
    },
    mint(audience, overrides = {}) {
      return signJwt({ ...issuer.claims(audience), ...overrides }, privateKey, kid);
    },
    runnerEnv(job) {
      if (!job)
        return { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken };
      const own = randomBytes(24).toString('hex');
      jobTokens.set(own, { ...issuer.job, ...job });
      return { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: own };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', url);
    if (req.method === 'GET' && u.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: [
          'sub',
          'aud',
          'exp',
          'iat',
          'iss',
          'jti',
          'nbf',
          'ref',
          'repository',
          'environment',
          'job_workflow_ref',
        ],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
    }
    if (req.method === 'GET' && u.pathname === '/.well-known/jwks') {
      return send(res, 200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
    }
    if (req.method === 'GET' && u.pathname === '/token') {
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const own = jobTokens.get(bearer);
      if (bearer !== requestToken && !own) return send(res, 401, { message: 'Bad credentials' });
      const audience = u.searchParams.get('audience') ?? `https://github.com/${issuer.job.owner}`;
      issued.push(audience);
      const value = own ? signJwt(issuer.claims(audience, own), privateKey, kid) : issuer.mint(audience);
      return send(res, 200, { count: 1, value });
    }
    send(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer.url = url;
  issuer.requestUrl = `${url}/token?api-version=2.0`;
  return issuer;
}

/** Verifies an RS256 JWT against a JWKS URL; returns its claims or throws why not. */
export async function verifyJwt(jwt: string, jwksUrl: string): Promise<Record<string, unknown>> {
  const { createPublicKey, createVerify } = await import('node:crypto');
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) throw new Error('not a JWT');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string; kid?: string };
  if (header.alg !== 'RS256') throw new Error(`unsupported alg ${header.alg}`);
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: Array<{ kid?: string }> };
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in ${jwksUrl}`);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (!createVerify('RSA-SHA256').update(`${h}.${p}`).verify(key, Buffer.from(s, 'base64url'))) {
    throw new Error('signature does not verify');
  }
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (typeof claims.exp === 'number' && claims.exp < Date.now() / 1000) throw new Error('token expired');
  return claims;
}
