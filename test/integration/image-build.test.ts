import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { useMoto } from '../support/moto.js';
import { buildahEnv, startEcrFront, startRegistry, type EcrFront, type LocalRegistry } from '../support/registry.js';
import { Job } from '../support/runner.js';

/**
 * image-build with buildah (no Docker daemon runs here, so `auto` must choose buildah)
 * against a real registry on loopback. The digest the action outputs is compared with
 * what the registry itself reports, and tags and labels are read from the registry.
 */

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const moto = useMoto();
let registry: LocalRegistry;
let proxy: AwsProxy;

function newJob(env: Record<string, string> = {}): Job {
  const job = new Job({ GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/feature/login', ...env });
  Object.assign(job.env, buildahEnv(join(job.dir, 'buildah')));
  writeFileSync(
    join(job.workspace, 'Containerfile'),
    'FROM scratch\nARG GREETING=unset\nLABEL greeting=$GREETING\nCOPY hello.txt /hello.txt\n',
  );
  writeFileSync(join(job.workspace, 'hello.txt'), `hello from ${job.dir}\n`);
  return job;
}

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startAwsProxy(moto);
});

afterAll(async () => {
  await registry.stop();
  await proxy.close();
});

async function configOf(
  repository: string,
  digest: string,
): Promise<{ config: { Labels: Record<string, string> }; architecture: string }> {
  const manifest = (await registry.manifest(repository, digest)) as { config: { digest: string } };
  return JSON.parse((await registry.blob(repository, manifest.config.digest)).toString('utf8'));
}

