import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { githubClient } from '../../../src/github/client.js';
import type { RunContext } from '../../../src/github/context.js';
import {
  finalStateOf,
  currentState,
  digestOf,
  failureStatus,
  liveDeployment,
  succeededAt,
} from '../../../src/github/deployments.js';
import { listDeployments, parsePayload } from '../../../src/github/deployment-history.js';
import { setDeploymentStatus, trackDeployment } from '../../../src/github/deployment-tracking.js';
import { UserError } from '../../../src/util/errors.js';
import { startGitHubServer, type GitHubServer } from '../../support/github-server.js';

let gh: GitHubServer;
const repo = { owner: 'acme', repo: 'webapp' };
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const DIGEST = `sha256:${'1'.repeat(64)}`;
const IMAGE = `111111111111.dkr.ecr.us-east-1.amazonaws.com/open-webui@${DIGEST}`;
const run: RunContext = {
  repository: 'acme/webapp',
  runId: '4242',
  runAttempt: '2',
  workflow: 'release',
  job: 'deploy',
  actor: 'octocat',
  ref: 'refs/heads/main',
  sha: SHA,
  serverUrl: 'https://github.com',
  eventName: 'push',
};

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
const stored = () => [...gh.store.repo('acme', 'webapp').deployments.values()];
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('trackDeployment', () => {
  it('records the deployment so that GitHub cannot refuse it for checks or merge the default branch in', async () => {
    // A check still running on the commit: without required_contexts GitHub answers 409.
    gh.store.repo('acme', 'webapp').commitStatuses.set(SHA, ['success', 'pending']);
    const octokit = client();
    await expect(
      octokit.rest.repos.createDeployment({ ...repo, ref: SHA, environment: 'staging' }),
    ).rejects.toMatchObject({ status: 409 });

    const tracked = await trackDeployment(octokit, repo, {
      environment: 'staging',
      image: IMAGE,
      payload: { service: 'open-webui', platform: 'ecs', engine: 'task-set-canary' },
      environmentUrl: 'https://staging.example.com/',
      run,
    });
    expect(tracked.adopted).toBe(false);
    const body = gh.callsOf('repos/create-deployment').at(-1)?.body as Record<string, unknown>;
    expect(body).toMatchObject({
      ref: SHA,
      task: 'deploy',
      environment: 'staging',
      required_contexts: [],
      auto_merge: false,
      transient_environment: false,
      production_environment: false,
    });
    expect(body.payload).toEqual({
      tool: 'platform-actions',
      image: IMAGE,
      digest: DIGEST,
      service: 'open-webui',
      platform: 'ecs',
      engine: 'task-set-canary',
      run: { id: '4242', attempt: '2', url: 'https://github.com/acme/webapp/actions/runs/4242' },
    });
    const [d] = stored();
    expect(d?.statuses.map((s) => [s.state, s.log_url, s.environment_url])).toEqual([
      ['in_progress', 'https://github.com/acme/webapp/actions/runs/4242/attempts/2', 'https://staging.example.com/'],
    ]);

    await tracked.finish('success', 'Canary 10→50→100 passed every analysis');
    expect(d?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(d?.statuses.at(-1)?.environment_url).toBe('https://staging.example.com/');
  });

  it('marks production environments as such and never lets GitHub auto-merge a branch ref', async () => {
    const r = gh.store.repo('acme', 'webapp');
    r.branches.set('main', SHA);
    r.branches.set('hotfix', 'b'.repeat(40));
    const octokit = client();
    // What GitHub does with a branch that is behind the default branch when auto_merge is left on.
    const merged = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'hotfix',
      environment: 'production',
      required_contexts: [],
    });
    expect(merged.status).toBe(202);

    const tracked = await trackDeployment(octokit, repo, { environment: 'prod', ref: 'hotfix', image: IMAGE, run });
    expect(tracked.sha).toBe('b'.repeat(40));
    expect(gh.callsOf('repos/create-deployment').at(-1)?.body).toMatchObject({
      production_environment: true,
      auto_merge: false,
    });
    expect(stored().find((d) => d.id === tracked.id)).toMatchObject({ production_environment: true, ref: 'hotfix' });
  });

  it('cuts status descriptions to the 140 characters GitHub accepts', async () => {
    const tracked = await trackDeployment(client(), repo, { environment: 'dev', image: IMAGE, run });
    await tracked.finish(
      'failure',
      `Rolled back: ${'p95 latency 812 ms over the 500 ms objective; '.repeat(5)}\nsee the summary`,
    );
    const last = stored()[0]?.statuses.at(-1);
    expect(last?.state).toBe('failure');
    expect(last?.description).toHaveLength(140);
    expect(last?.description.endsWith('…')).toBe(true);
    expect(last?.description).not.toContain('\n');
  });

  it('explains a ref GitHub does not know and a bad token, before any status is written', async () => {
    const err = await trackDeployment(client(), repo, {
      environment: 'dev',
      ref: 'no-such-branch',
      image: IMAGE,
      run,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('HTTP 422');
    expect((err as UserError).hint).toContain('ref');
    expect(gh.callsOf('repos/create-deployment-status')).toHaveLength(0);

    const bad = githubClient('ghs_wrong', { GITHUB_API_URL: gh.url });
    const denied = await trackDeployment(bad, repo, { environment: 'dev', image: IMAGE, run }).catch((e: unknown) => e);
    expect((denied as UserError).hint).toContain('github-token');
  });

  it('takes over the deployment promote queued for the same environment and digest in this run', async () => {
    const octokit = client();
    const queued = await trackDeployment(octokit, repo, {
      environment: 'production',
      ref: 'c'.repeat(40),
      image: IMAGE,
      initialState: 'queued',
      payload: {
        service: 'open-webui',
        promotion: { from_environment: 'staging', source_deployment_id: 7, run_id: '4242' },
      },
      run,
    });
    // Another run's promotion of the same digest is not ours to take.
    await trackDeployment(octokit, repo, {
      environment: 'production',
      ref: 'c'.repeat(40),
      image: IMAGE,
      initialState: 'queued',
      payload: {
        service: 'open-webui',
        promotion: { from_environment: 'staging', source_deployment_id: 7, run_id: '999' },
      },
      run: { ...run, runId: '999' },
    });
    const creates = gh.callsOf('repos/create-deployment').length;

    const deploy = await trackDeployment(octokit, repo, {
      environment: 'production',
      image: IMAGE,
      payload: { service: 'open-webui', platform: 'ecs' },
      run,
    });
    expect(deploy).toMatchObject({ adopted: true, id: queued.id, sha: 'c'.repeat(40) });
    expect(gh.callsOf('repos/create-deployment')).toHaveLength(creates);
    await deploy.finish('success', 'done');
    const d = stored().find((x) => x.id === queued.id);
    expect(d?.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);

    // Once finished it is not taken over again: the next deploy is a deployment of its own.
    const again = await trackDeployment(octokit, repo, {
      environment: 'production',
      image: IMAGE,
      payload: { service: 'open-webui' },
      run,
    });
    expect(again.adopted).toBe(false);
    // A different digest is never adopted.
    const other = await trackDeployment(octokit, repo, {
      environment: 'production',
      image: `web@sha256:${'2'.repeat(64)}`,
      run,
      initialState: 'in_progress',
    });
    expect(other.adopted).toBe(false);
  });
});

describe('listDeployments', () => {
  const seed = (
    environment: string,
    n: number,
    startMs: number,
    stepMs: number,
    extra: (i: number) => Record<string, unknown> = () => ({}),
  ) => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const at = startMs + i * stepMs;
      const d = gh.store.createDeployment('acme', 'webapp', {
        environment,
        sha: SHA,
        created_at: iso(at),
        payload: {
          tool: 'platform-actions',
          image: `web@sha256:${String(i % 10).repeat(64)}`,
          digest: `sha256:${String(i % 10).repeat(64)}`,
          service: 'web',
          ...extra(i),
        },
      });
      gh.store.addDeploymentStatus('acme', 'webapp', d.id, { state: 'in_progress', created_at: iso(at + 1000) });
      gh.store.addDeploymentStatus('acme', 'webapp', d.id, {
        state: 'success',
        created_at: iso(at + 60_000),
        auto_inactive: false,
      });
      ids.push(d.id);
    }
    return ids;
  };

  it('pages through a long history, newest first, with statuses oldest first', async () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    const ids = seed('production', 130, t0, 3_600_000);
    const list = await listDeployments(client(), repo, { environment: 'production' });
    expect(list.map((d) => d.id)).toEqual([...ids].reverse());
    expect(gh.callsOf('repos/list-deployments')).toHaveLength(2);
    expect(gh.callsOf('repos/list-deployment-statuses')).toHaveLength(130);
    const newest = list[0];
    expect(newest?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(succeededAt(newest!)).toBe(t0 + 129 * 3_600_000 + 60_000);
    expect(newest?.payload?.service).toBe('web');
  });

  it('stops paging at `since`, and loads statuses only when asked', async () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    seed('production', 250, t0, 60_000);
    const since = t0 + 230 * 60_000;
    const list = await listDeployments(client(), repo, { environment: 'production', since, statuses: false });
    expect(list).toHaveLength(20);
    expect(list.every((d) => d.createdAt >= since && d.statuses.length === 0 && !d.statusesLoaded)).toBe(true);
    expect(gh.callsOf('repos/list-deployments')).toHaveLength(1);
    expect(gh.callsOf('repos/list-deployment-statuses')).toHaveLength(0);
  });

  it("leaves out GitHub's own environment deployments and other services unless asked", async () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    seed('staging', 2, t0, 60_000);
    seed('staging', 1, t0 + 10 * 60_000, 60_000, () => ({ service: 'mcpo' }));
    // A job with `environment: staging` gets a deployment from GitHub with an empty payload.
    gh.store.createDeployment('acme', 'webapp', {
      environment: 'staging',
      sha: SHA,
      created_at: iso(t0 + 20 * 60_000),
      creator: { login: 'github-actions[bot]', id: 41898282 },
    });
    // Payload stored as JSON text (some tools send it so).
    gh.store.createDeployment('acme', 'webapp', {
      environment: 'staging',
      sha: SHA,
      created_at: iso(t0 + 30 * 60_000),
      payload: JSON.stringify({ tool: 'platform-actions', image: 'web:1', service: 'web' }),
    });
    const octokit = client();
    expect((await listDeployments(octokit, repo, { environment: 'staging' })).map((d) => d.payload?.service)).toEqual([
      'web',
      'mcpo',
      'web',
      'web',
    ]);
    expect((await listDeployments(octokit, repo, { environment: 'staging', service: 'mcpo' })).length).toBe(1);
    const all = await listDeployments(octokit, repo, { environment: 'staging', includeForeign: true });
    expect(all).toHaveLength(5);
    expect(all[1]?.payload).toBeUndefined();
    expect(all[0]?.payload?.image).toBe('web:1');
  });
});

