import { UserError } from '../util/errors.js';
import { awsErrorCode } from './client.js';
import type { RoleArn } from './arn.js';

/** The parts of an OIDC token a role trust policy matches on. */
export interface WebIdentityClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  [claim: string]: unknown;
}

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** The IAM condition-key prefix for an issuer: its URL without the scheme. */
export function issuerHost(iss: string | undefined): string {
  return (iss || GITHUB_ISSUER).replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/**
 * A trust policy that lets exactly the job behind `claims` assume `role`: the subject
 * matched with StringEquals, never a pattern (a `repo:OWNER/REPO:*` admits the
 * repository's pull requests, which run whatever code their author pushed).
 */
export function trustPolicyFor(role: RoleArn, claims: WebIdentityClaims, audience: string): object {
  const host = issuerHost(claims.iss);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:${role.partition}:iam::${role.accountId}:oidc-provider/${host}` },
        Action: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            [`${host}:aud`]: audience,
            [`${host}:sub`]: claims.sub ?? 'repo:OWNER/REPO:environment:NAME',
          },
        },
      },
    ],
  };
}

/**
 * What is risky about trusting the refused subject, as lines to print before the
 * suggested statement: a pull request's subject, or a subject without an environment
 * (so no environment protection rule stands between a branch and the role).
 */
export function subjectWarnings(claims: WebIdentityClaims): string[] {
  const sub = claims.sub ?? '';
  const out: string[] = [];
  if (
    /:pull_request(:|$)/.test(sub) ||
    claims.event_name === 'pull_request' ||
    claims.event_name === 'pull_request_target'
  ) {
    out.push(
      `WARNING: ${sub} is a pull request's subject. Every pull request of the repository has it, and it runs the code its author pushed: ` +
        'trust it only on a role that can do no more than a pull request should (read-only plans, a quarantine image repository), never on one that deploys or pushes what production runs.',
    );
  } else if (!/:environment:/.test(sub)) {
    out.push(
      `WARNING: ${sub} names no environment, so no environment protection rule (required reviewers, deployment branches) guards this role. ` +
        'For a role that deploys, bind the job to an environment (jobs.<id>.environment) and trust repo:OWNER/REPO:environment:NAME instead.',
    );
  }
  return out;
}

/** How to bind the role to the repository's immutable ids, when the token carries them. */
function immutableIdsAdvice(claims: WebIdentityClaims): string {
  const repoId = claims.repository_id;
  const ownerId = claims.repository_owner_id;
  if (repoId === undefined || ownerId === undefined) return '';
  return (
    `\nNames can be reused: a renamed or deleted repository's name can be taken by someone else, who then matches this subject. ` +
    `This repository's immutable ids are repository_id ${String(repoId)} and repository_owner_id ${String(ownerId)}. ` +
    'IAM cannot match those claims directly; put them into the subject by customising it (PUT /repos/OWNER/REPO/actions/oidc/customization/sub ' +
    'with use_default false and include_claim_keys ["repository_owner_id", "repository_id", "context"]), then match the new subject exactly ' +
    `(e.g. repository_owner_id:${String(ownerId)}:repository_id:${String(repoId)}:environment:NAME).`
  );
}

export interface FailureContext {
  role: RoleArn;
  audience: string;
  claims: WebIdentityClaims;
  /** The token's non-secret claims as `name: value` lines. */
  claimsText: string;
  durationSeconds: number;
}

