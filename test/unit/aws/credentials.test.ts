import { describe, expect, it, jest } from '@jest/globals';
import { credentialsLimit } from '../../../src/aws/credential-limits.js';
import { renewingCredentials } from '../../../src/aws/credentials.js';
import {
  keyFingerprint,
  parseRoleSettings,
  renewability,
  ROLE_SETTINGS_VARIABLE,
  type RoleSettings,
  type Session,
} from '../../../src/aws/role-settings.js';
import { FakeClock } from '../../support/fake-clock.js';

const MIN = 60_000;
const clock = () => new FakeClock(Date.UTC(2026, 11, 7, 12));

function settings(over: Partial<RoleSettings> = {}, expiresAt = Date.UTC(2026, 11, 7, 13)): RoleSettings {
  return {
    version: 1,
    source: 'github-oidc',
    roleArn: 'arn:aws:iam::123456789012:role/deploy',
    sessionName: 'gha-webapp-1-1',
    durationSeconds: 3600,
    audience: 'sts.amazonaws.com',
    managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    region: 'us-east-1',
    expiration: new Date(expiresAt).toISOString(),
    keyFingerprint: keyFingerprint('AKIAFIRST'),
    ...over,
  };
}

const env = (s: RoleSettings, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  AWS_ACCESS_KEY_ID: 'AKIAFIRST',
  AWS_SECRET_ACCESS_KEY: 'first-secret',
  AWS_SESSION_TOKEN: 'first-token',
  [ROLE_SETTINGS_VARIABLE]: JSON.stringify(s),
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/x?a=1',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
  ...extra,
});

/** An STS stand-in that mints sessions of `lifetimeMs` from the fake clock. */
function sts(c: FakeClock, lifetimeMs = 60 * MIN) {
  const calls: Array<{ settings: RoleSettings; auth: unknown }> = [];
  const assume = jest.fn(async (s: RoleSettings, auth: unknown): Promise<Session> => {
    calls.push({ settings: s, auth });
    const n = calls.length;
    return {
      accessKeyId: `AKIARENEWED${n}`,
      secretAccessKey: `secret-${n}`,
      sessionToken: `token-${n}`,
      expiration: new Date(c.now() + lifetimeMs),
    };
  });
  return { assume, calls };
}

