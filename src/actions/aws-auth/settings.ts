import { assertAccountId, parseRoleArn, type RoleArn } from '../../aws/arn.js';
import { assertRegion } from '../../aws/client.js';
import { runContext } from '../../github/context.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

/** Everything aws-auth needs to know, checked before anything touches the network. */
export interface Settings {
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
  const name = ['gha', repo, ctx.runId, ctx.runAttempt]
    .filter(Boolean)
    .join('-')
    .replace(/[^\w+=,.@-]/g, '-');
  return name.length >= 2 ? name.slice(0, 64) : 'platform-actions';
}

const roleAccountNotAllowed = (role: RoleArn, allowedAccounts: string[]): UserError =>
  new UserError(
    `role-to-assume is in account ${role.accountId}, which allowed-account-ids (${allowedAccounts.join(', ')}) does not allow.`,
    'Check that the role ARN points at the intended account.',
  );

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
      throw new UserError(
        `inline-session-policy is not valid JSON: ${(err as Error).message}`,
        'Pass an IAM policy document as JSON.',
      );
    }
  }

  const managedPolicyArns = inputs.list('managed-session-policies');
  for (const arn of managedPolicyArns) {
    if (!POLICY_ARN.test(arn)) {
      throw new UserError(
        `managed-session-policies: '${arn}' is not an IAM policy ARN.`,
        'Use ARNs such as arn:aws:iam::aws:policy/ReadOnlyAccess.',
      );
    }
  }
  if (managedPolicyArns.length > 10) {
    throw new UserError(`managed-session-policies lists ${managedPolicyArns.length} policies; AWS accepts at most 10.`);
  }

  const allowedAccounts = inputs.list('allowed-account-ids').map((id) => assertAccountId(id, 'allowed-account-ids'));
  if (allowedAccounts.length > 0 && !allowedAccounts.includes(role.accountId)) {
    throw roleAccountNotAllowed(role, allowedAccounts);
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
