import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { UserError } from '../util/errors.js';
import { cannotRenewHint, isExpiredCredentials } from './credential-limits.js';
import { jobCredentials, type RenewingCredentials } from './credentials.js';

/** What every AWS client of ours is made from. */
export interface AwsClientOptions {
  region: string;
  /** Total attempts per call (1 = no retries). Default 3. */
  maxAttempts?: number;
  /**
   * Explicit credentials; otherwise aws-auth's session, renewed before it expires when this
   * step can renew it (see credentials.ts), else the SDK's default chain (the environment).
   */
  credentials?: AwsCredentialIdentity;
  /** false: never attach the renewing provider (the STS calls that renew). */
  renew?: false;
  /** Environment to read endpoint overrides from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** Checks a region name before any call, so a typo is not a network error. */
export function assertRegion(region: string, what = 'aws-region'): string {
  if (!REGION.test(region)) {
    throw new UserError(
      `${what} '${region}' is not an AWS region name.`,
      'Use a region code such as us-east-1 or eu-west-2.',
    );
  }
  return region;
}

/**
 * The region an action works in: its `aws-region` input, else AWS_REGION /
 * AWS_DEFAULT_REGION (which aws-auth exports); checked.
 */
export function resolveRegion(input: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const region = input ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new UserError(
      'No AWS region: aws-region is empty and neither AWS_REGION nor AWS_DEFAULT_REGION is set.',
      'Set aws-region, or run aws-auth (which exports AWS_REGION) earlier in the job.',
    );
  }
  return assertRegion(region);
}

/**
 * The endpoint for a service from the standard variables: AWS_ENDPOINT_URL_<SERVICE>
 * (service id upper-cased, spaces to underscores, e.g. ELASTIC_LOAD_BALANCING_V2),
 * then AWS_ENDPOINT_URL; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
 */
export function endpointFor(serviceId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  const key = `AWS_ENDPOINT_URL_${serviceId.toUpperCase().replace(/[\s-]+/g, '_')}`;
  return env[key] || env.AWS_ENDPOINT_URL || undefined;
}

type ClientConfig = {
  region: string;
  maxAttempts: number;
  retryMode: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  customUserAgent: string;
};

type Middleware = (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>;
type WithStack = { middlewareStack?: { add(m: Middleware, o: { step: 'initialize'; name: string }): void } };

/**
 * AWS may refuse a session before the expiry we know of (clock skew, a revoked session):
 * on ExpiredToken the renewing provider drops that session and the call is made once
 * more with a new one. Without a renewing provider the error says why nothing renewed.
 */
function onExpiredToken(client: WithStack, provider: RenewingCredentials | undefined, env: NodeJS.ProcessEnv): void {
  client.middlewareStack?.add(
    (next) => async (args) => {
      const used = provider?.current;
      try {
        return await next(args);
      } catch (err) {
        if (!isExpiredCredentials(err)) throw err;
        let refused = err as Error;
        if (provider) {
          provider.expired(used);
          try {
            return await next(args);
          } catch (again) {
            if (!isExpiredCredentials(again)) throw again;
            refused = again as Error;
          }
        }
        refused.message = `${refused.message} ${cannotRenewHint(env)}`;
        throw refused;
      }
    },
    { step: 'initialize', name: 'platformActionsExpiredToken' },
  );
}

/**
 * The one way to make an AWS SDK v3 client: region checked, standard retry mode
 * (exponential backoff with jitter for throttling, 5xx and timeouts; never for
 * AccessDenied or validation errors), endpoint overrides honoured.
 */
export function awsClient<C>(Client: new (config: ClientConfig) => C, serviceId: string, options: AwsClientOptions): C {
  const env = options.env ?? process.env;
  const endpoint = endpointFor(serviceId, env);
  const renewing = options.credentials || options.renew === false ? undefined : jobCredentials(env);
  const credentials = options.credentials ?? renewing;
  const client = new Client({
    region: assertRegion(options.region),
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    customUserAgent: 'platform-actions',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  if (!options.credentials) onExpiredToken(client as WithStack, renewing, env);
  return client;
}

/** The AWS error code of a thrown SDK error, if it is one. */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: unknown };
  if (!e || typeof e !== 'object' || !('$metadata' in e)) return undefined;
  return e.Code ?? e.name;
}