const trustPolicyDenied = (ctx: FailureContext, message: string, claims: string): UserError =>
  new UserError(
    `AWS refused to let this job assume ${ctx.role.arn} (AccessDenied: ${message}).\n` +
      `The role's trust policy does not accept this job's OIDC token. ${claims}`,
    [
      ...subjectWarnings(ctx.claims),
      `If this job should have the role, make the role's trust policy (IAM → Roles → ${ctx.role.name} → Trust relationships) admit exactly this subject. ` +
        `A statement that admits this job and nothing else:\n${JSON.stringify(trustPolicyFor(ctx.role, ctx.claims, ctx.audience), null, 2)}\n` +
        'For more environments or branches, list each subject (StringEquals takes a list), never a pattern: a * also admits pull requests. ' +
        "A job bound to an environment has sub 'repo:OWNER/REPO:environment:NAME', not ':ref:...'." +
        immutableIdsAdvice(ctx.claims),
    ].join('\n'),
  );

const noOidcProvider = (ctx: FailureContext, message: string, provider: string): UserError =>
  new UserError(
    `Account ${ctx.role.accountId} has no IAM OIDC identity provider for ${ctx.claims.iss ?? GITHUB_ISSUER} (${message}).`,
    `Create it once per account: IAM → Identity providers → Add provider → OpenID Connect, URL ${ctx.claims.iss ?? GITHUB_ISSUER}, ` +
      `audience ${ctx.audience}. Its ARN will be ${provider}.`,
  );

const audienceRejected = (ctx: FailureContext, message: string, provider: string): UserError =>
  new UserError(
    `AWS rejected the token's audience '${ctx.audience}' (${message}).`,
    `Add '${ctx.audience}' to the client IDs (audiences) of the identity provider ${provider}, or set the audience input to one it lists.`,
  );

const tokenExpired = (message: string): UserError =>
  new UserError(
    `AWS says the OIDC token has expired (${message}).`,
    'Tokens live a few minutes: request it in the step that uses it, and check the runner clock if this repeats.',
  );

const durationTooLong = (ctx: FailureContext, message: string): UserError =>
  new UserError(
    `role-duration-seconds ${ctx.durationSeconds} is more than the role allows (${message}).`,
    `Lower role-duration-seconds, or raise the role's maximum session duration (IAM → Roles → ${ctx.role.name} → Edit).`,
  );

/**
 * Turns an STS refusal of AssumeRoleWithWebIdentity into a message that says which
 * part of the set-up does not match this job, and how to fix it. Undefined for errors
 * that are not about the set-up (outages), which are reported as they are.
 */
export function explainWebIdentityFailure(err: unknown, ctx: FailureContext): UserError | undefined {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const host = issuerHost(ctx.claims.iss);
  const provider = `arn:${ctx.role.partition}:iam::${ctx.role.accountId}:oidc-provider/${host}`;
  const claims = `This job's token carries:\n${ctx.claimsText}`;

  switch (code) {
    case 'AccessDenied':
      return trustPolicyDenied(ctx, message, claims);
    case 'InvalidIdentityToken':
      if (/no openidconnect provider/i.test(message)) {
        return noOidcProvider(ctx, message, provider);
      }
      if (/audience/i.test(message)) {
        return audienceRejected(ctx, message, provider);
      }
      return new UserError(`AWS rejected this job's OIDC token (InvalidIdentityToken: ${message}). ${claims}`);
    case 'ExpiredTokenException':
      return tokenExpired(message);
    case 'ValidationError':
      if (/DurationSeconds/i.test(message)) {
        return durationTooLong(ctx, message);
      }
      return new UserError(`STS rejected the request: ${message}`);
    case 'MalformedPolicyDocument':
    case 'MalformedPolicyDocumentException':
      return new UserError(
        `STS rejected inline-session-policy: ${message}`,
        'Check the policy JSON against the IAM policy grammar.',
      );
    case 'PackedPolicyTooLarge':
    case 'PackedPolicyTooLargeException':
      return new UserError(
        `The session policies are too large (${message}).`,
        'Shorten inline-session-policy or pass fewer managed-session-policies.',
      );
    case 'RegionDisabledException':
      return new UserError(
        `STS is not activated in this region (${message}).`,
        'Activate it in IAM → Account settings → Security Token Service, or use another aws-region.',
      );
    default:
      return undefined;
  }
}
