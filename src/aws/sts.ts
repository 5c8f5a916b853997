import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts';
import { retry } from '../util/retry.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';

/** Temporary credentials of an assumed role. */
export interface AwsSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION */
  assumedRoleArn: string;
}

export interface AssumeRoleRequest {
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  /** A JSON policy document that narrows the session's permissions. */
  inlinePolicy?: string;
  /** ARNs of managed policies that narrow the session's permissions. */
  managedPolicyArns?: string[];
}

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

/**
 * STS answers IDPCommunicationError when it cannot reach the identity provider (e.g.
 * GitHub's JWKS) and InvalidIdentityToken with "Couldn't retrieve verification key" in
 * the same case: both pass with time. Throttling and 5xx are retried by the SDK itself.
 */
function isIdpHiccup(err: unknown): boolean {
  const code = awsErrorCode(err);
  return (
    code === 'IDPCommunicationError' ||
    (code === 'InvalidIdentityToken' && /verification key/i.test(String((err as Error).message)))
  );
}

function policyFields(req: AssumeRoleRequest) {
  return {
    RoleArn: req.roleArn,
    RoleSessionName: req.sessionName,
    DurationSeconds: req.durationSeconds,
    ...(req.inlinePolicy ? { Policy: req.inlinePolicy } : {}),
    ...(req.managedPolicyArns?.length ? { PolicyArns: req.managedPolicyArns.map((arn) => ({ arn })) } : {}),
  };
}

function toSession(credentials: Credentials | undefined, assumedRoleArn: string | undefined): AwsSession {
  if (
    !credentials?.AccessKeyId ||
    !credentials.SecretAccessKey ||
    !credentials.SessionToken ||
    !credentials.Expiration
  ) {
    throw new Error('STS answered without complete credentials.');
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration: credentials.Expiration,
    assumedRoleArn: assumedRoleArn ?? '',
  };
}

/** Exchanges an OIDC token for role credentials (no AWS credentials needed). */
export async function assumeRoleWithWebIdentity(
  client: AwsClientOptions,
  req: AssumeRoleRequest & { webIdentityToken: string },
): Promise<AwsSession> {
  // Unsigned: it must never wait on (or renew) the credentials it is minting.
  const sts = awsClient(STSClient, 'STS', { ...client, renew: false });
  try {
    const out = await retry(
      () =>
        sts.send(
          new AssumeRoleWithWebIdentityCommand({ ...policyFields(req), WebIdentityToken: req.webIdentityToken }),
        ),
      { attempts: client.maxAttempts ?? 3, isRetryable: isIdpHiccup, baseDelayMs: 1000 },
    );
    return toSession(out.Credentials, out.AssumedRoleUser?.Arn);
  } finally {
    sts.destroy();
  }
}

/** Assumes a role with the credentials already in the environment (role chaining). */
export async function assumeRole(client: AwsClientOptions, req: AssumeRoleRequest): Promise<AwsSession> {
  const sts = awsClient(STSClient, 'STS', client);
  try {
    const out = await sts.send(new AssumeRoleCommand(policyFields(req)));
    return toSession(out.Credentials, out.AssumedRoleUser?.Arn);
  } finally {
    sts.destroy();
  }
}

/** Who a set of credentials belongs to. */
export async function getCallerIdentity(client: AwsClientOptions): Promise<CallerIdentity> {
  const sts = awsClient(STSClient, 'STS', client);
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
  } finally {
    sts.destroy();
  }
}
