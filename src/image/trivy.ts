import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheFile, downloadTool, extractTar, find } from '@actions/tool-cache';
import { errorMessage, UserError } from '../util/errors.js';
import { runTool } from './tool.js';

/**
 * The pinned Trivy: the release tarball is verified against a SHA-256 embedded in this
 * source (TRIVY_SHA256), or against trivy-sha256 for a version the toolkit has no pin
 * for, when it is downloaded and again every time it is taken from the tool cache.
 * The tool cache keeps the verified tarball, not the unpacked binary, and each run
 * unpacks it afresh into the job's temporary directory: what runs is always bytes whose
 * hash was checked in this job. The release's own checksums file is not consulted: it
 * comes from the same place as the tarball, so whoever can swap one can swap the other.
 */

export const TRIVY_RELEASES = 'https://github.com/aquasecurity/trivy/releases/download';

/**
 * SHA-256 of Trivy's release tarballs, by version and platform suffix. Values for 0.72.0
 * are those published in trivy_0.72.0_checksums.txt of aquasecurity/trivy's v0.72.0
 * release, cross-checked against several independent public pins of the same assets
 * (they could not be downloaded from GitHub here: this machine reaches only npm).
 * Adding a version: take the hashes from the release page, compare them with a second
 * copy you downloaded yourself, and add them here in the same change that moves the
 * trivy-version default.
 */
export const TRIVY_SHA256: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '0.72.0': {
    'Linux-64bit': 'bbb64b9695866ce4a7a8f5c9592002c5961cab378577fa3f8a040df362b9b2ea',
    'Linux-ARM64': '2ca2c023109c2db6b2b77366b6717291452d4531167377d95c79547f0c8e3467',
    'macOS-64bit': 'ee5e60df8a98e5b89fd74a6d86f9e5c7e9a266a35002cb1e43291698b3bfee08',
    'macOS-ARM64': '88f208680dc05da2b459e19b4f5aa2b4dc7c2117892ba4aab2ae63baba330016',
  },
};

export interface TrivyInstall {
  path: string;
  version: string;
  source: 'tool-cache' | 'path' | 'download';
}

/** Trivy's platform suffix, e.g. Linux-64bit. */
export function platformSuffix(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'linux' ? 'Linux' : platform === 'darwin' ? 'macOS' : undefined;
  const cpu = arch === 'x64' ? '64bit' : arch === 'arm64' ? 'ARM64' : undefined;
  if (!os || !cpu)
    throw new UserError(
      `image-scan cannot download Trivy for ${platform}/${arch}.`,
      'Run on Linux or macOS (x64 or arm64), or put trivy on PATH.',
    );
  return `${os}-${cpu}`;
}

