import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { isLoopbackRegistry, withTag, type ImageRef } from './reference.js';
import { mustRun, runTool } from './tool.js';

/**
 * Builders behind one interface: docker buildx where a Docker daemon answers, buildah
 * where none does (rootless runners, containers, Kubernetes-hosted runners).
 */

export type BuilderKind = 'docker' | 'buildah';

/**
 * A registry cache is imported on every build but exported (`write`) only where the run may
 * write what production builds import: the default branch, never a pull request.
 */
export type CacheSpec = { kind: 'none' } | { kind: 'gha' } | { kind: 'registry'; repository: string; write: boolean };

export interface BuildSpec {
  context: string;
  /** Dockerfile / Containerfile path; empty lets the builder look in the context. */
  file?: string;
  image: ImageRef;
  tags: string[];
  labels: Record<string, string>;
  buildArgs: Array<[string, string]>;
  platforms: string[];
  push: boolean;
  cache: CacheSpec;
  /** A private folder for digest and metadata files. */
  workDir: string;
}

export interface BuildResult {
  /** The digest the builder says it pushed (verified against the registry afterwards). */
  pushedDigest?: string;
  /** The local image (or manifest list) id. */
  imageId?: string;
}

export interface Builder {
  kind: BuilderKind;
  version: string;
  /** Logs in with the password on standard input; it never appears in a command line. */
  login(registry: string, username: string, password: string): Promise<void>;
  logout(registry: string): Promise<void>;
  build(spec: BuildSpec, signal?: AbortSignal): Promise<BuildResult>;
}

