import { readFile } from 'node:fs/promises';
import { getIDToken, setSecret } from '@actions/core';
import { errorMessage, UserError } from '../util/errors.js';

/** The claims of a GitHub Actions OIDC token that trust policies match on. */
export interface TokenClaims {
  iss?: string;
  aud?: string | string[];
  sub?: string;
  repository?: string;
  repository_owner?: string;
  ref?: string;
  ref_type?: string;
  environment?: string;
  event_name?: string;
  job_workflow_ref?: string;
  workflow_ref?: string;
  run_id?: string;
  exp?: number;
  [claim: string]: unknown;
}

/** The claims worth showing when a cloud refuses a token; none of them is secret. */
export const EXPLAINED_CLAIMS = [
  'sub',
  'aud',
  'repository',
  'repository_id',
  'repository_owner_id',
  'ref',
  'environment',
  'job_workflow_ref',
  'event_name',
] as const;

export const ID_TOKEN_PERMISSION_HINT =
  'Give the job permission to request one: add\n' +
  '  permissions:\n    id-token: write\n    contents: read\n' +
  'to the job (or the workflow). When a reusable workflow authenticates, its caller job needs it too. ' +
  'Workflows triggered by pull requests from forks never receive an OIDC token.';

const idTokenRefused = (audience: string, err: unknown): UserError =>
  new UserError(
    `GitHub refused or failed to issue an OIDC token for audience '${audience}': ${errorMessage(err)}`,
    'Check that the job has `permissions: id-token: write`; if it does, this is a GitHub outage: re-run the job.',
    { cause: err },
  );

/**
 * Requests the job's OIDC token for `audience` and masks it before returning.
 * Explains the usual cause when the runner offers no token.
 */
export async function requestIdToken(audience: string): Promise<string> {
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new UserError(
      'This job cannot request a GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
      ID_TOKEN_PERMISSION_HINT,
    );
  }
  let token: string;
  try {
    token = await getIDToken(audience);
  } catch (err) {
    throw idTokenRefused(audience, err);
  }
  setSecret(token);
  return token;
}

/** Reads a web identity token from a file (self-hosted runners, EKS), masked. */
export async function readIdTokenFile(path: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new UserError(
      `Cannot read the web identity token file '${path}': ${errorMessage(err)}`,
      'Check the path of web-identity-token-file.',
    );
  }
  if (token === '') throw new UserError(`The web identity token file '${path}' is empty.`);
  setSecret(token);
  return token;
}

/**
 * Reads a JWT's claims without verifying it (the cloud verifies it); used only to
 * explain a refusal. Returns {} for anything that is not a JWT.
 */
export function decodeClaims(jwt: string): TokenClaims {
  const payload = jwt.split('.')[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' ? (claims as TokenClaims) : {};
  } catch {
    return {};
  }
}

/** `claim: value` lines for the claims a trust condition can match. */
export function describeClaims(claims: TokenClaims): string {
  return EXPLAINED_CLAIMS.filter((name) => claims[name] !== undefined)
    .map(
      (name) =>
        `  ${name}: ${Array.isArray(claims[name]) ? (claims[name] as string[]).join(', ') : String(claims[name])}`,
    )
    .join('\n');
}
