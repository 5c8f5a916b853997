import { exportVariable, info, saveState, setSecret, warning } from '@actions/core';
import { externalAccountConfig, writeCredentialsFile } from '../../gcp/credentials-file.js';
import { endpointsOverridden, TEST_ENDPOINTS_VARIABLE } from '../../gcp/endpoints.js';
import { explainImpersonationFailure, generateAccessToken, generateIdToken } from '../../gcp/iam-credentials.js';
import { exchangeToken, explainExchangeFailure } from '../../gcp/workload-identity.js';
import { runContext } from '../../github/context.js';
import { code, facts, heading } from '../../github/markdown.js';
import { decodeClaims, describeClaims, requestIdToken } from '../../github/oidc.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { formatDuration } from '../../util/duration.js';
import { CREDENTIAL_VARIABLES, EXPORTED_STATE, FILE_STATE, PROJECT_VARIABLES } from './post.js';
import type { Settings } from './settings.js';

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  if (endpointsOverridden())
    warning(
      `Google API endpoints are overridden by ${TEST_ENDPOINTS_VARIABLE}; this is for platform-actions' own tests only.`,
    );
  const repository = runContext().repository;

  info(`Requesting a GitHub OIDC token for audience ${s.audience}.`);
  const githubToken = await requestIdToken(s.audience);
  const claims = decodeClaims(githubToken);

  info(`Exchanging it with Google STS through ${s.provider.name}.`);
  const federated = await exchangeToken(s.provider, githubToken, s.scopes, ctx.signal).catch((err: unknown) => {
    throw explainExchangeFailure(err, s.provider, s.audience, claims, describeClaims(claims)) ?? err;
  });
  setSecret(federated.accessToken);

  const impersonationFailed = (err: unknown) => {
    throw explainImpersonationFailure(err, s.provider, s.serviceAccount ?? '', repository) ?? err;
  };

  let accessToken: { token: string; expiresAt: Date } | undefined;
  let idToken: string | undefined;
  if (s.serviceAccount && s.tokenFormat === 'id_token') {
    info(`Minting an ID token for ${s.serviceAccount} (audience ${s.idTokenAudience}).`);
    idToken = await generateIdToken(federated.accessToken, s.serviceAccount, {
      audience: s.idTokenAudience ?? '',
      includeEmail: s.idTokenIncludeEmail,
      delegates: s.delegates,
      signal: ctx.signal,
    }).catch(impersonationFailed);
    setSecret(idToken);
  } else if (s.serviceAccount) {
    // Minted even without token-format: a missing workloadIdentityUser binding fails here,
    // with an explanation, instead of in a later gcloud or Terraform step.
    info(`Impersonating ${s.serviceAccount}.`);
    const t = await generateAccessToken(federated.accessToken, s.serviceAccount, {
      scopes: s.scopes,
      lifetimeSeconds: s.lifetimeSeconds,
      delegates: s.delegates,
      signal: ctx.signal,
    }).catch(impersonationFailed);
    setSecret(t.accessToken);
    accessToken = { token: t.accessToken, expiresAt: t.expiresAt };
  } else {
    accessToken = { token: federated.accessToken, expiresAt: federated.expiresAt };
  }

  if (s.tokenFormat === 'access_token' && accessToken) {
    outputs.set('access-token', accessToken.token);
    outputs.set('access-token-expiration', accessToken.expiresAt.toISOString());
    const left = accessToken.expiresAt.getTime() - Date.now();
    if (!s.serviceAccount && left < s.lifetimeSeconds * 1000 - 60_000) {
      warning(
        `The direct-federation access token expires in ${formatDuration(left)}, with the GitHub token it came from, not in ${formatDuration(s.lifetimeSeconds * 1000)}. ` +
          'For longer work use the credentials file (it re-mints tokens as needed) or set service-account.',
      );
    }
  }
  if (idToken) outputs.set('id-token', idToken);

  let file: string | undefined;
  if (s.createCredentialsFile) {
    const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? '';
    setSecret(requestToken);
    const config = externalAccountConfig({
      provider: s.provider,
      audience: s.audience,
      tokenRequestUrl: process.env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '',
      tokenRequestToken: requestToken,
      serviceAccount: s.serviceAccount,
      lifetimeSeconds: Math.min(s.lifetimeSeconds, 3600),
    });
    file = await writeCredentialsFile(config, process.env.RUNNER_TEMP, process.env.GITHUB_WORKSPACE);
    saveState(FILE_STATE, file);
    outputs.set('credentials-file-path', file);
    info(`Wrote the credentials file ${file} (mode 0600, deleted by the post step).`);
  }

  if (s.exportEnv) {
    if (file) for (const name of CREDENTIAL_VARIABLES) exportVariable(name, file);
    if (s.projectId) for (const name of PROJECT_VARIABLES) exportVariable(name, s.projectId);
    saveState(EXPORTED_STATE, 'true');
  }
  outputs.set('project-id', s.projectId ?? '');

  const identity = s.serviceAccount
    ? `service account ${code(s.serviceAccount)}`
    : `federated principal ${code(String(claims.sub ?? ''))}`;
  info(
    `Authenticated to Google Cloud as ${s.serviceAccount ?? `the federated identity (${String(claims.sub ?? '')})`}.`,
  );
  await writeSummary(
    heading('Google Cloud credentials') +
      facts([
        ['Identity', identity],
        ['Provider', code(s.provider.name)],
        ['Project', s.projectId ? code(s.projectId) : '(none)'],
        ['Credentials file', file ? `${code(file)} (deleted by the post step)` : 'not created'],
        ['Token output', s.tokenFormat ?? 'none'],
        ...(accessToken && s.tokenFormat === 'access_token'
          ? ([['Access token expires', accessToken.expiresAt.toISOString()]] as Array<[string, string]>)
          : []),
      ]),
  );
}
