import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerBuilder, type BuildSpec } from '../../../src/image/builder.js';
import { findCredentials } from '../../../src/image/credentials.js';
import { parseReference } from '../../../src/image/reference.js';
import { parseChallenge, RegistryClient } from '../../../src/image/registry.js';
import { buildahEnv, startRegistry, type LocalRegistry } from '../../support/registry.js';

/**
 * The registry client against the real registry, behind a small front that demands a
 * Bearer token from a token endpoint (the flow ghcr.io, Docker Hub and Artifact Registry
 * use), with credentials read from an auth file as docker/login-action writes it.
 */

let registry: LocalRegistry;
let front: Server;
let frontHost: string;
const tokenRequests: Array<{ authorization?: string; scope: string | null; service: string | null }> = [];
let digest: string;
const dir = mkdtempSync(join(tmpdir(), 'pa-registry-client-'));

beforeAll(async () => {
  registry = await startRegistry();
  // Push a small image with buildah so the registry holds a real manifest and config.
  const env = { ...process.env, ...buildahEnv(join(dir, 'buildah')) };
  writeFileSync(
    join(dir, 'Containerfile'),
    'FROM scratch\nLABEL purpose=registry-client-test\nCOPY Containerfile /c\n',
  );
  const built = spawnSync('buildah', ['build', '--tag', `${registry.host}/acme/web:v1`, dir], {
    env,
    encoding: 'utf8',
  });
  expect(built.status).toBe(0);
  const pushed = spawnSync('buildah', ['push', '--tls-verify=false', `${registry.host}/acme/web:v1`], {
    env,
    encoding: 'utf8',
  });
  expect(pushed.status).toBe(0);
  digest = (await registry.digestOf('acme/web', 'v1')) as string;

  const upstream = new URL(registry.url);
  front = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      tokenRequests.push({
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        scope: url.searchParams.get('scope'),
        service: url.searchParams.get('service'),
      });
      const ok = req.headers.authorization === `Basic ${Buffer.from('octocat:ghp_secret').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { token: 'good-token' } : { errors: [{ code: 'UNAUTHORIZED' }] }));
      return;
    }
    if (req.headers.authorization !== 'Bearer good-token') {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${frontHost}/token",service="registry.test",scope="repository:acme/web:pull"`,
      });
      res.end();
      return;
    }
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: '' },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  front.closeAllConnections();
  await new Promise((r) => front.close(r));
  await registry.stop();
});

describe('registry client', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(
      parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"'),
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Basic realm="https://x/",service="ecr.amazonaws.com"').scheme).toBe('basic');
  });

  it('resolves tags and reads manifests and labels from the real registry without auth', async () => {
    const client = new RegistryClient(registry.host);
    try {
      const resolved = await client.resolve('acme/web', 'v1');
      expect(resolved.digest).toBe(digest);
      const info = await client.inspect('acme/web', digest);
      expect(info.platforms).toHaveLength(1);
      expect(info.platforms[0]?.labels.purpose).toBe('registry-client-test');
      expect(info.size).toBeGreaterThan(0);
      await expect(client.resolve('acme/web', 'nope')).rejects.toThrow(
        `Registry ${registry.host} has no acme/web manifest for that reference`,
      );
    } finally {
      client.close();
    }
  });

  it('answers a Bearer challenge with credentials from the auth file docker login writes', async () => {
    const config = join(dir, 'docker');
    writeFileSync(join(dir, 'empty.json'), '{}');
    spawnSync('mkdir', ['-p', config]);
    writeFileSync(
      join(config, 'config.json'),
      JSON.stringify({ auths: { [frontHost]: { auth: Buffer.from('octocat:ghp_secret').toString('base64') } } }),
    );
    const env = { HOME: dir, DOCKER_CONFIG: config, REGISTRY_AUTH_FILE: join(dir, 'empty.json') };
    expect(await findCredentials(frontHost, env)).toMatchObject({
      username: 'octocat',
      password: 'ghp_secret',
      source: join(config, 'config.json'),
    });

    const client = new RegistryClient(frontHost, { env });
    try {
      expect((await client.resolve('acme/web', 'v1')).digest).toBe(digest);
      expect(tokenRequests).toEqual([
        {
          authorization: `Basic ${Buffer.from('octocat:ghp_secret').toString('base64')}`,
          scope: 'repository:acme/web:pull',
          service: 'registry.test',
        },
      ]);
    } finally {
      client.close();
    }

    const anonymous = new RegistryClient(frontHost, {
      env: { HOME: join(dir, 'nowhere'), REGISTRY_AUTH_FILE: join(dir, 'empty.json') },
    });
    try {
      await expect(anonymous.resolve('acme/web', 'v1')).rejects.toThrow(
        `Registry ${frontHost} refused access to acme/web (HTTP 401, without credentials)`,
      );
    } finally {
      anonymous.close();
    }
  });

  it('asks a docker credential helper named in credHelpers', async () => {
    const bin = join(dir, 'bin');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(
      join(bin, 'docker-credential-test'),
      '#!/bin/sh\nread server\n[ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}\' "$server"\n',
    );
    chmodSync(join(bin, 'docker-credential-test'), 0o755);
    const config = join(dir, 'helper');
    spawnSync('mkdir', ['-p', config]);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { 'europe-docker.pkg.dev': 'test' } }));
    const creds = await findCredentials('europe-docker.pkg.dev', {
      HOME: dir,
      DOCKER_CONFIG: config,
      PATH: `${bin}:/usr/bin:/bin`,
    });
    expect(creds).toEqual({ username: 'helper-user', password: 'helper-secret', source: 'docker-credential-test' });
  });
});

