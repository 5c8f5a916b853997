/**
 * What expired credentials mean for a step that cannot renew them: how to recognise the
 * error, the hint to add to it, and how long the step's credentials last as a time limit.
 */
import { keyFingerprint, renewability } from './role-settings.js';

/** AWS error codes that mean "these credentials have expired". */
export function isExpiredCredentials(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: unknown } | null;
  if (!e || typeof e !== 'object' || !('$metadata' in e)) return false;
  const code = e.Code ?? e.name;
  return code === 'ExpiredToken' || code === 'ExpiredTokenException';
}

/** The hint added to an expired-credentials error when the step cannot renew. */
export function cannotRenewHint(env: NodeJS.ProcessEnv = process.env): string {
  const r = renewability(env);
  const why = r.renewable ? 'the renewed session was refused too' : r.why;
  return (
    `The AWS credentials of this step have expired and cannot be renewed: ${why}. ` +
    'Run platform-actions aws-auth earlier in this job with permissions: id-token: write (its session then renews itself), ' +
    'or give it a role-duration-seconds that covers the whole job.'
  );
}

/**
 * How long the credentials of this step last when they cannot renew, as a limit for the
 * time budget: aws-auth's recorded expiration, or AWS_CREDENTIAL_EXPIRATION (which other
 * credential tools export). Undefined when they renew, or when nothing says when they end.
 */
export function credentialsLimit(
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): { what: string; ms: number; remedy: string } | undefined {
  const r = renewability(env);
  if (r.renewable) return undefined;
  const expiresAt =
    r.settings && env.AWS_ACCESS_KEY_ID && keyFingerprint(env.AWS_ACCESS_KEY_ID) === r.settings.keyFingerprint
      ? Date.parse(r.settings.expiration)
      : Date.parse(env.AWS_CREDENTIAL_EXPIRATION ?? '');
  if (Number.isNaN(expiresAt)) return undefined;
  return {
    what: `the AWS credentials, which expire at ${new Date(expiresAt).toISOString()} and cannot renew (${r.why})`,
    ms: Math.max(0, expiresAt - now),
    remedy:
      'Let the session renew itself: run platform-actions aws-auth in this job with permissions: id-token: write. ' +
      "Or give aws-auth a role-duration-seconds that covers the whole rollout (the role's MaxSessionDuration must allow it), or shorten the rollout.",
  };
}
