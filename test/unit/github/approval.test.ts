import { describe, expect, it } from '@jest/globals';
import { judge, parseCommand, type Authority, type CommentSeen } from '../../../src/github/approval.js';
import { parseApprovers } from '../../../src/github/approvers.js';

const at = '2026-12-07T10:00:00Z';
const comment = (id: number, login: string, body: string, extra: Partial<CommentSeen> = {}): CommentSeen => ({
  id,
  login,
  type: 'User',
  body,
  createdAt: at,
  updatedAt: at,
  url: `https://github.com/acme/webapp/issues/1#issuecomment-${id}`,
  ...extra,
});
const authority = (table: Record<string, Authority>) => async (login: string) =>
  table[login] ?? { permission: 'none', listedAs: undefined };
const WRITER = (as: string): Authority => ({ permission: 'write', listedAs: as });

describe('approval commands', () => {
  it('reads /approve and /reject REASON from the first non-empty line only', () => {
    expect(parseCommand('\n  /approve  \nthanks')).toEqual({ decision: 'approve', reason: '' });
    expect(parseCommand('/REJECT p95 too high')).toEqual({ decision: 'reject', reason: 'p95 too high' });
    expect(parseCommand('> /approve')).toBeUndefined();
    expect(parseCommand('lgtm\n/approve')).toBeUndefined();
    expect(parseCommand('/approved')).toBeUndefined();
    expect(parseCommand('/reject ' + 'x'.repeat(900))?.reason).toHaveLength(500);
  });

  it('parses users and org/team slugs, and refuses anything else', () => {
    expect(parseApprovers(['@alice', 'acme/Release-Managers'])).toEqual([
      { kind: 'user', login: 'alice' },
      { kind: 'team', org: 'acme', slug: 'release-managers' },
    ]);
    expect(() => parseApprovers(['alice bob'])).toThrow("approvers has 'alice bob'");
    expect(() => parseApprovers(['acme/team/x'])).toThrow('neither a GitHub login nor an org/team slug');
    expect(() => parseApprovers([])).toThrow('approvers is empty');
  });
});

describe('judge', () => {
  const ctx = {
    actors: ['octocat'],
    self: 'github-actions[bot]',
    authority: authority({
      alice: WRITER('@alice'),
      octocat: { permission: 'admin', listedAs: '@octocat' },
      bob: { permission: 'read', listedAs: '@bob' },
    }),
  };

  it('the first comment that counts decides; the ones before it are reported with why', async () => {
    const { decision, ignored } = await judge(
      [
        comment(1, 'octocat', '/approve'),
        comment(2, 'bob', '/approve'),
        comment(3, 'mallory', '/approve'),
        comment(4, 'alice', '/approve', { updatedAt: '2026-12-07T10:05:00Z' }),
        comment(5, 'github-actions[bot]', '/approve'),
        comment(6, 'dependabot[bot]', '/approve', { type: 'Bot' }),
        comment(7, 'alice', 'looks fine'),
        comment(8, 'alice', '/approve ship it'),
        comment(9, 'alice', '/reject too late'),
      ],
      ctx,
    );
    expect(decision).toMatchObject({ decision: 'approve', login: 'alice', reason: 'ship it' });
    expect(ignored.map((i) => [i.login, i.why])).toEqual([
      ['octocat', 'self-approval: they triggered the run being approved'],
      ['bob', 'no write access to the repository (permission: read)'],
      ['mallory', 'not one of the approvers'],
      ['alice', 'edited after it was written (write a new comment instead)'],
      ['github-actions[bot]', 'written by a bot'],
      ['dependabot[bot]', 'written by a bot'],
    ]);
  });

  it('whoever triggered the run may reject it; nobody else outside the list may', async () => {
    expect(
      (await judge([comment(1, 'mallory', '/reject no'), comment(2, 'octocat', '/reject wrong build')], ctx)).decision,
    ).toMatchObject({ decision: 'reject', login: 'octocat', reason: 'wrong build' });
  });

  it('matches the actor case-insensitively', async () => {
    expect((await judge([comment(1, 'OctoCat', '/approve')], ctx)).decision).toBeUndefined();
  });
});
