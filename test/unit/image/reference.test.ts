import { describe, expect, it } from '@jest/globals';
import {
  expandTags,
  defaultLabels,
  mergeLabels,
  parseKeyValues,
  tagFacts,
  checkTagTemplate,
  DEFAULT_TAGS,
} from '../../../src/image/metadata.js';
import {
  isLoopbackRegistry,
  parseDigestReference,
  parseReference,
  parseRepository,
  registryKind,
} from '../../../src/image/reference.js';
import { runContext } from '../../../src/github/context.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it('parses registries, paths, tags and digests the way the distribution spec does', () => {
    expect(parseReference('alpine', 'x')).toEqual({
      registry: 'docker.io',
      repository: 'library/alpine',
      name: 'alpine',
    });
    expect(parseReference('acme/web:1.2', 'x')).toMatchObject({
      registry: 'docker.io',
      repository: 'acme/web',
      tag: '1.2',
    });
    expect(parseReference('localhost:5000/web@' + D, 'x')).toMatchObject({
      registry: 'localhost:5000',
      repository: 'web',
      digest: D,
      name: 'localhost:5000/web',
    });
    expect(parseReference(`ghcr.io/acme/web:v1@${D}`, 'x')).toMatchObject({
      registry: 'ghcr.io',
      repository: 'acme/web',
      tag: 'v1',
      digest: D,
    });
    expect(parseReference('europe-docker.pkg.dev/proj/repo/web', 'x')).toMatchObject({
      registry: 'europe-docker.pkg.dev',
      repository: 'proj/repo/web',
    });
  });

  it('classifies ECR (including China, FIPS and dual-stack), Artifact Registry, ghcr and Docker Hub', () => {
    expect(registryKind('111111111111.dkr.ecr.us-east-1.amazonaws.com')).toEqual({
      kind: 'ecr',
      accountId: '111111111111',
      region: 'us-east-1',
    });
    expect(registryKind('111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn')).toMatchObject({
      kind: 'ecr',
      region: 'cn-north-1',
    });
    expect(registryKind('111111111111.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toMatchObject({
      kind: 'ecr',
      region: 'us-gov-west-1',
    });
    expect(registryKind('111111111111.dkr-ecr.eu-west-1.on.aws')).toMatchObject({ kind: 'ecr', region: 'eu-west-1' });
    expect(registryKind('us-central1-docker.pkg.dev')).toEqual({ kind: 'artifact-registry', location: 'us-central1' });
    expect(registryKind('ghcr.io').kind).toBe('ghcr');
    expect(registryKind('docker.io').kind).toBe('docker-hub');
    expect(registryKind('registry.example.com:5000').kind).toBe('other');
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('ghcr.io')).toBe(false);
  });

  it('explains bad references', () => {
    expect(() => parseReference('https://ghcr.io/acme/web', 'image')).toThrow('drop the URL scheme');
    expect(() => parseReference('ghcr.io/Acme/web', 'image')).toThrow("path component 'Acme'");
    expect(() => parseReference('web@sha256:abc', 'image')).toThrow('is not a sha256 digest');
    expect(() => parseReference('web:-bad', 'image')).toThrow('is not a valid tag');
    expect(() => parseRepository('ghcr.io/acme/web:latest', 'image')).toThrow('names a tag; give the repository only');
    expect(() => parseDigestReference('ghcr.io/acme/web:latest', 'image')).toThrow('is not pinned by digest');
    expect(parseDigestReference(`ghcr.io/acme/web@${D}`, 'image').digest).toBe(D);
  });
});

describe('tags and labels from the run', () => {
  const ctx = (ref: string) =>
    runContext({
      GITHUB_REF: ref,
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SERVER_URL: 'https://github.com',
    });

  it('makes sha and branch tags on a branch push, and leaves semver out', () => {
    expect(expandTags(DEFAULT_TAGS, tagFacts(ctx('refs/heads/feature/login')))).toEqual([
      'sha-a1b2c3d',
      'feature-login',
    ]);
  });

  it('makes X.Y.Z, X.Y and X from a release tag, only X.Y.Z-pre from a pre-release', () => {
    expect(expandTags(DEFAULT_TAGS, tagFacts(ctx('refs/tags/v1.4.2')))).toEqual(['sha-a1b2c3d', '1.4.2', '1.4', '1']);
    expect(expandTags(DEFAULT_TAGS, tagFacts(ctx('refs/tags/v2.0.0-rc.1')))).toEqual(['sha-a1b2c3d', '2.0.0-rc.1']);
    expect(expandTags(['{{tag}}'], tagFacts(ctx('refs/tags/release/2026-11')))).toEqual(['release-2026-11']);
  });

  it('knows pull requests and run numbers, and checks templates', () => {
    expect(
      expandTags(['pr-{{pr}}', 'build-{{run-number}}', '{{long-sha}}'], tagFacts(ctx('refs/pull/42/merge'), '7')),
    ).toEqual(['pr-42', 'build-7', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678']);
    expect(() => checkTagTemplate('{{commit}}')).toThrow('{{commit}}, which is not a known variable');
    expect(() => checkTagTemplate('-bad')).toThrow('is not a valid tag');
    expect(() => checkTagTemplate('v{{sha}')).toThrow('unbalanced');
  });

  it('fills OCI labels from the repository and commit; KEY= removes one, KEY=value overrides', () => {
    const labels = defaultLabels(ctx('refs/tags/v1.4.2'), new Date('2026-11-20T10:00:00Z'), ['sha-a1b2c3d']);
    expect(labels).toEqual({
      'org.opencontainers.image.source': 'https://github.com/acme/web',
      'org.opencontainers.image.url': 'https://github.com/acme/web',
      'org.opencontainers.image.title': 'web',
      'org.opencontainers.image.revision': 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      'org.opencontainers.image.created': '2026-11-20T10:00:00.000Z',
      'org.opencontainers.image.version': '1.4.2',
    });
    const merged = mergeLabels(
      labels,
      parseKeyValues(['org.opencontainers.image.created=', 'team=payments, web'], 'labels', /^[\w.-]+$/),
    );
    expect(merged).not.toHaveProperty('org.opencontainers.image.created');
    expect(merged.team).toBe('payments, web');
    expect(() => parseKeyValues(['no equals sign'], 'labels', /^[\w.-]+$/)).toThrow(
      "'no equals sign' is not key=value",
    );
  });
});
