import { describe, expect, it } from '@jest/globals';
import { googleEndpoint } from '../../../src/gcp/endpoints.js';
import { GoogleApiError } from '../../../src/gcp/http.js';
import {
  explainImpersonationFailure,
  isServiceAccountEmail,
  projectOfServiceAccount,
} from '../../../src/gcp/iam-credentials.js';
import {
  defaultAudience,
  explainExchangeFailure,
  parseProviderName,
  suggestedCondition,
} from '../../../src/gcp/workload-identity.js';
import { checkShape, googleApiShapes } from '../../support/api-schema.js';
import { evaluateCel } from '../../support/cel.js';

const NAME = 'projects/123/locations/global/workloadIdentityPools/github/providers/acme';

describe('workload identity provider names', () => {
  it.each([NAME, `//iam.googleapis.com/${NAME}`, `https://iam.googleapis.com/${NAME}`])('accepts %s', (text) => {
    expect(parseProviderName(text)).toEqual({ name: NAME, projectNumber: '123', pool: 'github', provider: 'acme' });
  });

  it('derives the default audience', () => {
    expect(defaultAudience(parseProviderName(NAME))).toBe(`https://iam.googleapis.com/${NAME}`);
  });

  it('tells a project id from the project number it needs', () => {
    expect(() => parseProviderName('projects/my-proj/locations/global/workloadIdentityPools/p/providers/x')).toThrow(
      "uses the project id 'my-proj'; Google needs the project number here",
    );
  });
});

describe('service accounts', () => {
  it('recognises emails and derives the project', () => {
    expect(isServiceAccountEmail('deploy@acme-prod.iam.gserviceaccount.com')).toBe(true);
    expect(isServiceAccountEmail('me@example.com')).toBe(false);
    expect(projectOfServiceAccount('deploy@acme-prod.iam.gserviceaccount.com')).toBe('acme-prod');
    expect(projectOfServiceAccount('123-compute@developer.gserviceaccount.com')).toBeUndefined();
  });
});

describe('endpoints', () => {
  it('uses the real services unless the test variable overrides them', () => {
    expect(googleEndpoint('sts', {})).toBe('https://sts.googleapis.com');
    expect(
      googleEndpoint('sts', {
        PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS: 'sts=http://127.0.0.1:9/,iamcredentials=http://x',
      }),
    ).toBe('http://127.0.0.1:9');
    expect(googleEndpoint('container', { PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS: 'sts=http://127.0.0.1:9' })).toBe(
      'https://container.googleapis.com',
    );
  });
});

describe('explanations', () => {
  const provider = parseProviderName(NAME);
  it('suggests a condition on repository and environment (or ref)', () => {
    expect(suggestedCondition({ repository: 'a/b', environment: 'prod', ref: 'refs/heads/main' })).toBe(
      "assertion.repository == 'a/b' && assertion.environment == 'prod'",
    );
    expect(suggestedCondition({ repository: 'a/b', ref: 'refs/tags/v1' })).toBe(
      "assertion.repository == 'a/b' && assertion.ref == 'refs/tags/v1'",
    );
  });

  it('leaves 5xx answers to be reported as outages', () => {
    const err = new GoogleApiError('u', 503, 'UNAVAILABLE', 'try later');
    expect(explainExchangeFailure(err, provider, 'a', {}, '')).toBeUndefined();
    expect(explainImpersonationFailure(err, provider, 'sa', 'a/b')).toBeUndefined();
  });

  it('points a 404 at the service-account input', () => {
    const err = new GoogleApiError('u', 404, 'NOT_FOUND', 'Not found; Gaia id not found');
    expect(explainImpersonationFailure(err, provider, 'x@y.iam.gserviceaccount.com', 'a/b')?.message).toContain(
      'no service account x@y.iam.gserviceaccount.com',
    );
  });
});

describe('the Google stand-in checks traffic against the published API types', () => {
  it('knows the exchange request fields and flags unknown or mistyped ones', () => {
    const shape = googleApiShapes('@googleapis/sts').get('GoogleIdentityStsV1ExchangeTokenRequest') ?? {};
    expect(Object.keys(shape)).toEqual(
      expect.arrayContaining([
        'audience',
        'grantType',
        'requestedTokenType',
        'scope',
        'subjectToken',
        'subjectTokenType',
      ]),
    );
    expect(checkShape({ grantType: 'x', scope: 'y' }, shape, 'req')).toEqual([]);
    expect(checkShape({ grant_type: 'x', scope: ['y'] }, shape, 'req')).toEqual([
      "req: unknown field 'grant_type'",
      "req: field 'scope' is array, the schema says string",
    ]);
  });

  it('evaluates the CEL used in attribute conditions', () => {
    const assertion = { repository: 'acme/web', ref: 'refs/heads/main', repository_owner: 'acme' };
    expect(
      evaluateCel("assertion.repository_owner == 'acme' && assertion.ref.startsWith('refs/heads/')", { assertion }),
    ).toBe(true);
    expect(evaluateCel("assertion.repository in ['acme/api', 'acme/web'] || assertion.ref == 'x'", { assertion })).toBe(
      true,
    );
    expect(evaluateCel("!(assertion.repository == 'acme/web')", { assertion })).toBe(false);
  });
});
