import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assetName, checksumFor, installTrivy } from '../../../src/image/trivy.js';

/**
 * The download path of the pinned Trivy, against a local HTTP server that serves a
 * release the way GitHub does (…/download/vX.Y.Z/<asset> and a checksums file). The
 * tarballs are made here: what is tested is fetching, verifying, unpacking and caching,
 * not Trivy itself.
 */

const VERSION = '0.72.0';
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

function publish(tarball: Buffer, checksum = sha(tarball)): void {
  files.set(`/v${VERSION}/${asset}`, tarball);
  files.set(`/v${VERSION}/trivy_${VERSION}_checksums.txt`, Buffer.from(`${'0'.repeat(64)}  trivy_${VERSION}_windows-64bit.zip\n${checksum}  ${asset}\n`));
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
  it('names the release asset for the platform', () => {
    expect(assetName('0.72.0', 'linux', 'x64')).toBe('trivy_0.72.0_Linux-64bit.tar.gz');
    expect(assetName('0.72.0', 'linux', 'arm64')).toBe('trivy_0.72.0_Linux-ARM64.tar.gz');
    expect(assetName('0.72.0', 'darwin', 'arm64')).toBe('trivy_0.72.0_macOS-ARM64.tar.gz');
    expect(() => assetName('0.72.0', 'win32', 'x64')).toThrow('cannot download Trivy for win32/x64');
    expect(checksumFor(`${'a'.repeat(64)} *trivy_1_Linux-64bit.tar.gz\n`, 'trivy_1_Linux-64bit.tar.gz')).toBe('a'.repeat(64));
  });

  it('downloads, verifies against the checksums file, unpacks into the tool cache, and reuses the cache', async () => {
    const tarball = makeTarball(asset, versionScript(VERSION));
    publish(tarball);
    const log: string[] = [];
    const first = await installTrivy({ version: VERSION, baseUrl: base, log: (l) => log.push(l) });
    expect(first.source).toBe('download');
    expect(first.path.startsWith(join(dir, 'cache', 'trivy', VERSION))).toBe(true);
    expect(spawnSync(first.path, ['--version'], { encoding: 'utf8' }).stdout).toContain(`Version: ${VERSION}`);
    expect(log.join('\n')).toContain(`SHA-256 ${sha(tarball)}`);

    hits.length = 0;
    const second = await installTrivy({ version: VERSION, baseUrl: base });
    expect(second).toEqual({ path: first.path, version: VERSION, source: 'tool-cache' });
    expect(hits).toEqual([]);
  });

  it('also checks trivy-sha256 when given', async () => {
    const tarball = makeTarball(asset, versionScript(VERSION));
    publish(tarball);
    await expect(installTrivy({ version: VERSION, baseUrl: base, sha256: 'f'.repeat(64) })).rejects.toThrow(`not the pinned trivy-sha256 ${'f'.repeat(64)}`);
    const ok = await installTrivy({ version: VERSION, baseUrl: base, sha256: sha(tarball) });
    expect(ok.source).toBe('download');
  });

  it('refuses a tarball whose checksum does not match, or that the checksums file does not list', async () => {
    publish(makeTarball(asset, versionScript(VERSION)), 'e'.repeat(64));
    await expect(installTrivy({ version: VERSION, baseUrl: base })).rejects.toThrow(`but trivy_${VERSION}_checksums.txt says ${'e'.repeat(64)}. Refusing to run it.`);
    files.set(`/v${VERSION}/trivy_${VERSION}_checksums.txt`, Buffer.from(`${'0'.repeat(64)}  something-else.tar.gz\n`));
    await expect(installTrivy({ version: VERSION, baseUrl: base })).rejects.toThrow(`lists no checksum for ${asset}`);
  });

  it('says when the version does not exist', async () => {
    await expect(installTrivy({ version: VERSION, baseUrl: base })).rejects.toThrow(`Cannot download ${base}/v${VERSION}/trivy_${VERSION}_checksums.txt: HTTP 404`);
  });

  it('uses a trivy on PATH only at exactly the pinned version', async () => {
    writeFileSync(join(dir, 'bin', 'trivy'), versionScript(VERSION));
    chmodSync(join(dir, 'bin', 'trivy'), 0o755);
    expect(await installTrivy({ version: VERSION, baseUrl: base })).toEqual({ path: join(dir, 'bin', 'trivy'), version: VERSION, source: 'path' });
    expect(hits).toEqual([]);

    writeFileSync(join(dir, 'bin', 'trivy'), versionScript('0.50.1'));
    publish(makeTarball(asset, versionScript(VERSION)));
    const log: string[] = [];
    const pinned = await installTrivy({ version: VERSION, baseUrl: base, log: (l) => log.push(l) });
    expect(pinned.source).toBe('download');
    expect(log[0]).toContain('Trivy on PATH is 0.50.1, not the pinned 0.72.0');
  });
});