const readTrim = (path: string) => {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/** Explains the refusals a push meets most often. */
export function pushHint(output: string): string | undefined {
  if (/immutable|already exists and cannot be overwritten|tag invalid/i.test(output)) {
    return 'The repository has immutable tags (ECR IMMUTABLE tag mutability) and one of the tags already exists: drop moving tags such as {{branch}} from `tags`, or make the repository MUTABLE.';
  }
  if (/unauthorized|denied|authentication required|401|403/i.test(output)) {
    return 'The registry refused the push: log in earlier in the job (docker/login-action, or gcp-auth for Artifact Registry; ECR logins are made here) and check that the identity may push to this repository.';
  }
  if (/name unknown|repository .* not found|does not exist/i.test(output)) {
    return 'The repository does not exist: create it first (ECR does not create repositories on push).';
  }
  return undefined;
}

/** Two tags of one build pushed as different digests. */
function tagsDisagree(tag: string, digest: string, firstDigest: string): UserError {
  return new UserError(
    `buildah pushed ${tag} as ${digest} but the first tag as ${firstDigest}; the tags would point at different images.`,
  );
}

export class BuildahBuilder implements Builder {
  readonly kind = 'buildah' as const;
  constructor(readonly version: string) {}

  private tlsArgs(registry: string): string[] {
    return isLoopbackRegistry(registry) ? ['--tls-verify=false'] : [];
  }

  /** The storage id of a local image or manifest list by name. */
  private async localId(name: string): Promise<string | undefined> {
    const r = await runTool('buildah', ['images', '--json', '--no-trunc'], { silent: true });
    if (r.code !== 0) return undefined;
    try {
      const images = JSON.parse(r.stdout) as Array<{ id?: string; names?: string[] | null }>;
      const id = images.find((i) => (i.names ?? []).includes(name))?.id;
      return id ? (id.startsWith('sha256:') ? id : `sha256:${id}`) : undefined;
    } catch {
      return undefined;
    }
  }

  async login(registry: string, username: string, password: string): Promise<void> {
    await mustRun(
      'buildah',
      ['login', ...this.tlsArgs(registry), '--username', username, '--password-stdin', registry],
      `Logging in to ${registry}`,
      { input: password },
    );
  }

  async logout(registry: string): Promise<void> {
    await runTool('buildah', ['logout', registry]);
  }

  async build(spec: BuildSpec, signal?: AbortSignal): Promise<BuildResult> {
    const multi = spec.platforms.length > 1;
    const first = withTag(spec.image, spec.tags[0] as string);
    const iidfile = join(spec.workDir, 'iid');
    // buildah writes one image id per file: a multi-platform build has several.
    const args = multi ? ['build'] : ['build', '--iidfile', iidfile];
    if (spec.file) args.push('--file', spec.file);
    if (spec.platforms.length > 0) args.push('--platform', spec.platforms.join(','));
    if (multi) {
      // A leftover list of the same name (self-hosted runners) would collect old images.
      await runTool('buildah', ['manifest', 'rm', first], { silent: true });
      args.push('--manifest', first);
    } else {
      for (const tag of spec.tags) args.push('--tag', withTag(spec.image, tag));
    }
    for (const [key, value] of Object.entries(spec.labels)) args.push('--label', `${key}=${value}`);
    for (const [key, value] of spec.buildArgs) args.push('--build-arg', `${key}=${value}`);
    if (spec.cache.kind === 'registry') {
      args.push('--layers', '--cache-from', spec.cache.repository);
      if (spec.push && spec.cache.write) args.push('--cache-to', spec.cache.repository);
      args.push(...this.tlsArgs(spec.cache.repository.split('/')[0] as string));
    } else if (spec.cache.kind === 'gha') {
      throw new UserError(
        'cache: gha needs docker buildx; buildah has no GitHub Actions cache backend.',
        'Use cache: registry (buildah pushes cache layers to a repository) or builder: docker.',
      );
    }
    args.push(spec.context);
    await mustRun('buildah', args, 'The build', { signal });
    const imageId = multi ? await this.localId(first) : readTrim(iidfile);
    if (!spec.push) return { ...(imageId ? { imageId } : {}) };

    let pushedDigest: string | undefined;
    for (const [i, tag] of spec.tags.entries()) {
      const target = `docker://${withTag(spec.image, tag)}`;
      const digestfile = join(spec.workDir, `digest-${i}`);
      const push = multi
        ? ['manifest', 'push', '--all', ...this.tlsArgs(spec.image.registry), '--digestfile', digestfile, first, target]
        : ['push', ...this.tlsArgs(spec.image.registry), '--digestfile', digestfile, withTag(spec.image, tag), target];
      await mustRun('buildah', push, `Pushing ${withTag(spec.image, tag)}`, { signal }, pushHint);
      const digest = readTrim(digestfile);
      if (digest && pushedDigest && digest !== pushedDigest) {
        throw tagsDisagree(tag, digest, pushedDigest);
      }
      pushedDigest ??= digest;
    }
    return { ...(pushedDigest ? { pushedDigest } : {}), ...(imageId ? { imageId } : {}) };
  }
}

export class DockerBuilder implements Builder {
  readonly kind = 'docker' as const;
  constructor(readonly version: string) {}

  async login(registry: string, username: string, password: string): Promise<void> {
    await mustRun(
      'docker',
      ['login', '--username', username, '--password-stdin', registry],
      `Logging in to ${registry}`,
      { input: password },
    );
  }

  async logout(registry: string): Promise<void> {
    await runTool('docker', ['logout', registry]);
  }

  /** The `docker buildx build` arguments for a spec (exported for tests: no daemon runs here). */
  static buildArgs(spec: BuildSpec, metadataFile: string): string[] {
    const args = ['buildx', 'build', '--metadata-file', metadataFile];
    if (spec.file) args.push('--file', spec.file);
    if (spec.platforms.length > 0) args.push('--platform', spec.platforms.join(','));
    for (const tag of spec.tags) args.push('--tag', withTag(spec.image, tag));
    for (const [key, value] of Object.entries(spec.labels)) args.push('--label', `${key}=${value}`);
    for (const [key, value] of spec.buildArgs) args.push('--build-arg', `${key}=${value}`);
    if (spec.cache.kind === 'gha') {
      args.push('--cache-from', 'type=gha', '--cache-to', 'type=gha,mode=max');
    } else if (spec.cache.kind === 'registry') {
      const ref = `${spec.cache.repository}:buildcache`;
      args.push('--cache-from', `type=registry,ref=${ref}`);
      if (spec.push && spec.cache.write) args.push('--cache-to', `type=registry,ref=${ref},mode=max`);
    }
    if (spec.push) args.push('--push');
    else if (spec.platforms.length <= 1) args.push('--load');
    args.push(spec.context);
    return args;
  }

  async build(spec: BuildSpec, signal?: AbortSignal): Promise<BuildResult> {
    const metadataFile = join(spec.workDir, 'metadata.json');
    await mustRun(
      'docker',
      DockerBuilder.buildArgs(spec, metadataFile),
      'The build',
      { signal },
      spec.push ? pushHint : undefined,
    );
    let metadata: Record<string, unknown> = {};
    try {
      metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, unknown>;
    } catch {
      // Older buildx versions write no metadata for some exporters; the registry answers instead.
    }
    const digest = metadata['containerimage.digest'];
    const imageId = metadata['containerimage.config.digest'];
    return {
      ...(typeof digest === 'string' && digest ? { pushedDigest: digest } : {}),
      ...(typeof imageId === 'string' && imageId ? { imageId } : {}),
    };
  }
}

/** A Docker daemon that answers, with buildx: its version; otherwise undefined. */
export async function dockerAvailable(): Promise<string | undefined> {
  try {
    const server = await runTool('docker', ['version', '--format', '{{.Server.Version}}'], {
      silent: true,
      timeoutMs: 10_000,
    });
    if (server.code !== 0 || server.stdout.trim() === '') return undefined;
    const buildx = await runTool('docker', ['buildx', 'version'], { silent: true, timeoutMs: 10_000 });
    return buildx.code === 0 ? `${server.stdout.trim()} (${buildx.stdout.trim()})` : undefined;
  } catch {
    return undefined;
  }
}

export async function buildahAvailable(): Promise<string | undefined> {
  try {
    const r = await runTool('buildah', ['--version'], { silent: true, timeoutMs: 10_000 });
    return r.code === 0 ? (/version (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim()) : undefined;
  } catch {
    return undefined;
  }
}

const noDockerBuildx = (): UserError =>
  new UserError(
    'builder is docker, but no Docker daemon with buildx answered (`docker version` / `docker buildx version` failed).',
    'Run on a runner with Docker (GitHub-hosted Ubuntu runners have it), or use builder: buildah (or auto) where no daemon runs.',
  );

/** Picks the builder: `auto` prefers docker buildx when a daemon answers. */
export async function chooseBuilder(wanted: 'auto' | BuilderKind): Promise<Builder> {
  if (wanted === 'docker' || wanted === 'auto') {
    const docker = await dockerAvailable();
    if (docker) return new DockerBuilder(docker);
    if (wanted === 'docker') {
      throw noDockerBuildx();
    }
  }
  const buildah = await buildahAvailable();
  if (buildah) return new BuildahBuilder(buildah);
  throw new UserError(
    wanted === 'buildah'
      ? 'builder is buildah, but buildah is not installed on this runner.'
      : 'No Docker daemon answered and buildah is not installed: there is nothing to build with.',
    'Install buildah (`sudo apt-get install -y buildah`) or run on a runner with Docker.',
  );
}
