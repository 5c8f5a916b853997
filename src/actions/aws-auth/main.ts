import { exportVariable, info, saveState, setSecret } from '@actions/core';
import { assertAccountId, parseRoleArn, type RoleArn } from '../../aws/arn.js';
import { assertRegion } from '../../aws/client.js';
import { explainWebIdentityFailure } from '../../aws/trust-policy.js';
import { runContext } from '../../github/context.js';
import { inputs } from '../../github/inputs.js';
import { code, facts, heading } from '../../github/markdown.js';
import { decodeClaims, describeClaims, readIdTokenFile, requestIdToken } from '../../github/oidc.js';
import { outputs } from '../../github/outputs.js';
import { writeSummary } from '../../github/summary.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';

export const EXPORTED_STATE = 'exported';
export const EXPORTED_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

interface Settings {
  role: RoleArn;
  region: string;
  audience: string;
  sessionName: string;
  durationSeconds: number;
  inlinePolicy: string | undefined;
  managedPolicyArns: string[];
  roleChaining: boolean;
  allowedAccounts: string[];
  outputCredentials: boolean;
  exportEnv: boolean;
  maskAccountId: boolean;
  maxAttempts: number;
  tokenFile: string | undefined;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const POLICY_ARN = /^arn:[\w-]+:iam::(\d{12}|aws):policy\/[\w+=,.@/-]+$/;

/** A CloudTrail-friendly session name for this run: gha-REPO-RUNID-ATTEMPT, valid for STS. */
export function defaultSessionName(env: NodeJS.ProcessEnv = process.env): string {
  const ctx = runContext(env);
  const repo = ctx.repository.split('/').pop() ?? '';
  const name = ['gha', repo, ctx.runId, ctx.runAttempt].filter(Boolean).join('-').replace(/[^\w+=,.@-]/g, '-');
  return name.length >= 2 ? name.slice(0, 64) : 'platform-actions';
}

/** Reads and checks every input before anything touches the network. */
export function readSettings(): Settings {
  const role = parseRoleArn(inputs.required('role-to-assume'));
  const region = assertRegion(inputs.required('aws-region'));
  const roleChaining = inputs.boolean('role-chaining', false);

  const sessionName = inputs.string('role-session-name') ?? defaultSessionName();
  if (!SESSION_NAME.test(sessionName)) {
    throw new UserError(
      `role-session-name '${sessionName}' is not a valid session name.`,
      'Use 2 to 64 characters from letters, digits and + = , . @ _ -.',
    );
  }

  const maxDuration = roleChaining ? 3600 : 43200;
  const durationSeconds = inputs.integer('role-duration-seconds', 3600, { min: 900, max: 43200 });
  if (durationSeconds > maxDuration) {
    throw new UserError(
      `role-duration-seconds ${durationSeconds} is too long with role-chaining.`,
      'AWS limits chained role sessions to 3600 seconds (1 hour).',
    );
  }

  const inlinePolicy = inputs.string('inline-session-policy');
  if (inlinePolicy !== undefined) {
    try {
      JSON.parse(inlinePolicy);
    } catch (err) {
      throw new UserError(`inline-session-policy is not valid JSON: ${(err as Error).message}`, 'Pass an IAM policy document as JSON.');
    }
  }

  const managedPolicyArns = inputs.list('managed-session-policies');
  for (const arn of managedPolicyArns) {
    if (!POLICY_ARN.test(arn)) {
      throw new UserError(`managed-session-policies: '${arn}' is not an IAM policy ARN.`, 'Use ARNs such as arn:aws:iam::aws:policy/ReadOnlyAccess.');
    }
  }
  if (managedPolicyArns.length > 10) {
    throw new UserError(`managed-session-policies lists ${managedPolicyArns.length} policies; AWS accepts at most 10.`);
  }

  const allowedAccounts = inputs.list('allowed-account-ids').map((id) => assertAccountId(id, 'allowed-account-ids'));
  if (allowedAccounts.length > 0 && !allowedAccounts.includes(role.accountId)) {
    throw new UserError(
      `role-to-assume is in account ${role.accountId}, which allowed-account-ids (${allowedAccounts.join(', ')}) does not allow.`,
      'Check that the role ARN points at the intended account.',
    );
  }

  return {
    role,
    region,
    audience: inputs.string('audience', 'sts.amazonaws.com'),
    sessionName,
    durationSeconds,
    inlinePolicy,
    managedPolicyArns,
    roleChaining,
    allowedAccounts,
    outputCredentials: inputs.boolean('output-credentials', false),
    exportEnv: inputs.boolean('export-env', true),
    maskAccountId: inputs.boolean('mask-aws-account-id', false),
    maxAttempts: inputs.integer('retry-max-attempts', 3, { min: 1, max: 10 }),
    tokenFile: inputs.string('web-identity-token-file'),
  };
}

export async function main(): Promise<void> {
  const s = readSettings();
  if (s.maskAccountId) setSecret(s.role.accountId);
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
    info(`Assuming ${s.role.arn} with the credentials already in the environment (role chaining), session ${s.sessionName}.`);
    session = await sts.assumeRole(client, request).catch((err: unknown) => {
      throw explainChainingFailure(err, s.role) ?? err;
    });
  } else {
    const token = s.tokenFile
      ? await readIdTokenFile(s.tokenFile)
      : (info(`Requesting a GitHub OIDC token for audience ${s.audience}.`), await requestIdToken(s.audience));
    info(`Assuming ${s.role.arn} as session ${s.sessionName} for ${formatDuration(s.durationSeconds * 1000)}.`);
    session = await sts.assumeRoleWithWebIdentity(client, { ...request, webIdentityToken: token }).catch((err: unknown) => {
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
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken },
  });
  if (s.maskAccountId) setSecret(identity.account);
  if (s.allowedAccounts.length > 0 && !s.allowedAccounts.includes(identity.account)) {
    throw new UserError(
      `The credentials belong to account ${identity.account}, which allowed-account-ids (${s.allowedAccounts.join(', ')}) does not allow. Nothing was exported.`,
      'Check role-to-assume and allowed-account-ids.',
    );
  }

  if (s.exportEnv) {
    exportVariable('AWS_ACCESS_KEY_ID', session.accessKeyId);
    exportVariable('AWS_SECRET_ACCESS_KEY', session.secretAccessKey);
    exportVariable('AWS_SESSION_TOKEN', session.sessionToken);
    exportVariable('AWS_REGION', s.region);
    exportVariable('AWS_DEFAULT_REGION', s.region);
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

function explainChainingFailure(err: unknown, role: RoleArn): UserError | undefined {
  const e = err as { name?: string; message?: string };
  if (e?.name !== 'AccessDenied') return undefined;
  return new UserError(
    `The current AWS identity may not assume ${role.arn} (AccessDenied: ${e.message}).`,
    'For role chaining, the role\'s trust policy must name the first role as an AWS principal, and the first role needs sts:AssumeRole (and sts:TagSession) on this one.',
  );
}
