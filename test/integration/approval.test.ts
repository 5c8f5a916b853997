import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { setPermission, setTeam } from '../support/github-approval.js';
import { startGitHubServer, type GitHubServer, type User } from '../support/github-server.js';
import { Job, type StepResult } from '../support/runner.js';

/**
 * The approval action through its bundle against the GitHub stand-in (requests and
 * responses checked against @octokit/openapi): comments are written into the stand-in
 * while the step waits, as approvers would write them.
 */
let gh: GitHubServer;
let job: Job;

const ALICE: User = { login: 'alice', id: 101 };
const BOB: User = { login: 'bob', id: 102 };
const CAROL: User = { login: 'carol', id: 103 };
const OCTOCAT: User = { login: 'octocat', id: 583231 };

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
beforeEach(() => {
  gh.reset();
  job = new Job({ ...gh.env(), GITHUB_ACTOR: 'octocat', GITHUB_TRIGGERING_ACTOR: 'octocat' });
  setPermission(gh.store, 'acme', 'webapp', ALICE, 'write');
  setPermission(gh.store, 'acme', 'webapp', BOB, 'read');
  setPermission(gh.store, 'acme', 'webapp', CAROL, 'maintain');
  setPermission(gh.store, 'acme', 'webapp', OCTOCAT, 'admin');
  setTeam(gh.store, 'acme', 'release-managers', ['carol', 'bob']);
});
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

const issues = () => [...gh.store.repo('acme', 'webapp').issues.values()];

