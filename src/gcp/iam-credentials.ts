import { UserError } from '../util/errors.js';
import { googleEndpoint } from './endpoints.js';
import { GoogleApiError, googleJson } from './http.js';
import { repositoryPrincipalSet, type ProviderName } from './workload-identity.js';

const SERVICE_ACCOUNT =
  /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$|^[a-z0-9-]+@(developer|appspot|cloudbuild)\.gserviceaccount\.com$|^[\w.-]+@[\w.-]+\.gserviceaccount\.com$/;

export function isServiceAccountEmail(text: string): boolean {
  return SERVICE_ACCOUNT.test(text);
}

/** The project id of a user-managed service account (name@PROJECT.iam.gserviceaccount.com). */
export function projectOfServiceAccount(email: string): string | undefined {
  return /@([a-z0-9-]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1];
}

function url(serviceAccount: string, method: string): string {
  return `${googleEndpoint('iamcredentials')}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:${method}`;
}

export interface ImpersonatedToken {
  accessToken: string;
  expiresAt: Date;
}

/** An OAuth access token for the service account, minted with the federated token. */
export async function generateAccessToken(
  federatedToken: string,
  serviceAccount: string,
  options: { scopes: string[]; lifetimeSeconds: number; delegates: string[]; signal?: AbortSignal },
): Promise<ImpersonatedToken> {
  const out = await googleJson<{ accessToken?: string; expireTime?: string }>(
    url(serviceAccount, 'generateAccessToken'),
    {
      token: federatedToken,
      body: {
        scope: options.scopes,
        lifetime: `${options.lifetimeSeconds}s`,
        ...(options.delegates.length
          ? { delegates: options.delegates.map((d) => `projects/-/serviceAccounts/${d}`) }
          : {}),
      },
      signal: options.signal,
    },
  );
  if (!out.accessToken || !out.expireTime) throw new Error('IAM Credentials answered without accessToken/expireTime.');
  return { accessToken: out.accessToken, expiresAt: new Date(out.expireTime) };
}

/** A Google-signed ID token for the service account, for calling Cloud Run, IAP and the like. */
export async function generateIdToken(
  federatedToken: string,
  serviceAccount: string,
  options: { audience: string; includeEmail: boolean; delegates: string[]; signal?: AbortSignal },
): Promise<string> {
  const out = await googleJson<{ token?: string }>(url(serviceAccount, 'generateIdToken'), {
    token: federatedToken,
    body: {
      audience: options.audience,
      includeEmail: options.includeEmail,
      ...(options.delegates.length
        ? { delegates: options.delegates.map((d) => `projects/-/serviceAccounts/${d}`) }
        : {}),
    },
    signal: options.signal,
  });
  if (!out.token) throw new Error('IAM Credentials answered without a token.');
  return out.token;
}

const impersonationDenied = (
  serviceAccount: string,
  err: GoogleApiError,
  provider: ProviderName,
  repository: string,
): UserError =>
  new UserError(
    `The federated identity may not impersonate ${serviceAccount} (${err.code}: ${err.detail}).`,
    `Grant it roles/iam.workloadIdentityUser on the service account, for example:\n` +
      `  gcloud iam service-accounts add-iam-policy-binding ${serviceAccount} \\\n` +
      `    --role=roles/iam.workloadIdentityUser \\\n` +
      `    --member="${repositoryPrincipalSet(provider, repository || 'OWNER/REPO')}"\n` +
      'This member needs attribute.repository mapped in the provider. Also check that the IAM Service Account Credentials API is enabled.',
  );

const impersonationRejected = (serviceAccount: string, err: GoogleApiError): UserError =>
  new UserError(
    `IAM Credentials rejected the request for ${serviceAccount} (${err.code}: ${err.detail}).`,
    'A lifetime above 3600s needs the constraints/iam.allowServiceAccountCredentialLifetimeExtension organisation policy.',
  );

/** Explains an impersonation refusal: usually a missing roles/iam.workloadIdentityUser binding. */
export function explainImpersonationFailure(
  err: unknown,
  provider: ProviderName,
  serviceAccount: string,
  repository: string,
): UserError | undefined {
  if (!(err instanceof GoogleApiError) || err.httpStatus >= 500) return undefined;
  if (err.httpStatus === 403 || err.code === 'PERMISSION_DENIED') {
    return impersonationDenied(serviceAccount, err, provider, repository);
  }
  if (err.httpStatus === 404 || err.code === 'NOT_FOUND') {
    return new UserError(
      `Google has no service account ${serviceAccount} (${err.detail}).`,
      'Check the service-account input.',
    );
  }
  if (err.httpStatus === 400) {
    return impersonationRejected(serviceAccount, err);
  }
  return undefined;
}
