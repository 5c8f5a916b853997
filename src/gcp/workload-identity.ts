import { UserError } from '../util/errors.js';
import { googleEndpoint } from './endpoints.js';
import { GoogleApiError, googleJson } from './http.js';

/** A workload identity pool provider, e.g. projects/123/locations/global/workloadIdentityPools/github/providers/acme. */
export interface ProviderName {
  /** projects/N/locations/global/workloadIdentityPools/P/providers/X */
  name: string;
  projectNumber: string;
  pool: string;
  provider: string;
}

const PROVIDER = /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;

const notProviderName = (text: string, example: string): UserError =>
  new UserError(
    `workload-identity-provider '${text}' is not a provider's full resource name.`,
    `It looks like ${example}; copy it from IAM → Workload Identity Federation → the provider's page, or from \`gcloud iam workload-identity-pools providers describe\`.`,
  );

const projectIdNotNumber = (projectNumber: string, example: string): UserError =>
  new UserError(
    `workload-identity-provider uses the project id '${projectNumber}'; Google needs the project number here.`,
    `Find it with \`gcloud projects describe ${projectNumber} --format='value(projectNumber)'\` and write ${example.replace('123456789012', '<number>')}.`,
  );

/** Parses the provider's full resource name (a leading //iam.googleapis.com/ or https://iam.googleapis.com/ is accepted). */
export function parseProviderName(text: string): ProviderName {
  const name = text.trim().replace(/^(https:)?\/\/iam\.googleapis\.com\//, '');
  const m = PROVIDER.exec(name);
  const example = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/my-repo';
  if (!m) {
    throw notProviderName(text, example);
  }
  const [, projectNumber, pool, provider] = m as unknown as [string, string, string, string];
  if (!/^\d+$/.test(projectNumber)) {
    throw projectIdNotNumber(projectNumber, example);
  }
  return { name, projectNumber, pool, provider };
}

/** The audience GitHub's token must carry unless the provider lists others. */
export function defaultAudience(provider: ProviderName): string {
  return `https://iam.googleapis.com/${provider.name}`;
}

/** The principalSet that names every workflow run of one repository (needs attribute.repository mapped). */
export function repositoryPrincipalSet(provider: ProviderName, repository: string): string {
  return `principalSet://iam.googleapis.com/projects/${provider.projectNumber}/locations/global/workloadIdentityPools/${provider.pool}/attribute.repository/${repository}`;
}

export interface FederatedToken {
  accessToken: string;
  expiresAt: Date;
}

/** Exchanges a GitHub OIDC token for a federated Google access token (Security Token Service). */
export async function exchangeToken(
  provider: ProviderName,
  subjectToken: string,
  scopes: string[],
  signal?: AbortSignal,
): Promise<FederatedToken> {
  const started = Date.now();
  const out = await googleJson<{ access_token?: string; expires_in?: number }>(`${googleEndpoint('sts')}/v1/token`, {
    body: {
      audience: `//iam.googleapis.com/${provider.name}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: scopes.join(' '),
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken,
    },
    signal,
  });
  if (!out.access_token) throw new Error('Google STS answered without an access_token.');
  return { accessToken: out.access_token, expiresAt: new Date(started + (out.expires_in ?? 3600) * 1000) };
}

/** A CEL attribute condition that admits exactly the job behind these claims. */
export function suggestedCondition(claims: Record<string, unknown>): string {
  const parts = [`assertion.repository == '${String(claims.repository ?? 'OWNER/REPO')}'`];
  if (claims.environment) parts.push(`assertion.environment == '${String(claims.environment)}'`);
  else if (claims.ref) parts.push(`assertion.ref == '${String(claims.ref)}'`);
  return parts.join(' && ');
}

const conditionRejected = (
  err: GoogleApiError,
  detail: string,
  job: string,
  provider: ProviderName,
  claims: Record<string, unknown>,
): UserError =>
  new UserError(
    `Google refused this job's token: the provider's attribute condition rejects it (${err.code}: ${detail}).\n${job}`,
    `Compare the condition of ${provider.name} with these claims. A condition that admits exactly this job:\n  ${suggestedCondition(claims)}\n` +
      'Every claim a condition reads must also be mapped (attribute mapping, e.g. attribute.repository=assertion.repository).',
  );

const unknownProvider = (provider: ProviderName, err: GoogleApiError, detail: string): UserError =>
  new UserError(
    `Google does not know the provider ${provider.name}, or it is disabled (${err.code}: ${detail}).`,
    'Check the project number, pool and provider ids (`gcloud iam workload-identity-pools providers list --location=global --workload-identity-pool=POOL`), and that neither is disabled or deleted.',
  );

const audienceRefused = (audience: string, err: GoogleApiError, detail: string, provider: ProviderName): UserError =>
  new UserError(
    `Google refused the token's audience '${audience}' (${err.code}: ${detail}).`,
    `Leave the audience input empty to use the provider's default (${defaultAudience(provider)}), or add '${audience}' to the provider's allowed audiences.`,
  );

const issuerUnverified = (err: GoogleApiError, detail: string): UserError =>
  new UserError(
    `Google could not verify this job's token against the provider's issuer (${err.code}: ${detail}).`,
    "The provider's issuer URI must be https://token.actions.githubusercontent.com (or your enterprise's issuer).",
  );

/** Turns an STS refusal into what to change in the provider, with this job's claims. */
export function explainExchangeFailure(
  err: unknown,
  provider: ProviderName,
  audience: string,
  claims: Record<string, unknown>,
  claimsText: string,
): UserError | undefined {
  if (!(err instanceof GoogleApiError) || err.httpStatus >= 500) return undefined;
  const detail = err.detail;
  const job = `This job's token carries:\n${claimsText}`;
  if (/attribute condition/i.test(detail)) {
    return conditionRejected(err, detail, job, provider, claims);
  }
  if (err.code === 'invalid_target' || /pool or provider is disabled|does not exist|not found/i.test(detail)) {
    return unknownProvider(provider, err, detail);
  }
  if (/audience/i.test(detail)) {
    return audienceRefused(audience, err, detail, provider);
  }
  if (/issuer|signature|jwks|verif/i.test(detail)) {
    return issuerUnverified(err, detail);
  }
  return new UserError(`Google STS refused the token exchange (${err.code}: ${detail}).\n${job}`);
}
