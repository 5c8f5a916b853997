/**
 * Credentials that last as long as the job. aws-auth exports one STS session (1 h by
 * default) plus, in PLATFORM_ACTIONS_AWS_ROLE, the settings that minted it (nothing
 * secret). Every later step that finds those settings, its own environment still holding
 * that session, and a way to get a new web identity token (the job's OIDC token request
 * variables, or the token file) renews the session itself before it expires: the same
 * role, session name, duration and session policies. Without the settings the SDK's
 * default chain reads the environment exactly as before.
 *
 * This module stays light (no SDK, no @actions/core at load): client.ts imports it and
 * settings readers import client.ts.
 */
import { readFile } from 'node:fs/promises';
import { EOL } from 'node:os';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { retry } from '../util/retry.js';
import { renewability, ROLE_SETTINGS_VARIABLE, type RoleSettings, type Session } from './role-settings.js';

/** Renew this long before the session expires (the SDK's own margin is 5 min too). */
export const RENEW_BEFORE_MS = 5 * 60_000;

/** Registers a value with the runner's masker (the workflow command core.setSecret writes), before anything can print it. */
function mask(value: string): void {
  if (value) process.stdout.write(`::add-mask::${value}${EOL}`);
}

export interface RenewOptions {
  env?: NodeJS.ProcessEnv;
  /** Mints a web identity token for an audience; default: the GitHub OIDC token request. */
  mintToken?: (audience: string) => Promise<string>;
  /** Exchanges settings + a token (and, for chaining, source credentials) for a session; default: STS. */
  assume?: (settings: RoleSettings, auth: { webIdentityToken: string } | { credentials: Session }) => Promise<Session>;
  clock?: Clock;
  renewBeforeMs?: number;
  /** Called after each renewal (the log). */
  log?: (line: string) => void;
}

const oidcTokenRefused = (err: Error): UserError =>
  new UserError(
    `Renewing the AWS session: ${err.message}.`,
    'The job needs permissions: id-token: write; the token endpoint only serves the job that is running.',
  );

/** The job's GitHub OIDC token, as core.getIDToken requests it, retried on 5xx and network errors. */
async function githubIdToken(audience: string, env: NodeJS.ProcessEnv): Promise<string> {
  const base = env.ACTIONS_ID_TOKEN_REQUEST_URL as string;
  const url = `${base}${base.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`;
  const transient = (err: unknown) => !(err instanceof UserError);
  return retry(
    async () => {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}`, accept: 'application/json' },
      });
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        const err = new Error(
          `GitHub's OIDC token endpoint answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
        );
        if (res.status < 500 && res.status !== 429) throw oidcTokenRefused(err);
        throw err;
      }
      const value = ((await res.json()) as { value?: unknown }).value;
      if (typeof value !== 'string' || value === '')
        throw new Error("GitHub's OIDC token endpoint answered without a token");
      mask(value);
      return value;
    },
    { attempts: 4, isRetryable: transient, baseDelayMs: 1000 },
  );
}

async function defaultAssume(
  settings: RoleSettings,
  auth: { webIdentityToken: string } | { credentials: Session },
  env: NodeJS.ProcessEnv,
): Promise<Session> {
  const sts = await import('./sts.js');
  const endpointEnv = settings.stsEndpoint ? { ...env, AWS_ENDPOINT_URL_STS: settings.stsEndpoint } : env;
  const request = {
    roleArn: settings.roleArn,
    sessionName: settings.sessionName,
    durationSeconds: settings.durationSeconds,
    ...(settings.inlinePolicy ? { inlinePolicy: settings.inlinePolicy } : {}),
    ...(settings.managedPolicyArns?.length ? { managedPolicyArns: settings.managedPolicyArns } : {}),
  };
  // Throttling and 5xx are retried by the SDK (standard mode, 5 attempts with backoff).
  const client = { region: settings.region, maxAttempts: 5, env: endpointEnv, renew: false as const };
  if ('webIdentityToken' in auth)
    return sts.assumeRoleWithWebIdentity(client, { ...request, webIdentityToken: auth.webIdentityToken });
  const { accessKeyId, secretAccessKey, sessionToken } = auth.credentials;
  return sts.assumeRole({ ...client, credentials: { accessKeyId, secretAccessKey, sessionToken } }, request);
}

/**
 * A credential provider for AWS SDK v3 clients that renews the role session ahead of
 * expiry. It does its own memoization (`memoized: true` tells the SDK not to wrap it), so
 * one renewal serves every client of the process; concurrent callers share it.
 */
export interface RenewingCredentials {
  (): Promise<AwsCredentialIdentity>;
  memoized: true;
  /** How many sessions this process minted. */
  readonly renewals: number;
  /** The identity handed out last (what a failed call was probably signed with). */
  readonly current: AwsCredentialIdentity | undefined;
  /** AWS refused `identity` as expired: renew at the next call unless that already happened. */
  expired(identity: AwsCredentialIdentity | undefined): void;
}