describe('renewingCredentials', () => {
  it('serves the exported session until 5 minutes before it expires, then renews once with the same role settings', async () => {
    const c = clock();
    const s = settings();
    const { assume, calls } = sts(c);
    const mintToken = jest.fn(async (aud: string) => `jwt-for-${aud}`);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const provider = renewingCredentials(s, { env: env(s), clock: c, mintToken, assume });
      expect((await provider()).accessKeyId).toBe('AKIAFIRST');
      c.advance(54 * MIN); // 6 min left
      expect((await provider()).accessKeyId).toBe('AKIAFIRST');
      expect(assume).not.toHaveBeenCalled();
      c.advance(1 * MIN + 1); // just under 5 min left
      const [a, b] = await Promise.all([provider(), provider()]);
      expect(a.accessKeyId).toBe('AKIARENEWED1');
      expect(b).toBe(a); // concurrent callers share one renewal
      expect(calls).toHaveLength(1);
      expect(calls[0]?.settings).toBe(s);
      expect(calls[0]?.auth).toEqual({ webIdentityToken: 'jwt-for-sts.amazonaws.com' });
      expect(provider.renewals).toBe(1);
      // Renewed secrets are masked before they are handed out.
      const masks = write.mock.calls.map(([text]) => String(text)).filter((t) => t.startsWith('::add-mask::'));
      expect(masks.join('')).toContain('::add-mask::secret-1');
      expect(masks.join('')).toContain('::add-mask::token-1');
      // The new session lasts its own hour.
      c.advance(50 * MIN);
      expect((await provider()).accessKeyId).toBe('AKIARENEWED1');
      c.advance(6 * MIN);
      expect((await provider()).accessKeyId).toBe('AKIARENEWED2');
    } finally {
      write.mockRestore();
    }
  });

  it('renews at once when AWS refuses the session before its expiry, but only once per refused session', async () => {
    const c = clock();
    const s = settings();
    const { assume } = sts(c);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const provider = renewingCredentials(s, { env: env(s), clock: c, mintToken: async () => 'jwt', assume });
      const first = await provider();
      provider.expired(first);
      expect((await provider()).accessKeyId).toBe('AKIARENEWED1');
      // A late refusal of the old session does not throw the new one away.
      provider.expired(first);
      expect((await provider()).accessKeyId).toBe('AKIARENEWED1');
      expect(assume).toHaveBeenCalledTimes(1);
    } finally {
      write.mockRestore();
    }
  });

  it('renews a chained session by renewing its source first, then chaining again', async () => {
    const c = clock();
    const source = settings({ roleArn: 'arn:aws:iam::123456789012:role/first' });
    const s = settings({ source: 'role-chaining', chainedFrom: source });
    const { assume, calls } = sts(c);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const provider = renewingCredentials(s, { env: env(s), clock: c, mintToken: async () => 'jwt', assume });
      c.advance(58 * MIN);
      expect((await provider()).accessKeyId).toBe('AKIARENEWED2');
      expect(calls.map((x) => x.settings.roleArn)).toEqual([
        'arn:aws:iam::123456789012:role/first',
        'arn:aws:iam::123456789012:role/deploy',
      ]);
      expect(calls[1]?.auth).toMatchObject({ credentials: { accessKeyId: 'AKIARENEWED1' } });
    } finally {
      write.mockRestore();
    }
  });

  it('turns a failed renewal into a message that says what to do', async () => {
    const c = clock();
    const s = settings({}, c.now());
    const provider = renewingCredentials(s, {
      env: env(s),
      clock: c,
      mintToken: async () => 'jwt',
      assume: async () => Promise.reject(new Error('AccessDenied: not authorized')),
    });
    await expect(provider()).rejects.toThrow(
      /Renewing the AWS session of arn:aws:iam::123456789012:role\/deploy \(gha-webapp-1-1\) failed: AccessDenied/,
    );
  });
});

describe('renewability', () => {
  it('renews only aws-auth’s own session, from a step that can get a token', () => {
    const s = settings();
    expect(renewability(env(s)).renewable).toBe(true);
    expect(renewability({ AWS_ACCESS_KEY_ID: 'AKIAFIRST' })).toMatchObject({
      renewable: false,
      why: expect.stringContaining('PLATFORM_ACTIONS_AWS_ROLE is not set'),
    });
    expect(renewability(env(s, { AWS_ACCESS_KEY_ID: 'AKIAOTHER' }))).toMatchObject({
      renewable: false,
      why: expect.stringContaining('another step replaced them'),
    });
    expect(renewability(env(s, { ACTIONS_ID_TOKEN_REQUEST_URL: '' }))).toMatchObject({
      renewable: false,
      why: expect.stringContaining('id-token: write'),
    });
    expect(renewability(env(settings({ source: 'role-chaining' })))).toMatchObject({
      renewable: false,
      why: expect.stringContaining('role chaining'),
    });
    expect(parseRoleSettings('{"version":1,"source":"github-oidc","roleArn":"not-an-arn"}')).toBeUndefined();
    expect(parseRoleSettings('not json')).toBeUndefined();
  });

  it('limits the time budget by the expiry of credentials that cannot renew', () => {
    const s = settings({}, Date.UTC(2026, 11, 7, 13));
    const now = Date.UTC(2026, 11, 7, 12, 30);
    expect(credentialsLimit(env(s), now)).toBeUndefined();
    expect(credentialsLimit(env(s, { ACTIONS_ID_TOKEN_REQUEST_URL: '' }), now)).toMatchObject({
      ms: 30 * MIN,
      what: expect.stringContaining('cannot renew'),
    });
    expect(
      credentialsLimit({ AWS_ACCESS_KEY_ID: 'AKIASTATIC', AWS_CREDENTIAL_EXPIRATION: '2026-12-07T12:40:00Z' }, now),
    ).toMatchObject({ ms: 10 * MIN });
    expect(credentialsLimit({ AWS_ACCESS_KEY_ID: 'AKIASTATIC' }, now)).toBeUndefined();
  });
});
