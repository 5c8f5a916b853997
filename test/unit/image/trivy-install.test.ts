import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assetName, expectedSha256, installTrivy, TRIVY_SHA256 } from '../../../src/image/trivy.js';

/**
 * The download path of the pinned Trivy, against a local HTTP server that serves a
 * release the way GitHub does (…/download/vX.Y.Z/<asset>). The tarballs are made here,
 * so they are pinned with trivy-sha256 under a version the toolkit has no embedded pin
 * for: what is tested is fetching, verifying, unpacking and caching, not Trivy itself.
 */

const VERSION = '0.0.1';
const asset = assetName(VERSION);
let server: Server;
let base: string;
const files = new Map<string, Buffer>();
const hits: string[] = [];
let dir: string;
const savedEnv = { ...process.env };

function makeTarball(name: string, script: string): Buffer {
  const src = mkdtempSync(join(tmpdir(), 'pa-trivy-src-'));
  writeFileSync(join(src, 'trivy'), script);
  chmodSync(join(src, 'trivy'), 0o755);
  writeFileSync(join(src, 'LICENSE'), 'test');
  const out = join(src, name);
  const r = spawnSync('tar', ['-czf', out, '-C', src, 'trivy', 'LICENSE']);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return readFileSync(out);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const versionScript = (v: string) => `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Version: ${v}"; fi\n`;

function publish(tarball: Buffer, version = VERSION): void {
  files.set(`/v${version}/${assetName(version)}`, tarball);
  // A checksums file agreeing with whatever is served: it must not count as evidence.
  files.set(`/v${version}/trivy_${version}_checksums.txt`, Buffer.from(`${sha(tarball)}  ${assetName(version)}\n`));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) {
      res.writeHead(404);
      res.end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  process.env = savedEnv;
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pa-trivy-'));
  mkdirSync(join(dir, 'cache'));
  mkdirSync(join(dir, 'temp'));
  mkdirSync(join(dir, 'bin'));
  process.env.RUNNER_TOOL_CACHE = join(dir, 'cache');
  process.env.RUNNER_TEMP = join(dir, 'temp');
  process.env.PATH = `${join(dir, 'bin')}:/usr/bin:/bin`;
  files.clear();
  hits.length = 0;
});

