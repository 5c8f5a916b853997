import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { githubClient } from '../../../src/github/client.js';
import type { RunContext } from '../../../src/github/context.js';
import { trackDeployment } from '../../../src/github/deployment-tracking.js';
import { guardRelease } from '../../../src/release/release-order.js';
import { UserError } from '../../../src/util/errors.js';
import { startGitHubServer, type GitHubServer } from '../../support/github-server.js';

/**
 * The release-order guard against the GitHub stand-in (requests and answers checked
 * against @octokit/openapi): a commit history R1 ← R2 ← R3 on main, deployments recorded
 * the way ecs-deploy / gke-deploy / promote record them.
 */
let gh: GitHubServer;
const repo = { owner: 'acme', repo: 'webui' };
const R1 = '1'.repeat(40);
const R2 = '2'.repeat(40);
const R3 = '3'.repeat(40);
const HOTFIX = '4'.repeat(40);
const UNKNOWN = '9'.repeat(40);
const image = (n: number) => `111111111111.dkr.ecr.eu-west-1.amazonaws.com/open-webui@sha256:${String(n).repeat(64)}`;
const run = (sha: string, runId = '500'): RunContext => ({
  repository: 'acme/webui',
  runId,
  runAttempt: '1',
  workflow: 'release',
  job: 'deploy',
  actor: 'octocat',
  ref: 'refs/heads/main',
  sha,
  serverUrl: 'https://github.com',
  eventName: 'push',
});

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
afterEach(() => {
  const problems = [...gh.problems];
  gh.reset();
  expect(problems).toEqual([]);
});

const client = () => githubClient(gh.token, { GITHUB_API_URL: gh.url });

function seedCommits() {
  const s = gh.store;
  s.addCommit('acme', 'webui', R1, { date: '2026-12-01T10:00:00Z' });
  s.addCommit('acme', 'webui', R2, { date: '2026-12-02T10:00:00Z', parents: [R1] });
  s.addCommit('acme', 'webui', R3, { date: '2026-12-03T10:00:00Z', parents: [R2] });
  s.addCommit('acme', 'webui', HOTFIX, { date: '2026-12-03T11:00:00Z', parents: [R1] });
  s.repo('acme', 'webui').branches.set('main', R3);
}

/** A finished deployment of `sha` / image n in an environment, as a deploy step records it. */
async function deployed(
  environment: string,
  sha: string,
  n: number,
  state: 'success' | 'failure' = 'success',
  runId = String(100 + n),
) {
  const t = await trackDeployment(client(), repo, {
    environment,
    ref: sha,
    image: image(n),
    payload: { service: 'open-webui', platform: 'ecs' },
    run: run(sha, runId),
  });
  await t.finish(state, state === 'success' ? 'Deployed' : 'Failed');
  return t;
}

const guard = (environment: string, sha: string, n: number, extra: { allowDowngrade?: boolean; runId?: string } = {}) =>
  guardRelease(client(), repo, {
    environment,
    service: 'open-webui',
    image: image(n),
    allowDowngrade: extra.allowDowngrade ?? false,
    run: run(sha, extra.runId),
  });