describe('finalStateOf', () => {
  it('records a rolled-back rollout as failure (back on what ran before) and a failed one as error', () => {
    expect(finalStateOf('succeeded')).toBe('success');
    expect(finalStateOf('rolled-back')).toBe('failure');
    expect(finalStateOf('failed')).toBe('error');
  });
});

describe('what the record says', () => {
  it('the live deployment is the last healthy success: a rollback counts, a failed or superseded one does not', async () => {
    const octokit = client();
    const a = await trackDeployment(octokit, repo, {
      environment: 'staging',
      image: `web@sha256:${'a'.repeat(64)}`,
      run,
    });
    await a.finish('success', 'ok');
    const b = await trackDeployment(octokit, repo, {
      environment: 'staging',
      image: `web@sha256:${'b'.repeat(64)}`,
      run,
    });
    await b.finish('success', 'ok');
    let list = await listDeployments(octokit, repo, { environment: 'staging' });
    expect(liveDeployment(list)?.id).toBe(b.id);
    // GitHub marks the superseded one inactive (auto_inactive) in a non-production environment.
    expect(currentState(list.find((d) => d.id === a.id)!)).toBe('inactive');

    // b is rolled back: marked failure, and the rollback to a's image is a deployment of its own.
    await setDeploymentStatus(octokit, repo, b.id, 'failure', 'Rolled back by rollback', {
      logUrl: 'https://github.com/acme/webapp/actions/runs/5000',
    });
    const r = await trackDeployment(octokit, repo, {
      environment: 'staging',
      image: `web@sha256:${'a'.repeat(64)}`,
      payload: { rollback: true },
      run,
    });
    await r.finish('success', 'Rolled back to a');
    list = await listDeployments(octokit, repo, { environment: 'staging' });
    const live = liveDeployment(list);
    expect(live?.id).toBe(r.id);
    expect(live?.payload).toMatchObject({ rollback: true, digest: `sha256:${'a'.repeat(64)}` });
    expect(failureStatus(list.find((d) => d.id === b.id)!)?.description).toBe('Rolled back by rollback');
  });

  it('reads digests and payloads strictly', () => {
    expect(digestOf(IMAGE)).toBe(DIGEST);
    expect(digestOf('web:1.2.3')).toBeUndefined();
    expect(parsePayload({ image: 'x' })).toBeUndefined();
    expect(parsePayload('not json')).toBeUndefined();
    expect(parsePayload({ tool: 'platform-actions', image: 'x' })).toEqual({ tool: 'platform-actions', image: 'x' });
  });
});