describe('installing the pinned Trivy', () => {
  it('names the release asset for the platform and knows the pinned hashes', () => {
    expect(assetName('0.72.0', 'linux', 'x64')).toBe('trivy_0.72.0_Linux-64bit.tar.gz');
    expect(assetName('0.72.0', 'linux', 'arm64')).toBe('trivy_0.72.0_Linux-ARM64.tar.gz');
    expect(assetName('0.72.0', 'darwin', 'arm64')).toBe('trivy_0.72.0_macOS-ARM64.tar.gz');
    expect(() => assetName('0.72.0', 'win32', 'x64')).toThrow('cannot download Trivy for win32/x64');
    // Every platform the action can download for has a pin for the default version.
    for (const suffix of ['Linux-64bit', 'Linux-ARM64', 'macOS-64bit', 'macOS-ARM64'])
      expect(TRIVY_SHA256['0.72.0']?.[suffix]).toMatch(/^[a-f0-9]{64}$/);
    expect(expectedSha256('0.72.0', undefined, 'linux', 'x64')).toEqual({
      sha256: 'bbb64b9695866ce4a7a8f5c9592002c5961cab378577fa3f8a040df362b9b2ea',
      source: 'embedded',
    });
    expect(() => expectedSha256('0.72.0', 'a'.repeat(64), 'linux', 'x64')).toThrow(
      'contradicts the SHA-256 this toolkit pins',
    );
    expect(() => expectedSha256('0.0.2', undefined, 'linux', 'x64')).toThrow(
      'pins no SHA-256 for Trivy 0.0.2 on Linux-64bit, and trivy-sha256 is empty',
    );
  });

  it('downloads, verifies, caches the tarball, and verifies it again on every cache hit', async () => {
    const tarball = makeTarball(asset, versionScript(VERSION));
    publish(tarball);
    const log: string[] = [];
    const first = await installTrivy({
      version: VERSION,
      baseUrl: base,
      sha256: sha(tarball),
      log: (l) => log.push(l),
    });
    expect(first.source).toBe('download');
    expect(first.path.startsWith(join(dir, 'temp'))).toBe(true);
    expect(spawnSync(first.path, ['--version'], { encoding: 'utf8' }).stdout).toContain(`Version: ${VERSION}`);
    expect(log.join('\n')).toContain(`SHA-256 ${sha(tarball)} (trivy-sha256)`);
    expect(hits).toEqual([`/v${VERSION}/${asset}`]);

    hits.length = 0;
    const log2: string[] = [];
    const second = await installTrivy({
      version: VERSION,
      baseUrl: base,
      sha256: sha(tarball),
      log: (l) => log2.push(l),
    });
    expect(second.source).toBe('tool-cache');
    expect(second.path).not.toBe(first.path);
    expect(log2.join('\n')).toContain('from the tool cache');
    expect(hits).toEqual([]);

    // Whatever rewrites the cached tarball afterwards is caught at the next hit.
    const cached = join(dir, 'cache', 'trivy', VERSION, process.arch, asset);
    writeFileSync(cached, makeTarball(asset, '#!/bin/sh\necho pwned\n'));
    await expect(installTrivy({ version: VERSION, baseUrl: base, sha256: sha(tarball) })).rejects.toThrow(
      `The tool cache's ${cached} has SHA-256`,
    );
  });

  it('refuses a download that does not match the pin, whatever the checksums file says', async () => {
    publish(makeTarball(asset, versionScript(VERSION)));
    await expect(installTrivy({ version: VERSION, baseUrl: base, sha256: 'f'.repeat(64) })).rejects.toThrow(
      `not the pinned ${'f'.repeat(64)} (trivy-sha256). Refusing to run it.`,
    );
    publish(makeTarball('trivy_0.72.0_Linux-64bit.tar.gz', versionScript('0.72.0')), '0.72.0');
    if (process.platform === 'linux' && process.arch === 'x64') {
      await expect(installTrivy({ version: '0.72.0', baseUrl: base })).rejects.toThrow(
        "not the pinned bbb64b9695866ce4a7a8f5c9592002c5961cab378577fa3f8a040df362b9b2ea (this toolkit's pin)",
      );
    }
    expect(readdirSync(join(dir, 'cache'))).toEqual([]);
  });

  it('says when the version does not exist', async () => {
    await expect(installTrivy({ version: VERSION, baseUrl: base, sha256: 'f'.repeat(64) })).rejects.toThrow(
      `Cannot download Trivy ${VERSION} (${base}/v${VERSION}/${asset})`,
    );
  });

  it('uses a trivy on PATH only at exactly the pinned version', async () => {
    writeFileSync(join(dir, 'bin', 'trivy'), versionScript(VERSION));
    chmodSync(join(dir, 'bin', 'trivy'), 0o755);
    expect(await installTrivy({ version: VERSION, baseUrl: base })).toEqual({
      path: join(dir, 'bin', 'trivy'),
      version: VERSION,
      source: 'path',
    });
    expect(hits).toEqual([]);

    writeFileSync(join(dir, 'bin', 'trivy'), versionScript('0.50.1'));
    const tarball = makeTarball(asset, versionScript(VERSION));
    publish(tarball);
    const log: string[] = [];
    const pinned = await installTrivy({
      version: VERSION,
      baseUrl: base,
      sha256: sha(tarball),
      log: (l) => log.push(l),
    });
    expect(pinned.source).toBe('download');
    expect(log[0]).toContain(`Trivy on PATH is 0.50.1, not the pinned ${VERSION}`);
  });
});
