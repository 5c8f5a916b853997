import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { githubClient } from '../../../src/github/client.js';
import { findPullRequest, pullRequestLabels } from '../../../src/github/event.js';
import { marker } from '../../../src/github/markdown.js';
import { closeIssue, findIssue, upsertComment, upsertIssue } from '../../../src/github/upsert.js';
import { startGitHubServer, type GitHubServer } from '../../support/github-server.js';

let gh: GitHubServer;
const repo = { owner: 'acme', repo: 'webapp' };

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
afterEach(() => {
  expect(gh.problems).toEqual([]);
  gh.reset();
});

const client = () => githubClient(gh.token, { GITHUB_API_URL: gh.url });

describe('PR comments by hidden marker', () => {
  it('creates the comment once, then edits it in place; `new` adds another', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', {
      title: 'infra',
      head: 'feature',
      headSha: 'a'.repeat(40),
    });
    gh.store.comment('acme', 'webapp', pr.number, 'a human comment', { login: 'octocat', id: 1 });
    const octokit = client();
    const first = await upsertComment(
      octokit,
      repo,
      pr.number,
      'terraform-plan:infra',
      `${marker('terraform-plan:infra')}\nplan 1`,
    );
    const second = await upsertComment(
      octokit,
      repo,
      pr.number,
      'terraform-plan:infra',
      `${marker('terraform-plan:infra')}\nplan 2`,
    );
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, id: first.id });
    const other = await upsertComment(
      octokit,
      repo,
      pr.number,
      'terraform-plan:other',
      `${marker('terraform-plan:other')}\nother stack`,
    );
    expect(other.created).toBe(true);
    await upsertComment(
      octokit,
      repo,
      pr.number,
      'terraform-plan:infra',
      `${marker('terraform-plan:infra')}\nplan 3`,
      'new',
    );
    const bodies = gh.store.commentsOn('acme', 'webapp', pr.number).map((c) => c.body);
    expect(bodies).toEqual([
      'a human comment',
      `${marker('terraform-plan:infra')}\nplan 2`,
      `${marker('terraform-plan:other')}\nother stack`,
      `${marker('terraform-plan:infra')}\nplan 3`,
    ]);
    expect(gh.callsOf('issues/update-comment')).toHaveLength(1);
  });

  it('finds its comment past the first page of a long conversation', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', { title: 'busy', head: 'busy', headSha: 'b'.repeat(40) });
    await upsertComment(client(), repo, pr.number, 'terraform-plan:x', `${marker('terraform-plan:x')}\nfirst`);
    for (let i = 0; i < 150; i++) gh.store.comment('acme', 'webapp', pr.number, `chatter ${i}`);
    const again = await upsertComment(
      client(),
      repo,
      pr.number,
      'terraform-plan:x',
      `${marker('terraform-plan:x')}\nsecond`,
    );
    expect(again.created).toBe(false);
    expect(gh.callsOf('issues/list-comments').length).toBeGreaterThanOrEqual(2);
  });
});

describe('issues by hidden marker', () => {
  it('opens, leaves alone, updates, closes with a comment and reopens', async () => {
    const octokit = client();
    const opts = { markerId: 'terraform-drift:net', title: 'Drift in net', labels: ['drift'] };
    const body = (v: string) => `${marker('terraform-drift:net')}\n${v}`;
    const created = await upsertIssue(octokit, repo, { ...opts, body: body('v1') });
    expect(created.action).toBe('created');
    expect((await upsertIssue(octokit, repo, { ...opts, body: body('v1') })).action).toBe('unchanged');
    expect((await upsertIssue(octokit, repo, { ...opts, body: body('v2') })).action).toBe('updated');
    await closeIssue(octokit, repo, created.issue.number, 'clean again');
    const stored = gh.store.repo('acme', 'webapp').issues.get(created.issue.number);
    expect(stored).toMatchObject({ state: 'closed', state_reason: 'completed', labels: ['drift'] });
    expect(gh.store.commentsOn('acme', 'webapp', created.issue.number).map((c) => c.body)).toEqual(['clean again']);
    const reopened = await upsertIssue(octokit, repo, { ...opts, body: body('v3') });
    expect(reopened).toMatchObject({ action: 'reopened', issue: { number: created.issue.number } });
    expect(await findIssue(octokit, repo, 'terraform-drift:other', 'drift')).toBeUndefined();
  });
});

describe('pull request lookup', () => {
  it('finds the merged pull request of a push commit, and reads current labels', async () => {
    const pr = gh.store.createPullRequest('acme', 'webapp', {
      title: 'x',
      head: 'x',
      headSha: 'c'.repeat(40),
      labels: ['allow-destroy'],
    });
    gh.store.mergePullRequest('acme', 'webapp', pr.number, 'd'.repeat(40));
    const octokit = client();
    expect(await findPullRequest(octokit, repo, {}, 'd'.repeat(40))).toBe(pr.number);
    expect(await findPullRequest(octokit, repo, { pull_request: { number: 99 } }, 'd'.repeat(40))).toBe(99);
    expect(await findPullRequest(octokit, repo, {}, 'e'.repeat(40))).toBeUndefined();
    expect(await pullRequestLabels(octokit, repo, pr.number)).toEqual(['allow-destroy']);
  });
});

describe('the stand-in checks traffic against the OpenAPI description', () => {
  it('flags a route GitHub does not have, an undeclared field, and a bad response', async () => {
    const headers = { authorization: `token ${gh.token}`, 'content-type': 'application/json' };
    await fetch(`${gh.url}/repos/acme/webapp/issue/1/comments`, { headers });
    const issue = gh.store.createIssue('acme', 'webapp', { title: 't' });
    await fetch(`${gh.url}/repos/acme/webapp/issues/${issue.number}/comments`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ body: 'x', bdy: 'y' }),
    });
    gh.handle('issues/get', () => ({ status: 200, body: { number: 'one' } }));
    await fetch(`${gh.url}/repos/acme/webapp/issues/${issue.number}`, { headers });
    expect(gh.problems).toEqual([
      "GET /repos/acme/webapp/issue/1/comments: no such route in GitHub's REST API",
      expect.stringContaining("request body field 'bdy' is not part of this operation"),
      expect.stringMatching(
        /GET \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\} \(issues\/get\): response 200: .*must have required property/,
      ),
    ]);
    gh.problems.length = 0;
    const refused = await fetch(`${gh.url}/repos/acme/webapp/issues`, { headers: { authorization: 'token wrong' } });
    expect(refused.status).toBe(401);
  });
});