describe('docker buildx command line', () => {
  // No Docker daemon runs here: the buildx path is checked by its command line only.
  it('passes tags, labels, build args, platforms, cache and push as buildx expects', () => {
    const spec: BuildSpec = {
      context: '.',
      file: 'Dockerfile',
      image: parseReference('ghcr.io/acme/web', 'image'),
      tags: ['sha-a1b2c3d', 'main'],
      labels: { 'org.opencontainers.image.revision': 'a1b2c3d' },
      buildArgs: [['VERSION', '1.2']],
      platforms: ['linux/amd64', 'linux/arm64'],
      push: true,
      cache: { kind: 'gha' },
      workDir: '/tmp/w',
    };
    expect(DockerBuilder.buildArgs(spec, '/tmp/w/metadata.json')).toEqual([
      'buildx',
      'build',
      '--metadata-file',
      '/tmp/w/metadata.json',
      '--file',
      'Dockerfile',
      '--platform',
      'linux/amd64,linux/arm64',
      '--tag',
      'ghcr.io/acme/web:sha-a1b2c3d',
      '--tag',
      'ghcr.io/acme/web:main',
      '--label',
      'org.opencontainers.image.revision=a1b2c3d',
      '--build-arg',
      'VERSION=1.2',
      '--cache-from',
      'type=gha',
      '--cache-to',
      'type=gha,mode=max',
      '--push',
      '.',
    ]);
    const local = DockerBuilder.buildArgs(
      {
        ...spec,
        platforms: [],
        push: false,
        cache: { kind: 'registry', repository: 'ghcr.io/acme/cache', write: true },
      },
      'm',
    );
    expect(local).toEqual(
      expect.arrayContaining(['--load', '--cache-from', 'type=registry,ref=ghcr.io/acme/cache:buildcache']),
    );
    expect(local).not.toContain('--cache-to');
    expect(local).not.toContain('--push');
    // A run that may not write the cache (a pull request, a branch) imports it and pushes without exporting it.
    const pushCache = { kind: 'registry' as const, repository: 'ghcr.io/acme/web' };
    const readOnly = DockerBuilder.buildArgs({ ...spec, cache: { ...pushCache, write: false } }, 'm');
    expect(readOnly).toEqual(
      expect.arrayContaining(['--cache-from', 'type=registry,ref=ghcr.io/acme/web:buildcache', '--push']),
    );
    expect(readOnly).not.toContain('--cache-to');
    expect(DockerBuilder.buildArgs({ ...spec, cache: { ...pushCache, write: true } }, 'm')).toEqual(
      expect.arrayContaining(['--cache-to', 'type=registry,ref=ghcr.io/acme/web:buildcache,mode=max']),
    );
  });
});
