import { exportVariable, info, saveState, setSecret } from '@actions/core';
import type { RoleArn } from '../../aws/arn.js';
import { endpointFor } from '../../aws/client.js';
import {
  keyFingerprint,
  renewability,
  ROLE_SETTINGS_VARIABLE,
  type Renewability,
  type RoleSettings,
} from '../../aws/role-settings.js';
import { explainWebIdentityFailure } from '../../aws/trust-policy.js';
import { code, facts, heading } from '../../github/markdown.js';
import { decodeClaims, describeClaims, readIdTokenFile, requestIdToken } from '../../github/oidc.js';
import { outputs } from '../../github/outputs.js';
import { writeSummary } from '../../github/summary.js';
import type { CallerIdentity } from '../../aws/sts.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import { EXPORTED_STATE } from './post.js';
import type { Settings } from './settings.js';

const accountNotAllowed = (identity: CallerIdentity, s: Settings): UserError =>
  new UserError(
    `The credentials belong to account ${identity.account}, which allowed-account-ids (${s.allowedAccounts.join(', ')}) does not allow. Nothing was exported.`,
    'Check role-to-assume and allowed-account-ids.',
  );

export async function main(s: Settings): Promise<void> {
  if (s.maskAccountId) setSecret(s.role.accountId);
  // Before anything is exported: a chain renews from the session that is in the environment now.
  const chainSource = s.roleChaining ? renewability() : undefined;
  // The SDK is loaded only now, after the inputs are known to be good.
  const sts = await import('../../aws/sts.js');
  const client = { region: s.region, maxAttempts: s.maxAttempts };
  const request = {
    roleArn: s.role.arn,
    sessionName: s.sessionName,
    durationSeconds: s.durationSeconds,
    ...(s.inlinePolicy ? { inlinePolicy: s.inlinePolicy } : {}),
    managedPolicyArns: s.managedPolicyArns,
  };

  let session;
  if (s.roleChaining) {
    if (!process.env.AWS_ACCESS_KEY_ID) {
      throw new UserError(
        'role-chaining is true but no AWS credentials are in the environment.',
        'Run aws-auth once without role-chaining first; its credentials are then used to assume this role.',
      );
    }
    info(
      `Assuming ${s.role.arn} with the credentials already in the environment (role chaining), session ${s.sessionName}.`,
    );
    session = await sts.assumeRole(client, request).catch((err: unknown) => {
      throw explainChainingFailure(err, s.role) ?? err;
    });
  } else {
    const token = s.tokenFile
      ? await readIdTokenFile(s.tokenFile)
      : (info(`Requesting a GitHub OIDC token for audience ${s.audience}.`), await requestIdToken(s.audience));
    info(`Assuming ${s.role.arn} as session ${s.sessionName} for ${formatDuration(s.durationSeconds * 1000)}.`);
    session = await sts
      .assumeRoleWithWebIdentity(client, { ...request, webIdentityToken: token })
      .catch((err: unknown) => {
        const claims = decodeClaims(token);
        throw (
          explainWebIdentityFailure(err, {
            role: s.role,
            audience: s.audience,
            claims,
            claimsText: describeClaims(claims),
            durationSeconds: s.durationSeconds,
          }) ?? err
        );
      });
  }
  setSecret(session.accessKeyId);
  setSecret(session.secretAccessKey);
  setSecret(session.sessionToken);

  const identity = await sts.getCallerIdentity({
    ...client,
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    },
  });
  if (s.maskAccountId) setSecret(identity.account);
  if (s.allowedAccounts.length > 0 && !s.allowedAccounts.includes(identity.account)) {
    throw accountNotAllowed(identity, s);
  }

  if (s.exportEnv) {
    exportVariable('AWS_ACCESS_KEY_ID', session.accessKeyId);
    exportVariable('AWS_SECRET_ACCESS_KEY', session.secretAccessKey);
    exportVariable('AWS_SESSION_TOKEN', session.sessionToken);
    exportVariable('AWS_REGION', s.region);
    exportVariable('AWS_DEFAULT_REGION', s.region);
    // What later steps need to renew this session (nothing secret; see aws/credentials.ts).
    exportVariable(ROLE_SETTINGS_VARIABLE, JSON.stringify(roleSettings(s, session, chainSource)));
    saveState(EXPORTED_STATE, 'true');
  }
  const expiration = session.expiration.toISOString();
  outputs.set('aws-account-id', identity.account);
  outputs.set('aws-role-arn', s.role.arn);
  outputs.set('aws-assumed-role-arn', identity.arn);
  outputs.set('aws-expiration', expiration);
  if (s.outputCredentials) {
    outputs.set('aws-access-key-id', session.accessKeyId);
    outputs.set('aws-secret-access-key', session.secretAccessKey);
    outputs.set('aws-session-token', session.sessionToken);
  }

  info(`Authenticated as ${identity.arn}; the credentials expire at ${expiration}.`);
  const account = s.maskAccountId ? '(masked)' : code(identity.account);
  await writeSummary(
    heading('AWS credentials') +
      facts([
        ['Role', s.maskAccountId ? code(s.role.name) : code(s.role.arn)],
        ['Account', account],
        ['Session', code(s.sessionName)],
        ['Region', code(s.region)],
        ['Expires', `${expiration} (${formatDuration(session.expiration.getTime() - Date.now())} from now)`],
        ['Exported to later steps', s.exportEnv ? 'yes' : 'no'],
      ]),
  );
}

/**
 * The settings later steps renew this session with. A chained session records the one it
 * was chained from (renewed first, then chained again) when that one came from aws-auth.
 */
function roleSettings(
  s: Settings,
  session: { accessKeyId: string; expiration: Date },
  before: Renewability | undefined,
): RoleSettings {
  const stsEndpoint = endpointFor('STS');
  return {
    version: 1,
    source: s.roleChaining ? 'role-chaining' : s.tokenFile ? 'web-identity-token-file' : 'github-oidc',
    roleArn: s.role.arn,
    sessionName: s.sessionName,
    durationSeconds: s.durationSeconds,
    audience: s.audience,
    ...(s.tokenFile ? { tokenFile: s.tokenFile } : {}),
    ...(s.inlinePolicy ? { inlinePolicy: s.inlinePolicy } : {}),
    ...(s.managedPolicyArns.length ? { managedPolicyArns: s.managedPolicyArns } : {}),
    region: s.region,
    ...(stsEndpoint ? { stsEndpoint } : {}),
    expiration: session.expiration.toISOString(),
    keyFingerprint: keyFingerprint(session.accessKeyId),
    ...(before?.settings && before.renewable ? { chainedFrom: before.settings } : {}),
  };
}

const chainingDenied = (role: RoleArn, e: { name?: string; message?: string }): UserError =>
  new UserError(
    `The current AWS identity may not assume ${role.arn} (AccessDenied: ${e.message}).`,
    "For role chaining, the role's trust policy must name the first role as an AWS principal, and the first role needs sts:AssumeRole (and sts:TagSession) on this one.",
  );

function explainChainingFailure(err: unknown, role: RoleArn): UserError | undefined {
  const e = err as { name?: string; message?: string };
  if (e?.name !== 'AccessDenied') return undefined;
  return chainingDenied(role, e);
}