/** Starts the step, waits until it polls, then writes the comments one by one. */
async function approval(
  inputs: Record<string, string>,
  comments: Array<{ user: User; body: string; edited?: boolean }>,
): Promise<StepResult> {
  const step = job.start('approval', {
    inputs: {
      approvers: 'alice, octocat, bob',
      release: 'v2.0.0',
      'poll-interval': '1s',
      timeout: '20s',
      'github-token': gh.token,
      ...inputs,
    },
  });
  await step.waitForLog(/Waiting up to/, 30_000);
  const issue = issues()[0];
  if (!issue) throw new Error('no approval issue');
  for (const c of comments) {
    const written = gh.store.comment('acme', 'webapp', issue.number, c.body, c.user);
    if (c.edited) written.updated_at = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  return step.done;
}

describe('approval (bundle)', () => {
  it("approve: opens an issue for the approvers, counts a writer's /approve, closes the issue and records who approved on the run's deployment", async () => {
    const d = gh.store.createDeployment('acme', 'webapp', {
      environment: 'production',
      sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      payload: {
        tool: 'platform-actions',
        image: 'repo@sha256:' + 'c'.repeat(64),
        run: { id: '4242', attempt: '1', url: 'https://github.com/acme/webapp/actions/runs/4242' },
      },
    });
    gh.store.addDeploymentStatus('acme', 'webapp', d.id, { state: 'queued', description: 'Promoted from staging' });
    const step = await approval({}, [{ user: ALICE, body: '/approve looks good' }]);
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({
      approved: 'true',
      approver: 'alice',
      decision: 'approved',
      reason: 'looks good',
    });
    const [issue] = issues();
    expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed', labels: ['deploy-approval'] });
    expect(issue?.title).toBe('Approve release v2.0.0 to production');
    const comments = gh.store.commentsOn('acme', 'webapp', issue!.number).map((c) => c.body);
    expect(comments[0]).toContain('@alice, @octocat, @bob: please approve or reject release `v2.0.0`');
    expect(comments.at(-1)).toContain('**Approved** by @alice');
    expect(d.statuses.at(-1)).toMatchObject({ state: 'queued', description: 'Approved by @alice: looks good' });
    expect(step.summary).toContain('Approval of `v2.0.0` to `production`: approved');
    expect(step.summary).toContain('@\u200balice');
  });

  it('reject: the step fails naming who rejected and why, the reason escaped in the summary and the issue', async () => {
    const step = await approval({}, [
      { user: ALICE, body: '/reject p95 is 900ms <img src=x onerror=alert(1)> @everyone see #12\nmore text' },
    ]);
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('Release v2.0.0 to production was rejected by @alice: p95 is 900ms');
    expect(step.failure).toContain('Nothing was deployed.');
    expect(step.outputs).toMatchObject({
      approved: 'false',
      approver: '',
      decision: 'rejected',
      'decided-by': 'alice',
    });
    expect(step.summary).toContain('\\<img src=x onerror=alert(1)\\>');
    expect(step.summary).not.toMatch(/(^|[^\\])<img/);
    expect(step.summary).toContain('@\u200beveryone');
    const [issue] = issues();
    expect(issue).toMatchObject({ state: 'closed', state_reason: 'not_planned' });
    const closing = gh.store.commentsOn('acme', 'webapp', issue!.number).at(-1)?.body ?? '';
    expect(closing).toContain('**Rejected** by @alice');
    expect(closing).not.toMatch(/(^|[^\\])<img|@everyone|#12/);
  });

  it('timeout: no decision by the deadline fails the step and closes the issue', async () => {
    const started = Date.now();
    const step = await approval({ timeout: '3s' }, []);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('Nobody of @alice, @octocat, @bob approved release v2.0.0 to production within 3s');
    expect(step.outputs).toMatchObject({ approved: 'false', decision: 'timed-out' });
    const [issue] = issues();
    expect(issue?.state).toBe('closed');
    expect(gh.store.commentsOn('acme', 'webapp', issue!.number).at(-1)?.body).toContain(
      'Timed out after 3s without an approval',
    );
  });

  it('self-approval is refused (and an edited comment ignored): only a later approver counts', async () => {
    const step = await approval({}, [
      { user: OCTOCAT, body: '/approve' },
      { user: ALICE, body: '/approve', edited: true },
      { user: ALICE, body: '/approve for real' },
    ]);
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ approved: 'true', approver: 'alice' });
    expect(step.log).toContain('Ignored a command by octocat: self-approval: they triggered the run being approved.');
    expect(step.log).toContain('Ignored a command by alice: edited after it was written');
    expect(step.summary).toContain('Commands that did not count');
  });

  it('self-approval alone never approves: the step times out', async () => {
    const step = await approval({ timeout: '4s' }, [{ user: OCTOCAT, body: '/approve' }]);
    expect(step.outputs).toMatchObject({ approved: 'false', decision: 'timed-out' });
    expect(step.failure).toContain('1 command(s) did not count');
  });

  it('an approval by someone without write access is refused', async () => {
    const step = await approval({ timeout: '4s' }, [{ user: BOB, body: '/approve' }]);
    expect(step.outputs).toMatchObject({ approved: 'false', decision: 'timed-out' });
    expect(step.log).toContain('Ignored a command by bob: no write access to the repository (permission: read).');
    expect(gh.callsOf('repos/get-collaborator-permission-level').map((c) => c.path)).toContain(
      '/repos/acme/webapp/collaborators/bob/permission',
    );
  });

  it('a member of a named team with write access approves; a writer outside the list does not', async () => {
    const step = await approval({ approvers: 'acme/release-managers' }, [
      { user: ALICE, body: '/approve' },
      { user: CAROL, body: '/approve' },
    ]);
    expect(step.failure).toBeUndefined();
    expect(step.outputs).toMatchObject({ approved: 'true', approver: 'carol' });
    expect(step.log).toContain('Ignored a command by alice: not one of the approvers.');
    expect(gh.callsOf('teams/get-membership-for-user-in-org').map((c) => c.path)).toEqual(
      expect.arrayContaining([
        '/orgs/acme/teams/release-managers/memberships/carol',
        '/orgs/acme/teams/release-managers/memberships/alice',
      ]),
    );
  });

  it('refuses an approvers list that names nobody valid before it opens anything', async () => {
    const step = await job.run('approval', { inputs: { approvers: 'alice; rm -rf', 'github-token': gh.token } });
    expect(step.failure).toContain(
      "approvers has 'alice; rm -rf', which is neither a GitHub login nor an org/team slug.",
    );
    expect(gh.calls).toEqual([]);
  });
});
