import { UserError } from '../util/errors.js';

/**
 * Image references as the distribution spec writes them:
 * `[registry[:port]/]path[:tag][@algorithm:hex]`. The first path component is a
 * registry when it holds a dot or a colon or is `localhost`; otherwise the image is
 * on Docker Hub.
 */
export interface ImageRef {
  /** Registry host (and port) as written; `docker.io` when none was written. */
  registry: string;
  /** Repository path inside the registry (`library/alpine` for a bare `alpine`). */
  repository: string;
  tag?: string;
  digest?: string;
  /** The repository as the user wrote it, without tag or digest. */
  name: string;
}

/** What kind of registry a host is; decides how we log in and what we can ask it. */
export type RegistryKind =
  | { kind: 'ecr'; accountId: string; region: string }
  | { kind: 'artifact-registry'; location: string }
  | { kind: 'gcr' }
  | { kind: 'ghcr' }
  | { kind: 'docker-hub' }
  | { kind: 'other' };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
const ECR = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const ECR_DUALSTACK = /^(\d{12})\.dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws$/;
const ARTIFACT_REGISTRY = /^([a-z0-9-]+)-docker\.pkg\.dev$/;

export const DOCKER_HUB = 'docker.io';

/** True for a valid tag (what `docker tag` accepts). */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/** Parses any reference; `what` names the input in errors. */
export function parseReference(text: string, what: string): ImageRef {
  const value = text.trim();
  const bad = (
    why: string,
    hint = 'Write it as registry/path[:tag][@sha256:...], for example ghcr.io/acme/web or 111111111111.dkr.ecr.us-east-1.amazonaws.com/web.',
  ) => new UserError(`${what} '${value}' is not a valid image reference: ${why}.`, hint);
  if (value === '') throw bad('it is empty');
  if (/\s/.test(value)) throw bad('it contains white space');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw bad('drop the URL scheme; image references have none');

  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`'${digest}' is not a sha256 digest (sha256: and 64 lowercase hex digits)`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw bad(`'${tag}' is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] as string;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) throw bad(`'${registry}' is not a registry host`);
  }
  if (parts.length === 0 || parts.some((p) => p === ''))
    throw bad('the repository path is empty or has an empty component');
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      throw bad(
        `path component '${p}' is not allowed`,
        'Repository paths are lowercase letters and digits, separated by single . _ or - (or __), with / between components.',
      );
    }
  }
  let repository = parts.join('/');
  if (registry === DOCKER_HUB && parts.length === 1) repository = `library/${repository}`;
  const name = rest;
  return { registry, repository, name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** A repository to build into: no tag and no digest (tags come from the `tags` input). */
export function parseRepository(text: string, what: string): ImageRef {
  const ref = parseReference(text, what);
  if (ref.tag || ref.digest) {
    throw new UserError(
      `${what} '${text.trim()}' names a ${ref.digest ? 'digest' : 'tag'}; give the repository only.`,
      `Use '${ref.name}' and list tags in the 'tags' input.`,
    );
  }
  return ref;
}

const notPinnedByDigest = (what: string, text: string): UserError =>
  new UserError(
    `${what} '${text.trim()}' is not pinned by digest; a tag can move between the build and the scan, so the scan would judge another image.`,
    "Pass the image as repository@sha256:..., for example image-build's `image` output (`${{ steps.build.outputs.image }}`).",
  );

/** An image pinned by digest, as every step after image-build must use it. */
export function parseDigestReference(text: string, what: string): ImageRef & { digest: string } {
  const ref = parseReference(text, what);
  if (!ref.digest) {
    throw notPinnedByDigest(what, text);
  }
  return ref as ImageRef & { digest: string };
}

/** `name@digest`, the form deploys use. */
export function byDigest(ref: ImageRef, digest: string): string {
  return `${ref.name}@${digest}`;
}

export function withTag(ref: ImageRef, tag: string): string {
  return `${ref.name}:${tag}`;
}

export function registryKind(registry: string): RegistryKind {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  const ecr = ECR.exec(host) ?? ECR_DUALSTACK.exec(host);
  if (ecr) return { kind: 'ecr', accountId: ecr[1] as string, region: ecr[2] as string };
  const ar = ARTIFACT_REGISTRY.exec(host);
  if (ar) return { kind: 'artifact-registry', location: ar[1] as string };
  if (host === 'gcr.io' || host.endsWith('.gcr.io')) return { kind: 'gcr' };
  if (host === 'ghcr.io') return { kind: 'ghcr' };
  if (host === DOCKER_HUB || host === 'index.docker.io' || host === 'registry-1.docker.io')
    return { kind: 'docker-hub' };
  return { kind: 'other' };
}

/**
 * Registries on the loopback interface speak plain HTTP, as Docker treats 127.0.0.0/8
 * as insecure by default (a `registry` service container on localhost:5000, for example).
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The host that answers the registry API for a registry name. */
export function apiHost(registry: string): string {
  return registryKind(registry).kind === 'docker-hub' ? 'registry-1.docker.io' : registry;
}
