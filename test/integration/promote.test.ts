import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { githubClient } from '../../src/github/client.js';
import { runContext } from '../../src/github/context.js';
import { trackDeployment } from '../../src/github/deployment-tracking.js';
import { digest, HOUR, imageOf, MINUTE, rollout, seedDeployment } from '../support/deployment-history.js';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { Job } from '../support/runner.js';

let gh: GitHubServer;
let job: Job;
let now: number;

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
beforeEach(() => {
  gh.reset();
  job = new Job({ ...gh.env(), GITHUB_WORKFLOW: 'promote', GITHUB_EVENT_NAME: 'workflow_dispatch' });
  now = Date.now();
});
afterEach(() => {
  expect(gh.problems).toEqual([]);
});

const promote = (inputs: Record<string, string>) =>
  job.run('promote', {
    inputs: { 'from-environment': 'staging', 'to-environment': 'production', 'github-token': gh.token, ...inputs },
  });
const deployments = (environment?: string) =>
  [...gh.store.repo('acme', 'webapp').deployments.values()].filter(
    (d) => environment === undefined || d.environment === environment,
  );
const seed = (...ds: Parameters<typeof seedDeployment>[1][]) => ds.map((d) => seedDeployment(gh.store, d));

describe('promote', () => {
  it('promotes what is live and healthy in the source, and the deploy step takes the queued deployment over', async () => {
    const [, b] = seed(
      rollout('staging', 'a', now - 5 * HOUR, 'success'),
      rollout('staging', 'b', now - 3 * HOUR, 'success'),
      // a later attempt that failed and was rolled back by the deploy itself: b stays live
      rollout('staging', 'c', now - 1 * HOUR, 'failure', 12),
      rollout('production', 'a', now - 4 * HOUR, 'success', 5, { production: true }),
    );
    // The deployment GitHub itself makes for a job with `environment: staging`.
    gh.store.createDeployment('acme', 'webapp', {
      environment: 'staging',
      sha: 'f'.repeat(40),
      created_at: new Date(now - 10 * MINUTE).toISOString(),
    });

    const step = await promote({ 'min-soak': '2h' });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(step.outputs).toMatchObject({
      image: imageOf('b'),
      digest: digest('b'),
      'source-deployment-id': String(b?.id),
    });
    const queued = deployments('production').find((d) => String(d.id) === step.outputs['deployment-id']);
    expect(queued).toMatchObject({ sha: b?.sha, task: 'deploy', production_environment: true });
    expect(queued?.payload).toMatchObject({
      tool: 'platform-actions',
      image: imageOf('b'),
      digest: digest('b'),
      service: 'open-webui',
      promotion: { from_environment: 'staging', source_deployment_id: b?.id, run_id: '4242' },
    });
    expect(queued?.statuses.map((s) => s.state)).toEqual(['queued']);
    expect(queued?.statuses[0]?.description).toMatch(/^Promoted from staging after 2h55m/);
    expect(gh.callsOf('repos/create-deployment').at(-1)?.body).toMatchObject({
      required_contexts: [],
      auto_merge: false,
    });

    expect(step.summary).toContain('Promoted from staging to production');
    expect(step.summary).toContain(`deployment #${b?.id}`);
    expect(step.summary).toMatch(/\*\*Healthy for\*\* \| 2h55m\d*s? and counting \(still live\); min-soak 2h/);
    expect(step.summary).toContain(`Before in production** | \`${imageOf('a')}\``);

    // The deploy step later in the same run (ecs-deploy / gke-deploy) records on the queued one.
    const env = {
      GITHUB_REPOSITORY: 'acme/webapp',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SHA: 'e'.repeat(40),
    };
    const tracked = await trackDeployment(
      githubClient(gh.token, { GITHUB_API_URL: gh.url }),
      { owner: 'acme', repo: 'webapp' },
      {
        environment: 'production',
        image: step.outputs.image as string,
        payload: { service: 'open-webui', platform: 'ecs' },
        run: runContext(env),
      },
    );
    expect(tracked).toMatchObject({ adopted: true, id: queued?.id, sha: b?.sha });
    await tracked.finish('success', 'Rolled out');
    expect(queued?.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
  });

  it('trusts only deployments and statuses the deployer created: a forged record or status is no evidence', async () => {
    const mallory = { login: 'mallory', id: 666 };
    seed(
      rollout('staging', 'a', now - 5 * HOUR, 'success'),
      // Someone else's token writes a deployment whose payload says it is ours, long healthy.
      rollout('staging', 'e', now - 4 * HOUR, 'success', 5, { creator: mallory }),
    );
    const [failed] = seed(rollout('staging', 'b', now - 3 * HOUR, 'failure', 8));
    // ...and a success status on our failed deployment.
    gh.store.addDeploymentStatus('acme', 'webapp', failed!.id, {
      state: 'success',
      created_at: new Date(now - 2 * HOUR).toISOString(),
      creator: mallory,
    });

    const forged = await promote({ image: digest('e'), 'min-soak': '1h' });
    expect(forged.exitCode).toBe(1);
    expect(forged.failure).toContain('was never deployed to staging');
    const overruled = await promote({ image: digest('b'), 'min-soak': '1h' });
    expect(overruled.exitCode).toBe(1);
    expect(overruled.failure).toContain('failed in staging');
    expect(deployments('production')).toHaveLength(0);

    // With the forger named as the deployer (an App token's bot, say), its record counts.
    const named = await promote({ image: digest('e'), 'min-soak': '1h', deployer: 'mallory' });
    expect(named.failure).toBeUndefined();
    expect(named.outputs.digest).toBe(digest('e'));
  });

  it('refuses a digest that never ran in the source, and changes nothing', async () => {
    seed(rollout('staging', 'a', now - 5 * HOUR, 'success'));
    const step = await promote({ image: imageOf('9') });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(`sha256:999999999999… was never deployed`);
    expect(step.failure).toContain('was never deployed to staging');
    expect(step.failure).toContain('Deploy it to staging first, or leave image empty');
    expect(step.summary).toContain('Promotion from staging to production refused');
    expect(deployments('production')).toHaveLength(0);
    expect(gh.callsOf('repos/create-deployment')).toHaveLength(0);
  });

  it('refuses a digest whose latest deployment in the source failed', async () => {
    seed(
      rollout('staging', 'a', now - 5 * HOUR, 'success'),
      rollout('staging', 'b', now - 3 * HOUR, 'failure', 8, {
        statuses: [
          ['in_progress', now - 3 * HOUR],
          ['failure', now - 3 * HOUR + 8 * MINUTE, 'Canary rolled back: error rate 4.1% over 1%'],
        ],
      }),
    );
    const step = await promote({ image: digest('b'), 'min-soak': '0' });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(
      /failed in staging: deployment #\d+ is 'failure' since .* \(Canary rolled back: error rate 4\.1% over 1%\) \(https:\/\/github\.com\/acme\/webapp\/actions\/runs\/\d+\)/,
    );
    expect(step.failure).toContain('Fix forward');
    expect(deployments('production')).toHaveLength(0);
  });

  it('refuses a digest that was rolled back in the source, even if nothing marked it failed', async () => {
    seed(
      rollout('staging', 'a', now - 6 * HOUR, 'success'),
      rollout('staging', 'b', now - 5 * HOUR, 'success'),
      rollout('staging', 'a', now - 4 * HOUR, 'success', 2, { rollback: true }),
    );
    const refused = await promote({ image: imageOf('b'), 'min-soak': '30m' });
    expect(refused.exitCode).toBe(1);
    expect(refused.failure).toMatch(
      /was rolled back in staging: deployment #\d+ returned it to .*open-webui@sha256:aaaa/,
    );

    // What is live is the rollback's image; it has been healthy since the rollback, 4h.
    const step = await promote({ 'min-soak': '3h' });
    expect(step.exitCode).toBe(0);
    expect(step.outputs.digest).toBe(digest('a'));
  });

  it('refuses a digest that has not soaked, and says when it will have', async () => {
    seed(rollout('staging', 'a', now - 5 * HOUR, 'success'), rollout('staging', 'b', now - 15 * MINUTE, 'success', 5));
    const step = await promote({ 'min-soak': '30m' });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(/has been healthy in staging for 10m\d*s? \(since .* UTC\); min-soak is 30m\./);
    expect(step.failure).toMatch(/Re-run after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, or lower min-soak\./);
    expect(deployments('production')).toHaveLength(0);
  });

  it('refuses while the rollout in the source is still running', async () => {
    seed(rollout('staging', 'a', now - 5 * HOUR, 'success'), rollout('staging', 'b', now - 2 * MINUTE, 'in_progress'));
    const step = await promote({ image: digest('b') });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(/is still being deployed to staging \(deployment #\d+ is 'in_progress'/);
    expect(step.failure).toContain('Wait for that rollout to finish');
  });

  it('counts soak across a redeploy of the same digest, and up to its replacement for an older one', async () => {
    const [a] = seed(
      rollout('staging', 'a', now - 8 * HOUR, 'success', 5),
      rollout('staging', 'b', now - 7 * HOUR, 'success', 5),
      // b redeployed (same digest) 10 minutes ago: it has been live for 7h all the same
      rollout('staging', 'b', now - 10 * MINUTE, 'success', 5),
    );
    const live = await promote({ 'min-soak': '6h' });
    expect(live.exitCode).toBe(0);
    expect(live.outputs.digest).toBe(digest('b'));
    expect(live.summary).toContain('and 1 earlier of the same digest');

    // a was live for 1h (8h ago until b replaced it): enough for 30m, not for 2h.
    const older = await promote({ image: digest('a'), 'min-soak': '30m' });
    expect(older.exitCode).toBe(0);
    expect(older.outputs['source-deployment-id']).toBe(String(a?.id));
    expect(older.summary).toMatch(/\*\*Healthy for\*\* \| 1h \(until deployment #\d+ replaced it on/);
    const short = await promote({ image: digest('a'), 'min-soak': '2h' });
    expect(short.failure).toMatch(
      /was healthy in staging for only 1h \(from .* until deployment #\d+ replaced it\); min-soak is 2h\./,
    );
  });

  it('asks which service when the source runs several, and outputs the repository it was given', async () => {
    seed(
      rollout('staging', 'a', now - 5 * HOUR, 'success'),
      rollout('staging', 'b', now - 5 * HOUR, 'success', 5, {
        service: 'mcpo',
        repository: '111111111111.dkr.ecr.us-east-1.amazonaws.com/mcpo',
      }),
    );
    const ambiguous = await promote({});
    expect(ambiguous.failure).toContain('staging runs several services (mcpo, open-webui)');
    expect(ambiguous.failure).toContain('Set `service`');

    const mcpo = await promote({ service: 'mcpo', 'min-soak': '1h' });
    expect(mcpo.outputs.image).toBe(`111111111111.dkr.ecr.us-east-1.amazonaws.com/mcpo@${digest('b')}`);
    // A replica registry for production: the digest is checked, the repository given is output.
    const replica = await promote({
      image: `222222222222.dkr.ecr.eu-west-1.amazonaws.com/mcpo@${digest('b')}`,
      'min-soak': '1h',
    });
    expect(replica.outputs.image).toBe(`222222222222.dkr.ecr.eu-west-1.amazonaws.com/mcpo@${digest('b')}`);
    expect(deployments('production').map((d) => (d.payload as { service?: string }).service)).toEqual(['mcpo', 'mcpo']);
  });

  it('says there is nothing to promote from an empty environment', async () => {
    const step = await promote({});
    expect(step.failure).toContain('Nothing has been deployed to staging by platform-actions');
  });

  it('rejects a tag, and the same environment twice, before calling GitHub', async () => {
    const tag = await promote({ image: 'ghcr.io/acme/web:1.4.2' });
    expect(tag.exitCode).toBe(1);
    expect(tag.failure).toContain("image 'ghcr.io/acme/web:1.4.2' is a tag; promote moves exact digests");
    const same = await promote({ 'to-environment': 'Staging' });
    expect(same.failure).toContain("from-environment and to-environment are both 'staging'");
    const soak = await promote({ 'min-soak': 'a while' });
    expect(soak.failure).toContain("Input 'min-soak' is not a duration");
    expect(gh.calls).toHaveLength(0);
  });
});
