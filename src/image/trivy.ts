import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpClient } from '@actions/http-client';
import { cacheDir, downloadTool, extractTar, find } from '@actions/tool-cache';
import { errorMessage, UserError } from '../util/errors.js';
import { runTool } from './tool.js';

/**
 * The pinned Trivy: found in the runner's tool cache, or on PATH at exactly the pinned
 * version, or downloaded from the release, checked against the release's checksums
 * file (and against trivy-sha256 when given) before it is unpacked and cached.
 */

export const TRIVY_RELEASES = 'https://github.com/aquasecurity/trivy/releases/download';

export interface TrivyInstall {
  path: string;
  version: string;
  source: 'tool-cache' | 'path' | 'download';
}

/** Trivy's release asset for this platform, e.g. trivy_0.72.0_Linux-64bit.tar.gz. */
export function assetName(version: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'linux' ? 'Linux' : platform === 'darwin' ? 'macOS' : undefined;
  const cpu = arch === 'x64' ? '64bit' : arch === 'arm64' ? 'ARM64' : undefined;
  if (!os || !cpu) throw new UserError(`image-scan cannot download Trivy for ${platform}/${arch}.`, 'Run on Linux or macOS (x64 or arm64), or put trivy on PATH.');
  return `trivy_${version}_${os}-${cpu}.tar.gz`;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The hash the checksums file lists for a file name. */
export function checksumFor(checksums: string, file: string): string | undefined {
  for (const line of checksums.split('\n')) {
    const m = /^([a-f0-9]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1];
  }
  return undefined;
}

/** `trivy --version` → "0.72.0", or undefined when it cannot say. */
export async function trivyVersion(path: string): Promise<string | undefined> {
  try {
    const r = await runTool(path, ['--version'], { silent: true, timeoutMs: 30_000 });
    return r.code === 0 ? /Version:\s*v?(\S+)/.exec(r.stdout)?.[1] : undefined;
  } catch {
    return undefined;
  }
}

async function onPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = join(dir, 'trivy');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface InstallOptions {
  version: string;
  /** Expected SHA-256 of the release tarball, checked in addition to the checksums file. */
  sha256?: string;
  /** Base of the release downloads (a mirror); default GitHub releases. */
  baseUrl?: string;
  log?: (line: string) => void;
}

export async function installTrivy(options: InstallOptions): Promise<TrivyInstall> {
  const { version } = options;
  const log = options.log ?? (() => undefined);
  const cached = find('trivy', version);
  if (cached && existsSync(join(cached, 'trivy'))) {
    log(`Using Trivy ${version} from the tool cache (${cached}).`);
    return { path: join(cached, 'trivy'), version, source: 'tool-cache' };
  }
  const path = await onPath();
  if (path) {
    const found = await trivyVersion(path);
    if (found === version) {
      log(`Using Trivy ${version} found on PATH (${path}).`);
      return { path, version, source: 'path' };
    }
    log(`Trivy on PATH is ${found ?? 'of unknown version'}, not the pinned ${version}: downloading ${version}.`);
  }

  const asset = assetName(version);
  const base = `${(options.baseUrl ?? TRIVY_RELEASES).replace(/\/$/, '')}/v${version}`;
  const sumsName = `trivy_${version}_checksums.txt`;
  log(`Downloading ${base}/${asset} and ${sumsName}.`);
  let tarball: string;
  let sums: string;
  const http = new HttpClient('platform-actions');
  try {
    const res = await http.get(`${base}/${sumsName}`);
    sums = await res.readBody();
    if (res.message.statusCode !== 200) {
      throw new UserError(`Cannot download ${base}/${sumsName}: HTTP ${res.message.statusCode}.`, `Check that Trivy ${version} exists (trivy-version) and the runner can reach the release downloads.`);
    }
    tarball = await downloadTool(`${base}/${asset}`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`Cannot download Trivy ${version} (${asset}): ${errorMessage(err)}`, `Check that Trivy ${version} exists (trivy-version) and the runner can reach ${new URL(base).host}.`, { cause: err });
  } finally {
    http.dispose();
  }
  const actual = await sha256File(tarball);
  const listed = checksumFor(sums, asset);
  if (!listed) throw new UserError(`${sumsName} lists no checksum for ${asset}; refusing to run an unverified download.`);
  if (listed !== actual) {
    throw new UserError(`The downloaded ${asset} has SHA-256 ${actual}, but ${sumsName} says ${listed}. Refusing to run it.`, 'The download was corrupted or tampered with. Re-run the job; if it persists, report it.');
  }
  if (options.sha256 && options.sha256.toLowerCase() !== actual) {
    throw new UserError(`The downloaded ${asset} has SHA-256 ${actual}, not the pinned trivy-sha256 ${options.sha256}. Refusing to run it.`, 'Check trivy-sha256 against the release you mean to use.');
  }
  log(`Verified ${asset}: SHA-256 ${actual}${options.sha256 ? ' (matches trivy-sha256 and the checksums file)' : ' (matches the checksums file)'}.`);
  const dir = await extractTar(tarball);
  if (!existsSync(join(dir, 'trivy'))) throw new UserError(`${asset} holds no trivy executable.`);
  const cachedDir = await cacheDir(dir, 'trivy', version);
  return { path: join(cachedDir, 'trivy'), version, source: 'download' };
}

export interface TrivyScanOptions {
  image: string;
  outputFile: string;
  cacheDir?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs `trivy image` for vulnerabilities and writes its JSON report to outputFile. */
export async function runTrivy(trivy: TrivyInstall, options: TrivyScanOptions): Promise<void> {
  if (options.cacheDir) await mkdir(options.cacheDir, { recursive: true });
  const args = [
    'image',
    '--format',
    'json',
    '--output',
    options.outputFile,
    '--scanners',
    'vuln',
    '--severity',
    'UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL',
    '--timeout',
    `${Math.max(1, Math.round(options.timeoutMs / 1000))}s`,
    '--quiet',
    ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
    options.image,
  ];
  const r = await runTool(trivy.path, args, { ...(options.signal ? { signal: options.signal } : {}) });
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n');
    const hint = /unauthorized|denied|401|403/i.test(tail)
      ? 'Trivy could not pull the image: log in to the registry earlier in the job (for ECR, aws-auth is enough: Trivy uses the AWS credentials in the environment).'
      : /rate limit|TOOMANYREQUESTS|429/i.test(tail)
        ? 'The vulnerability database download was rate-limited: set TRIVY_DB_REPOSITORY to a mirror (e.g. mirror.gcr.io/aquasec/trivy-db) or cache ~/.cache/trivy between runs.'
        : undefined;
    throw new UserError(`Trivy failed to scan ${options.image} (exit ${r.code}):\n${tail}`, hint);
  }
}