/** Trivy's release asset for this platform, e.g. trivy_0.72.0_Linux-64bit.tar.gz. */
export function assetName(
  version: string,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string {
  return `trivy_${version}_${platformSuffix(platform, arch)}.tar.gz`;
}

const sha256Contradicts = (wanted: string, version: string, suffix: string, embedded: string): UserError =>
  new UserError(
    `trivy-sha256 ${wanted} contradicts the SHA-256 this toolkit pins for trivy_${version}_${suffix}.tar.gz (${embedded}).`,
    'Remove trivy-sha256 to use the pinned hash, or check where your value came from: the same release file cannot have two hashes.',
  );

const noPinnedSha256 = (version: string, suffix: string, known: string): UserError =>
  new UserError(
    `This toolkit pins no SHA-256 for Trivy ${version} on ${suffix}, and trivy-sha256 is empty: refusing to run an unverified download.`,
    `Use a pinned version (${known}), or set trivy-sha256 to the SHA-256 of trivy_${version}_${suffix}.tar.gz from a source you trust.`,
  );

/**
 * The SHA-256 the tarball must have: the embedded pin, or trivy-sha256 for a version
 * without one. A trivy-sha256 that contradicts the embedded pin is refused: the same
 * release asset cannot have two hashes.
 */
export function expectedSha256(
  version: string,
  given: string | undefined,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): { sha256: string; source: 'embedded' | 'trivy-sha256' } {
  const suffix = platformSuffix(platform, arch);
  const embedded = TRIVY_SHA256[version]?.[suffix];
  const wanted = given?.toLowerCase();
  if (embedded && wanted && wanted !== embedded) {
    throw sha256Contradicts(wanted, version, suffix, embedded);
  }
  if (embedded) return { sha256: embedded, source: 'embedded' };
  if (wanted) return { sha256: wanted, source: 'trivy-sha256' };
  const known = Object.keys(TRIVY_SHA256).join(', ');
  throw noPinnedSha256(version, suffix, known);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
  /** trivy-sha256: the tarball's SHA-256 for a version without an embedded pin. */
  sha256?: string;
  /** Base of the release downloads (a mirror); default GitHub releases. */
  baseUrl?: string;
  log?: (line: string) => void;
}

/** Unpacks a verified tarball into the job's temporary directory. */
async function unpack(tarball: string, asset: string): Promise<string> {
  const dir = await extractTar(tarball);
  const path = join(dir, 'trivy');
  if (!existsSync(path))
    throw new UserError(
      `${asset} holds no trivy executable.`,
      'Check trivy-version and trivy-sha256: this is not a Trivy release tarball.',
    );
  return path;
}

const cachedSha256Mismatch = (
  cached: string,
  asset: string,
  actual: string,
  pin: { sha256: string; source: 'embedded' | 'trivy-sha256' },
): UserError =>
  new UserError(
    `The tool cache's ${join(cached, asset)} has SHA-256 ${actual}, not the pinned ${pin.sha256} (${pin.source === 'embedded' ? "this toolkit's pin" : 'trivy-sha256'}). Refusing to run it.`,
    `Something other than image-scan wrote the runner's tool cache. Delete ${cached} and find out what wrote it (on a self-hosted runner, any job that ran there could have); the next run downloads and verifies the release again.`,
  );

const downloadSha256Mismatch = (
  asset: string,
  actual: string,
  pin: { sha256: string; source: 'embedded' | 'trivy-sha256' },
  base: string,
): UserError =>
  new UserError(
    `The downloaded ${asset} has SHA-256 ${actual}, not the pinned ${pin.sha256} (${pin.source === 'embedded' ? "this toolkit's pin" : 'trivy-sha256'}). Refusing to run it.`,
    pin.source === 'embedded'
      ? `The download was corrupted, or ${new URL(base).host} served a different file than the release this toolkit pinned. Re-run once; if it persists, report it and do not override the pin.`
      : 'Check trivy-sha256 against the release you mean to use; if it is right, the download was corrupted or tampered with.',
  );

export async function installTrivy(options: InstallOptions): Promise<TrivyInstall> {
  const { version } = options;
  const log = options.log ?? (() => undefined);
  const asset = assetName(version);

  const cached = find('trivy', version);
  if (cached && existsSync(join(cached, asset))) {
    // Checked before the pin is looked up would be pointless: a cache hit is only as
    // good as the hash it is compared with, so both paths go through expectedSha256.
    const pin = expectedSha256(version, options.sha256);
    const actual = await sha256File(join(cached, asset));
    if (actual !== pin.sha256) {
      throw cachedSha256Mismatch(cached, asset, actual, pin);
    }
    log(
      `Using Trivy ${version} from the tool cache: ${asset} verified (SHA-256 ${actual}, ${pin.source === 'embedded' ? "this toolkit's pin" : 'trivy-sha256'}).`,
    );
    return { path: await unpack(join(cached, asset), asset), version, source: 'tool-cache' };
  }
  if (cached)
    log(
      `The tool cache's Trivy ${version} holds no release tarball to verify (written by an older image-scan?): downloading it again.`,
    );

  const path = await onPath();
  if (path) {
    const found = await trivyVersion(path);
    if (found === version) {
      log(
        `Using Trivy ${version} found on PATH (${path}): installed by an earlier step of this job, so not checked against the pin.`,
      );
      return { path, version, source: 'path' };
    }
    log(`Trivy on PATH is ${found ?? 'of unknown version'}, not the pinned ${version}: downloading ${version}.`);
  }

  const pin = expectedSha256(version, options.sha256);
  const base = `${(options.baseUrl ?? TRIVY_RELEASES).replace(/\/$/, '')}/v${version}`;
  log(`Downloading ${base}/${asset}.`);
  let tarball: string;
  try {
    tarball = await downloadTool(`${base}/${asset}`);
  } catch (err) {
    throw new UserError(
      `Cannot download Trivy ${version} (${base}/${asset}): ${errorMessage(err)}`,
      `Check that Trivy ${version} exists (trivy-version) and the runner can reach ${new URL(base).host}.`,
      { cause: err },
    );
  }
  const actual = await sha256File(tarball);
  if (actual !== pin.sha256) {
    throw downloadSha256Mismatch(asset, actual, pin, base);
  }
  log(`Verified ${asset}: SHA-256 ${actual} (${pin.source === 'embedded' ? "this toolkit's pin" : 'trivy-sha256'}).`);
  const cachedDir = await cacheFile(tarball, asset, 'trivy', version);
  return { path: await unpack(join(cachedDir, asset), asset), version, source: 'download' };
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