const renewalFailed = (settings: RoleSettings, err: unknown): UserError =>
  new UserError(
    `Renewing the AWS session of ${settings.roleArn} (${settings.sessionName}) failed: ${errorMessage(err)}`,
    'The role and its trust policy are the ones aws-auth used earlier in this job; if AWS or GitHub had an outage, re-run the job. To avoid renewals, give aws-auth a role-duration-seconds that covers the whole job.',
    { cause: err },
  );

export function renewingCredentials(settings: RoleSettings, options: RenewOptions = {}): RenewingCredentials {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const early = options.renewBeforeMs ?? RENEW_BEFORE_MS;
  const mintToken = options.mintToken ?? ((audience: string) => githubIdToken(audience, env));
  const assume =
    options.assume ?? ((s: RoleSettings, auth: Parameters<typeof defaultAssume>[1]) => defaultAssume(s, auth, env));

  // The session aws-auth exported serves until it is near its end.
  let cached: AwsCredentialIdentity | undefined =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          expiration: new Date(settings.expiration),
        }
      : undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  let renewals = 0;

  const mint = async (s: RoleSettings): Promise<Session> => {
    if (s.source === 'role-chaining') {
      // Renew the session the chain started from, then chain again (at most 1 h, as AWS allows).
      const from = await mint(s.chainedFrom as RoleSettings);
      return assume(s, { credentials: from });
    }
    const token =
      s.source === 'web-identity-token-file' ? await readTokenFile(s.tokenFile as string) : await mintToken(s.audience);
    return assume(s, { webIdentityToken: token });
  };

  const renew = async (): Promise<AwsCredentialIdentity> => {
    let session: Session;
    try {
      session = await mint(settings);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw renewalFailed(settings, err);
    }
    mask(session.accessKeyId);
    mask(session.secretAccessKey);
    mask(session.sessionToken);
    renewals++;
    options.log?.(
      `Renewed the AWS session of ${settings.roleArn} (${settings.sessionName}); it now expires at ${session.expiration.toISOString()} (${formatDuration(session.expiration.getTime() - clock.now())} from now).`,
    );
    return {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
      expiration: session.expiration,
    };
  };

  const fresh = (c: AwsCredentialIdentity | undefined): c is AwsCredentialIdentity =>
    !!c && (!c.expiration || c.expiration.getTime() - clock.now() > early);

  const provider = (async () => {
    if (fresh(cached)) return cached;
    if (!pending) {
      pending = renew().then(
        (c) => {
          cached = c;
          pending = undefined;
          return c;
        },
        (err: unknown) => {
          pending = undefined;
          throw err;
        },
      );
    }
    return pending;
  }) as RenewingCredentials;
  Object.defineProperties(provider, {
    memoized: { value: true, writable: true },
    renewals: { get: () => renewals },
    current: { get: () => cached },
    expired: {
      value: (identity: AwsCredentialIdentity | undefined) => {
        if (cached && (!identity || identity.accessKeyId === cached.accessKeyId)) cached = undefined;
      },
    },
  });
  return provider;
}

async function readTokenFile(path: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new UserError(
      `Renewing the AWS session: cannot read the web identity token file '${path}': ${errorMessage(err)}`,
      'Keep the token file in place (and refreshed) for the whole job.',
    );
  }
  if (!token)
    throw new UserError(
      `Renewing the AWS session: the web identity token file '${path}' is empty.`,
      'Keep the token file in place (and refreshed) for the whole job.',
    );
  mask(token);
  return token;
}

const providers = new Map<string, RenewingCredentials>();

/**
 * The credentials every AWS client of this process uses when it is given none: the
 * renewing provider when this step can renew aws-auth's session, else undefined (the
 * SDK's default chain, i.e. the environment, exactly as without aws-auth's settings).
 * One provider per process and settings, so every client shares its renewals.
 */
export function jobCredentials(
  env: NodeJS.ProcessEnv = process.env,
  options: Omit<RenewOptions, 'env'> = {},
): RenewingCredentials | undefined {
  const r = renewability(env);
  if (!r.renewable) return undefined;
  const key = `${env[ROLE_SETTINGS_VARIABLE]}\n${env.AWS_ACCESS_KEY_ID}`;
  let provider = providers.get(key);
  if (!provider) {
    provider = renewingCredentials(r.settings, {
      log: (line) => process.stdout.write(`${line}${EOL}`),
      ...options,
      env,
    });
    providers.set(key, provider);
  }
  return provider;
}

/** Forgets the per-process providers (tests). */
export function resetJobCredentials(): void {
  providers.clear();
}

/**
 * The environment for a child process (terraform, the aws CLI) with the current
 * credentials: renewed first when they are near their end. A child process cannot renew
 * by itself, so call this before each command; a command running longer than the
 * session's remaining life can still see it expire. Without renewable settings: `env`.
 */
export async function credentialsEnv(env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const provider = jobCredentials(env);
  if (!provider) return env;
  const c = await provider();
  return {
    ...env,
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    ...(c.sessionToken ? { AWS_SESSION_TOKEN: c.sessionToken } : {}),
  };
}
