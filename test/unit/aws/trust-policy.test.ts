import { describe, expect, it } from '@jest/globals';
import { parseRoleArn } from '../../../src/aws/arn.js';
import {
  explainWebIdentityFailure,
  issuerHost,
  subjectWarnings,
  trustPolicyFor,
} from '../../../src/aws/trust-policy.js';

const role = parseRoleArn('arn:aws:iam::111111111111:role/deploy');
const claims = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/web:environment:prod',
  aud: 'sts.amazonaws.com',
};
const awsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 403 } });
const ctx = {
  role,
  audience: 'sts.amazonaws.com',
  claims,
  claimsText: '  sub: repo:acme/web:environment:prod',
  durationSeconds: 7200,
};

describe('trust policy advice', () => {
  it('derives the condition-key prefix from the issuer', () => {
    expect(issuerHost('https://token.actions.githubusercontent.com/acme-enterprise')).toBe(
      'token.actions.githubusercontent.com/acme-enterprise',
    );
    expect(issuerHost(undefined)).toBe('token.actions.githubusercontent.com');
  });

  it('writes a statement for exactly this job', () => {
    expect(trustPolicyFor(role, claims, 'sts.amazonaws.com')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com' },
          Action: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': 'repo:acme/web:environment:prod',
            },
          },
        },
      ],
    });
  });

  it('never proposes a pattern, and warns about subjects a deploy role should not trust', () => {
    expect(
      JSON.stringify(trustPolicyFor(role, { sub: 'repo:acme/web:pull_request' }, 'sts.amazonaws.com')),
    ).not.toContain('StringLike');
    expect(subjectWarnings({ sub: 'repo:acme/web:pull_request', event_name: 'pull_request' })[0]).toContain(
      "is a pull request's subject",
    );
    expect(subjectWarnings({ sub: 'repo:acme/web:ref:refs/heads/main', event_name: 'push' })[0]).toContain(
      'names no environment',
    );
    expect(subjectWarnings({ sub: 'repo:acme/web:environment:prod', event_name: 'push' })).toEqual([]);
  });

  it.each([
    ['AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 'trust policy does not accept'],
    [
      'InvalidIdentityToken',
      'No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com',
      'has no IAM OIDC identity provider',
    ],
    ['InvalidIdentityToken', 'Incorrect token audience', "rejected the token's audience"],
    [
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      'role-duration-seconds 7200 is more than the role allows',
    ],
    ['ExpiredTokenException', 'Token expired', 'has expired'],
    ['RegionDisabledException', 'STS is not activated', 'not activated in this region'],
    ['PackedPolicyTooLarge', 'too large', 'session policies are too large'],
  ])('explains %s (%s)', (name, message, expected) => {
    expect(explainWebIdentityFailure(awsError(name, message), ctx)?.describe()).toContain(expected);
  });

  it('leaves outages to be reported as they are', () => {
    expect(explainWebIdentityFailure(awsError('ServiceUnavailable', 'try later'), ctx)).toBeUndefined();
    expect(explainWebIdentityFailure(new Error('socket hang up'), ctx)).toBeUndefined();
  });
});