describe('the release order', () => {
  it('lets a newer release replace the live one, and a first deploy through', async () => {
    seedCommits();
    expect((await guard('production', R2, 2)).judgement.order).toBe('first');
    await deployed('production', R2, 2);
    const r = await guard('production', R3, 3);
    expect(r.judgement).toMatchObject({ order: 'newer', how: `1 commit(s) ahead of ${R2.slice(0, 7)}` });
    expect(gh.callsOf('repos/compare-commits-with-basehead')).toHaveLength(1);
  });

  it('refuses an older release (a re-run of an old release job), naming both releases, before anything is recorded', async () => {
    seedCommits();
    await deployed('production', R1, 1);
    await deployed('production', R3, 3);
    const before = gh.store.repo('acme', 'webui').deployments.size;
    const err = await guard('production', R1, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      `Refusing to replace open-webui's live release ${R3.slice(0, 7)} (${image(3)}, GitHub Deployment #${[...gh.store.repo('acme', 'webui').deployments.values()].at(-1)?.id}) in production with the older release ${R1.slice(0, 7)} (${image(1)}): 2 commit(s) behind ${R3.slice(0, 7)}. Nothing was changed.`,
    );
    expect((err as UserError).hint).toContain('use the rollback action or workflow, or set allow-downgrade: true');
    expect(gh.store.repo('acme', 'webui').deployments.size).toBe(before);
  });

  it('lets the older release through with allow-downgrade, and says so', async () => {
    seedCommits();
    await deployed('production', R3, 3);
    const r = await guard('production', R2, 2, { allowDowngrade: true });
    expect(r.judgement.order).toBe('older');
    expect(r.notes[0]).toMatch(
      /^allow-downgrade: replacing open-webui's live release 3333333 .* with the older release 2222222: 1 commit\(s\) behind 3333333\.$/,
    );
  });

  it('after a rollback, what is live is the release rolled back to: redeploying the fixed newer release is allowed', async () => {
    seedCommits();
    await deployed('production', R2, 2);
    await deployed('production', R3, 3, 'failure'); // rolled back: marked failed
    expect((await guard('production', R3, 3)).judgement.order).toBe('newer');
  });

  it('falls back on the deployment record when GitHub does not know the commit', async () => {
    seedCommits();
    // UNKNOWN (say, force-pushed away) was deployed before the live R3: it is older.
    const old = gh.store.createDeployment('acme', 'webui', {
      environment: 'production',
      sha: UNKNOWN,
      created_at: '2026-12-01T10:00:00Z',
      payload: { tool: 'platform-actions', image: image(1), digest: `sha256:${'1'.repeat(64)}`, service: 'open-webui' },
    });
    gh.store.addDeploymentStatus('acme', 'webui', old.id, { state: 'success', created_at: '2026-12-01T10:05:00Z' });
    await deployed('production', R3, 3);
    await expect(guard('production', UNKNOWN, 1)).rejects.toThrow(
      /with the older release 9999999 .*: it was deployed here on .* \(GitHub Deployment #\d+\), before the live release/,
    );
    // A commit nobody can place and never deployed here: let through with a note.
    gh.store.repo('acme', 'webui').commits.delete(R3);
    const r = await guard('production', '8'.repeat(40), 8);
    expect(r.judgement.order).toBe('unknown');
    expect(r.notes[0]).toContain('could not be placed against the live 3333333');
  });

  it('falls back on the record for diverged commits too (a hotfix branched from R1 while R2 is live)', async () => {
    seedCommits();
    await deployed('production', R2, 2);
    const r = await guard('production', HOTFIX, 4);
    expect(r.judgement.order).toBe('unknown');
  });
});

describe('promotion re-checked when the deploy starts', () => {
  /** promote's queued deployment in production for dev's deployment of image n, in run 700. */
  async function queuePromotion(source: { id: number }, sha: string, n: number) {
    return trackDeployment(client(), repo, {
      environment: 'production',
      ref: sha,
      image: image(n),
      initialState: 'queued',
      adopt: false,
      payload: {
        service: 'open-webui',
        platform: 'ecs',
        promotion: { from_environment: 'dev', source_deployment_id: source.id, run_id: '700' },
      },
      run: run(sha, '700'),
    });
  }

  it('proceeds when the source is still healthy, judging the order by the promoted commit', async () => {
    seedCommits();
    await deployed('production', R2, 2);
    const source = await deployed('dev', R3, 3);
    await queuePromotion(source, R3, 3);
    // The deploy job runs from another commit (a workflow_dispatch on main's newer head).
    const r = await guard('production', 'f'.repeat(40), 3, { runId: '700' });
    expect(r.candidate).toBe(R3);
    expect(r.promotion?.from).toBe('dev');
    expect(r.judgement.order).toBe('newer');
  });

  it('refuses when the source failed during the approval wait, and closes the queued deployment', async () => {
    seedCommits();
    await deployed('production', R2, 2);
    const source = await deployed('dev', R3, 3);
    const queued = await queuePromotion(source, R3, 3);
    // Hours of approval wait later: dev's deployment of the digest was rolled back (marked failed).
    gh.store.addDeploymentStatus('acme', 'webui', source.id, {
      state: 'failure',
      description: 'Rolled back: p95 over 500 ms',
    });
    const err = await guard('production', R3, 3, { runId: '700' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(
      /^The promotion of open-webui from dev to production was judged when it was queued \(.*\), but no longer holds now that the deploy starts: sha256:333333333333… failed in dev: deployment #\d+ is 'failure' since .*Rolled back: p95 over 500 ms.*Nothing was changed in production\.$/,
    );
    const stored = gh.store.repo('acme', 'webui').deployments.get(queued.id);
    expect(stored?.statuses.at(-1)?.state).toBe('failure');
  });
});
