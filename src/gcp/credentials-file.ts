import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { googleEndpoint } from './endpoints.js';
import type { ProviderName } from './workload-identity.js';

/**
 * An `external_account` credentials file (the format Google's client libraries and gcloud
 * read). It holds no Google token: the libraries re-mint the GitHub OIDC token from
 * `credential_source.url` whenever they need one, so it keeps working for the whole job.
 */
export interface ExternalAccountConfig {
  type: 'external_account';
  audience: string;
  subject_token_type: string;
  token_url: string;
  credential_source: {
    url: string;
    headers: Record<string, string>;
    format: { type: 'json'; subject_token_field_name: string };
  };
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds: number };
}

export function externalAccountConfig(options: {
  provider: ProviderName;
  audience: string;
  tokenRequestUrl: string;
  tokenRequestToken: string;
  serviceAccount?: string;
  lifetimeSeconds: number;
}): ExternalAccountConfig {
  const url = new URL(options.tokenRequestUrl);
  url.searchParams.set('audience', options.audience);
  return {
    type: 'external_account',
    audience: `//iam.googleapis.com/${options.provider.name}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${googleEndpoint('sts')}/v1/token`,
    credential_source: {
      url: url.toString(),
      headers: { Authorization: `Bearer ${options.tokenRequestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
    ...(options.serviceAccount
      ? {
          service_account_impersonation_url: `${googleEndpoint('iamcredentials')}/v1/projects/-/serviceAccounts/${options.serviceAccount}:generateAccessToken`,
          service_account_impersonation: { token_lifetime_seconds: options.lifetimeSeconds },
        }
      : {}),
  };
}

function inside(dir: string, parent: string): boolean {
  const rel = relative(resolve(parent), resolve(dir));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const runnerTempInWorkspace = (runnerTemp: string, workspace: string): UserError =>
  new UserError(
    `RUNNER_TEMP (${runnerTemp}) is inside the workspace (${workspace}); a credentials file there could end up in a build context or an artifact.`,
    'Configure the runner so its temp folder is outside the workspace, or set create-credentials-file: false.',
  );

/**
 * Writes the file with mode 0600 under the runner's temp folder, never under the
 * workspace: there a `docker build .` or an artifact upload would carry it away.
 */
export async function writeCredentialsFile(
  config: ExternalAccountConfig,
  runnerTemp: string | undefined,
  workspace: string | undefined,
): Promise<string> {
  if (!runnerTemp) {
    throw new UserError(
      'RUNNER_TEMP is not set, so there is no safe place for the credentials file.',
      'Run this action on a GitHub Actions runner, or set create-credentials-file: false.',
    );
  }
  if (workspace && inside(runnerTemp, workspace)) {
    throw runnerTempInWorkspace(runnerTemp, workspace);
  }
  const path = join(runnerTemp, `gha-creds-${randomBytes(8).toString('hex')}.json`);
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600, flag: 'wx' });
  return path;
}

export async function removeCredentialsFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