describe('image-build with buildah and a real registry', () => {
  it('builds, pushes every tag, and outputs the digest the registry serves, with tags and labels in the pushed image', async () => {
    const job = newJob();
    const image = `${registry.host}/acme/web`;
    const step = await job.run('image-build', {
      inputs: {
        image,
        'build-args': 'GREETING=hello, world',
        labels: 'team=payments\norg.opencontainers.image.created=',
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(step.log).toContain('with buildah');

    const digest = step.outputs.digest as string;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(step.outputs.image).toBe(`${image}@${digest}`);
    expect(await registry.digestOf('acme/web', 'sha-a1b2c3d')).toBe(digest);
    expect(await registry.digestOf('acme/web', 'feature-login')).toBe(digest);
    expect(await registry.tags('acme/web')).toEqual(['feature-login', 'sha-a1b2c3d']);
    expect(step.outputs.tags).toBe(`${image}:sha-a1b2c3d\n${image}:feature-login`);

    // skopeo, an independent client, sees the same digest and labels.
    const inspected = JSON.parse(
      spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${image}:sha-a1b2c3d`], { encoding: 'utf8' })
        .stdout,
    ) as { Digest: string; Labels: Record<string, string> };
    expect(inspected.Digest).toBe(digest);

    const { config } = await configOf('acme/web', digest);
    expect(config.Labels).toMatchObject({
      greeting: 'hello, world',
      team: 'payments',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://github.com/acme/webapp',
      'org.opencontainers.image.version': 'sha-a1b2c3d',
    });
    expect(config.Labels).not.toHaveProperty('org.opencontainers.image.created');
    expect(inspected.Labels).toEqual(config.Labels);

    const metadata = JSON.parse(step.outputs.metadata as string) as {
      digest: string;
      size: number;
      platforms: Array<{ platform: string; digest: string }>;
      labels: Record<string, string>;
    };
    expect(metadata.digest).toBe(digest);
    expect(metadata.platforms).toEqual([
      expect.objectContaining({ platform: `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`, digest }),
    ]);
    expect(metadata.size).toBeGreaterThan(0);
    expect(metadata.labels.team).toBe('payments');

    expect(step.summary).toContain('Image pushed');
    expect(step.summary).toContain(digest);
    expect(step.summary).toContain(`${image}:feature-login`);
    expect(step.summary).toMatch(/\*\*Size\*\* \| [\d.]+ (B|KiB)/);
  });

  it('pushes a multi-platform index whose platforms the registry lists', async () => {
    const job = newJob({ GITHUB_REF: 'refs/tags/v1.4.2' });
    const step = await job.run('image-build', {
      inputs: { image: `${registry.host}/acme/multi`, platforms: 'linux/amd64,linux/arm64' },
    });
    expect(step.failure).toBeUndefined();
    const digest = step.outputs.digest as string;
    expect(await registry.tags('acme/multi')).toEqual(['1', '1.4', '1.4.2', 'sha-a1b2c3d']);
    for (const tag of ['1', '1.4', '1.4.2', 'sha-a1b2c3d'])
      expect(await registry.digestOf('acme/multi', tag)).toBe(digest);
    const index = (await registry.manifest('acme/multi', digest)) as {
      manifests: Array<{ digest: string; platform: { architecture: string } }>;
    };
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    const metadata = JSON.parse(step.outputs.metadata as string) as {
      platforms: Array<{ platform: string; digest: string }>;
    };
    expect(metadata.platforms.map((p) => p.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(metadata.platforms.map((p) => p.digest).sort()).toEqual(index.manifests.map((m) => m.digest).sort());
    for (const m of index.manifests)
      expect((await configOf('acme/multi', m.digest)).config.Labels['org.opencontainers.image.version']).toBe('1.4.2');
  });

  it('with push: false builds locally and outputs the image id', async () => {
    const job = newJob();
    const step = await job.run('image-build', { inputs: { image: `${registry.host}/acme/local`, push: 'false' } });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(step.outputs.image).toBe(`${registry.host}/acme/local:sha-a1b2c3d`);
    expect(await registry.tags('acme/local')).toEqual([]);
    const local = spawnSync('buildah', ['images', '--json', '--no-trunc'], {
      encoding: 'utf8',
      env: { ...process.env, ...job.env },
    });
    const ids = (JSON.parse(local.stdout) as Array<{ id: string; names?: string[] }>)
      .filter((i) => i.names?.includes(`${registry.host}/acme/local:sha-a1b2c3d`))
      .map((i) => i.id);
    expect(ids.map((id) => (id.startsWith('sha256:') ? id : `sha256:${id}`))).toEqual([step.outputs.digest]);
  });

  it('fails clearly on bad input before building', async () => {
    const job = newJob();
    const cases: Array<[Record<string, string>, string]> = [
      [{ image: `${registry.host}/acme/web:latest` }, 'names a tag; give the repository only'],
      [{ image: `${registry.host}/acme/web`, file: 'nope/Dockerfile' }, "file 'nope/Dockerfile' does not exist"],
      [{ image: `${registry.host}/acme/web`, platforms: 'amd64' }, "platforms: 'amd64' is not a platform"],
      [{ image: `${registry.host}/acme/web`, tags: '{{semver}}' }, 'No tag applies to this run'],
      [{ image: `${registry.host}/acme/web`, cache: 'gha', builder: 'buildah' }, 'cache: gha needs docker buildx'],
      [
        { image: `${registry.host}/acme/web`, 'build-args': 'not an assignment' },
        "build-args: 'not an assignment' is not key=value",
      ],
    ];
    for (const [inputs, message] of cases) {
      const step = await job.run('image-build', { inputs });
      expect(step.exitCode).toBe(1);
      expect(step.failure).toContain(message);
    }
  });

  it('says so when builder is docker and no Docker daemon answers', async () => {
    const step = await newJob().run('image-build', {
      inputs: { image: `${registry.host}/acme/web`, builder: 'docker' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('no Docker daemon with buildx answered');
  });
});

describe('image-build: pull requests never write what production builds import', () => {
  const repo = { default_branch: 'main', full_name: 'acme/webapp' };
  const pullRequest = { number: 12, head: { ref: 'feature/login', sha: SHA }, base: { ref: 'main' } };

  it("a pull request's run with the production repository builds without pushing and writes no cache", async () => {
    const job = newJob();
    job.setEvent('pull_request', { repository: repo, pull_request: pullRequest });
    const step = await job.run('image-build', { inputs: { image: `${registry.host}/acme/prod`, cache: 'registry' } });
    expect(step.failure).toBeUndefined();
    expect(step.log).toContain("This is a pull request's run: building without pushing");
    expect(step.outputs.image).toBe(`${registry.host}/acme/prod:sha-a1b2c3d`);
    expect(await registry.tags('acme/prod')).toEqual([]);
  });

  it("pushes a pull request's image to the quarantine repository, importing but never writing the cache", async () => {
    const job = newJob();
    job.setEvent('pull_request', { repository: repo, pull_request: pullRequest });
    const step = await job.run('image-build', {
      inputs: {
        image: `${registry.host}/acme/prod2`,
        'pull-request-image': `${registry.host}/acme/quarantine`,
        cache: 'registry',
        tags: 'pr-{{pr}}',
      },
    });
    expect(step.failure).toBeUndefined();
    expect(step.outputs.image).toBe(`${registry.host}/acme/quarantine@${step.outputs.digest as string}`);
    expect(await registry.tags('acme/quarantine')).toEqual(['pr-12']);
    expect(await registry.tags('acme/prod2')).toEqual([]);
    expect(step.log).toContain('only the default branch (main) writes the cache');

    // The same repository for both is refused: the quarantine would be production.
    const same = await job.run('image-build', {
      inputs: { image: `${registry.host}/acme/prod2`, 'pull-request-image': `${registry.host}/acme/prod2` },
    });
    expect(same.exitCode).toBe(1);
    expect(same.failure).toContain('is the same repository as image');
  });

  it('a push to another branch writes no cache; a push to the default branch does', async () => {
    const branch = newJob({ GITHUB_REF: 'refs/heads/feature/login' });
    branch.setEvent('push', { repository: repo, ref: 'refs/heads/feature/login' });
    const onBranch = await branch.run('image-build', {
      inputs: {
        image: `${registry.host}/acme/app`,
        cache: `registry:${registry.host}/acme/app-cache`,
        tags: 'sha-{{sha}}',
      },
    });
    expect(onBranch.failure).toBeUndefined();
    expect(await registry.tags('acme/app')).toEqual(['sha-a1b2c3d']);
    expect(await registry.tags('acme/app-cache')).toEqual([]);

    const main = newJob({ GITHUB_REF: 'refs/heads/main' });
    main.setEvent('push', { repository: repo, ref: 'refs/heads/main' });
    const onMain = await main.run('image-build', {
      inputs: { image: `${registry.host}/acme/app`, cache: `registry:${registry.host}/acme/app-cache`, tags: 'main' },
    });
    expect(onMain.failure).toBeUndefined();
    expect((await registry.tags('acme/app-cache')).length).toBeGreaterThan(0);
  });
});

describe('image-build logs in to ECR itself', () => {
  const ACCOUNT = '123456789012';
  const HOST = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
  const PASSWORD = `${ACCOUNT}-auth-token`; // what moto's GetAuthorizationToken issues
  let front: EcrFront;

  beforeAll(async () => {
    front = await startEcrFront({ host: HOST, upstream: registry.url, username: 'AWS', password: PASSWORD });
  });
  afterAll(() => front.close());

  it('gets a token from ECR, logs in with the password on stdin (masked first), pushes, reads the digest back, and logs out in post', async () => {
    proxy.reset();
    const job = newJob({
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      ...front.env,
    });
    const step = await job.run('image-build', { inputs: { image: `${HOST}/web` } });
    expect(step.failure).toBeUndefined();
    expect(step.exitCode).toBe(0);
    expect(proxy.count('GetAuthorizationToken')).toBe(1);
    expect(proxy.requests('GetAuthorizationToken')).toEqual([{ registryIds: [ACCOUNT] }]);

    const token = Buffer.from(`AWS:${PASSWORD}`).toString('base64');
    expect(step.masked).toEqual(expect.arrayContaining([PASSWORD, token]));
    expect(step.leaks([PASSWORD, token])).toEqual([]);
    expect(step.raw.filter((l) => l.startsWith('[command]buildah login'))).toEqual([
      `[command]buildah login --username AWS --password-stdin ${HOST}`,
    ]);

    // The registry behind the ECR name saw the push, authenticated, and serves that digest.
    const digest = step.outputs.digest as string;
    expect(step.outputs.image).toBe(`${HOST}/web@${digest}`);
    expect(await registry.digestOf('web', 'sha-a1b2c3d')).toBe(digest);
    expect(
      front.requests.some((r) => r.method === 'PUT' && r.path === '/v2/web/manifests/sha-a1b2c3d' && r.authorized),
    ).toBe(true);
    expect(front.requests.filter((r) => r.path.startsWith('/v2/web/') && !r.authorized)).toEqual([]);

    const authFile = job.env.REGISTRY_AUTH_FILE as string;
    expect(Object.keys((JSON.parse(readFileSync(authFile, 'utf8')) as { auths: object }).auths)).toEqual([HOST]);
    const post = await job.post(step);
    expect(post.exitCode).toBe(0);
    expect(post.log).toContain(`Logged out of ${HOST}`);
    expect((JSON.parse(readFileSync(authFile, 'utf8')) as { auths?: object }).auths ?? {}).toEqual({});
  });

  it('explains a refused GetAuthorizationToken without trying to build a login', async () => {
    proxy.reset();
    proxy.inject({
      operation: 'GetAuthorizationToken',
      times: 1,
      status: 400,
      code: 'AccessDeniedException',
      message: 'User is not authorized to perform: ecr:GetAuthorizationToken',
    });
    const job = newJob({
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ...front.env,
    });
    mkdirSync(join(job.dir, 'unused'), { recursive: true });
    const step = await job.run('image-build', { inputs: { image: `${HOST}/web` } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('AWS refused ecr:GetAuthorizationToken');
    expect(step.failure).toContain('Allow ecr:GetAuthorizationToken');
    expect(step.raw.some((l) => l.startsWith('[command]buildah build'))).toBe(false);
  });
});
