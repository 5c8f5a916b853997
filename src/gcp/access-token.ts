/**
 * Google access tokens for steps after gcp-auth. gcp-auth leaves an `external_account`
 * credentials file (GOOGLE_APPLICATION_CREDENTIALS) that holds no token: like Google's
 * client libraries, we re-mint one from it whenever the last is about to expire: the
 * GitHub OIDC token from `credential_source`, Google STS, and the service account's
 * generateAccessToken when the file names one. The same code gcp-auth itself uses.
 */
import { readFileSync } from 'node:fs';
import { errorMessage, UserError } from '../util/errors.js';
import type { ExternalAccountConfig } from './credentials-file.js';
import { explainImpersonationFailure, generateAccessToken } from './iam-credentials.js';
import { exchangeToken, parseProviderName, type ProviderName } from './workload-identity.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Variables that name the credentials file, in the order we look at them. */
export const CREDENTIALS_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE',
  'GOOGLE_GHA_CREDS_PATH',
];

/** Renew this long before a token expires. */
const EARLY_MS = 5 * 60_000;

export interface GoogleTokenSource {
  /** A token valid for a few minutes at least; renewed as needed. */
  token(signal?: AbortSignal): Promise<string>;
  /** The service account, or the provider for direct federation, for messages. */
  readonly identity: string;
}

export interface TokenSourceOptions {
  /** The credentials file; default: the first of CREDENTIALS_VARIABLES that is set. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  scopes?: string[];
  /** Called with every new token before it is used (to mask it). */
  onToken?: (token: string) => void;
}

type CredentialSource = ExternalAccountConfig['credential_source'] & {
  file?: string;
  format?: { type: 'json' | 'text'; subject_token_field_name?: string };
};

interface CredentialsFile {
  type?: string;
  audience?: string;
  subject_token_type?: string;
  credential_source?: Partial<CredentialSource>;
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds?: number };
}

const noGoogleCredentials = (): UserError =>
  new UserError(
    'No Google credentials are available to this step (GOOGLE_APPLICATION_CREDENTIALS is not set).',
    'Run platform-actions gcp-auth (or google-github-actions/auth) earlier in the same job, with create-credentials-file and export-environment-variables left true.',
  );

function noCredentials(): UserError {
  return noGoogleCredentials();
}

const oidcRenewalRefused = (res: Response): UserError =>
  new UserError(
    `The GitHub OIDC token endpoint refused to issue a new token for the Google credentials (HTTP ${res.status}).`,
    'The credentials file only works inside the job that created it, with permissions: id-token: write.',
  );

const unreadableCredentialSource = (file: string): UserError =>
  new UserError(
    `The credentials file ${file} has a credential_source platform-actions cannot read (only url and file sources).`,
    'Create it with gcp-auth.',
  );

async function subjectToken(source: Partial<CredentialSource>, file: string, signal?: AbortSignal): Promise<string> {
  let text: string;
  if (source.url) {
    let res: Response;
    try {
      res = await fetch(source.url, { headers: source.headers ?? {}, signal });
    } catch (err) {
      throw new Error(
        `Cannot fetch the subject token for ${file} from ${new URL(source.url).host}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`,
        { cause: err },
      );
    }
    text = await res.text();
    if (!res.ok) {
      throw oidcRenewalRefused(res);
    }
  } else if (source.file) {
    text = readFileSync(source.file, 'utf8');
  } else {
    throw unreadableCredentialSource(file);
  }
  if (source.format?.type === 'json') {
    const field = source.format.subject_token_field_name ?? 'value';
    const value = (JSON.parse(text) as Record<string, unknown>)[field];
    if (typeof value !== 'string' || !value) throw new Error(`The subject token answer has no ${field} field.`);
    return value;
  }
  return text.trim();
}

function readCredentials(path: string): CredentialsFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CredentialsFile;
  } catch (err) {
    throw new UserError(
      `Cannot read the Google credentials file ${path}: ${errorMessage(err)}`,
      'Run gcp-auth earlier in this job; its post step deletes the file at the end of the job.',
    );
  }
}

const unsupportedCredentialsType = (path: string, creds: CredentialsFile): UserError =>
  new UserError(
    `The Google credentials file ${path} is of type '${creds.type ?? 'unknown'}'; platform-actions uses Workload Identity Federation (external_account) credentials.`,
    'Authenticate with gcp-auth (keyless) instead of a service account key.',
  );

const unsupportedSubjectToken = (path: string, creds: CredentialsFile): UserError =>
  new UserError(
    `The credentials file ${path} exchanges a ${creds.subject_token_type} token; platform-actions supports OIDC (JWT) subject tokens only.`,
  );

/** A token source over gcp-auth's credentials file (external_account). */
export function googleTokenSource(options: TokenSourceOptions = {}): GoogleTokenSource {
  const env = options.env ?? process.env;
  const path = options.path ?? CREDENTIALS_VARIABLES.map((v) => env[v]).find((v) => v);
  if (!path) throw noCredentials();
  const creds = readCredentials(path);
  if (creds.type !== 'external_account') {
    throw unsupportedCredentialsType(path, creds);
  }
  if (
    !['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'].includes(
      creds.subject_token_type ?? '',
    )
  ) {
    throw unsupportedSubjectToken(path, creds);
  }
  const provider: ProviderName = parseProviderName(creds.audience ?? '');
  const impersonation = /\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(
    creds.service_account_impersonation_url ?? '',
  );
  const serviceAccount = impersonation ? decodeURIComponent(impersonation[1] as string) : undefined;
  const scopes = options.scopes ?? [CLOUD_PLATFORM_SCOPE];
  const lifetimeSeconds = creds.service_account_impersonation?.token_lifetime_seconds ?? 3600;

  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function mint(signal?: AbortSignal): Promise<string> {
    const subject = await subjectToken(creds.credential_source ?? {}, path as string, signal);
    const federated = await exchangeToken(provider, subject, scopes, signal);
    options.onToken?.(federated.accessToken);
    let token = federated.accessToken;
    let expiresAt = federated.expiresAt.getTime();
    if (serviceAccount) {
      const t = await generateAccessToken(federated.accessToken, serviceAccount, {
        scopes,
        lifetimeSeconds,
        delegates: [],
        signal,
      }).catch((err: unknown) => {
        throw explainImpersonationFailure(err, provider, serviceAccount, env.GITHUB_REPOSITORY ?? '') ?? err;
      });
      options.onToken?.(t.accessToken);
      token = t.accessToken;
      expiresAt = t.expiresAt.getTime();
    }
    // Renew 5 minutes early, or half-way for tokens that live less than 10 minutes.
    const now = Date.now();
    current = { token, renewAt: expiresAt - Math.min(EARLY_MS, (expiresAt - now) / 2) };
    return token;
  }

  return {
    identity: serviceAccount ?? `the federated identity of ${provider.name}`,
    async token(signal?: AbortSignal): Promise<string> {
      if (current && Date.now() < current.renewAt) return current.token;
      // One renewal at a time, however many requests ask.
      pending ??= mint(signal).finally(() => (pending = undefined));
      return pending;
    },
  };
}
