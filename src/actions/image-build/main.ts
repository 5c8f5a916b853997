import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info, notice, saveState } from '@actions/core';
import { runContext } from '../../github/context.js';
import { code, details, facts, heading, table } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { chooseBuilder, type Builder, type BuildResult } from '../../image/builder.js';
import type { RegistryCredentials } from '../../image/credentials.js';
import { defaultLabels, mergeLabels } from '../../image/metadata.js';
import { byDigest, registryKind, withTag } from '../../image/reference.js';
import { formatBytes } from '../../image/size.js';
import { UserError } from '../../util/errors.js';
import { LOGINS_STATE, type Login } from './post.js';
import type { Settings } from './settings.js';

const strayTag = (
  s: Settings,
  stray: { digest: string; mediaType: string; size: number; tag: string },
  digest: string,
): UserError =>
  new UserError(
    `After the push, ${withTag(s.image, stray.tag)} points at ${stray.digest} but ${withTag(s.image, s.tags[0] as string)} at ${digest}: another push changed a tag meanwhile.`,
    'Avoid pushing the same tags from concurrent jobs (use a concurrency group), then re-run.',
  );

const pushedDigestDiffers = (builder: Builder, result: BuildResult, digest: string, refs: string[]): UserError =>
  new UserError(
    `${builder.kind} reported pushing ${result.pushedDigest}, but the registry serves ${digest} for ${refs[0]}: another push changed the tag meanwhile.`,
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const run = runContext();
  const createdAt = new Date();
  const labels = mergeLabels(defaultLabels(run, createdAt, s.tags), s.labels);
  for (const n of s.notices) notice(n);
  const builder = await chooseBuilder(s.builder);
  info(`Building ${s.image.name} with ${builder.kind} ${builder.version}; tags: ${s.tags.join(', ')}.`);

  let credentials: RegistryCredentials | undefined;
  const kind = registryKind(s.image.registry);
  if (s.push && kind.kind === 'ecr') {
    const { ecrClient, ecrLogin } = await import('../../aws/ecr.js');
    const client = ecrClient(kind.region);
    try {
      info(`Requesting an ECR login for ${s.image.registry} (account ${kind.accountId}, ${kind.region}).`);
      const login = await ecrLogin(client, s.image.registry, kind.accountId);
      await builder.login(s.image.registry, login.username, login.password);
      const logins: Login[] = [{ builder: builder.kind, registry: s.image.registry }];
      saveState(LOGINS_STATE, JSON.stringify(logins));
      credentials = { username: login.username, password: login.password, source: 'ECR GetAuthorizationToken' };
    } finally {
      client.destroy();
    }
  }

  const workDir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'image-build-'));
  try {
    const result = await builder.build(
      {
        context: s.context,
        ...(s.file ? { file: s.file } : {}),
        image: s.image,
        tags: s.tags,
        labels,
        buildArgs: s.buildArgs,
        platforms: s.platforms,
        push: s.push,
        cache: s.cache,
        workDir,
      },
      ctx.signal,
    );
    const refs = s.tags.map((t) => withTag(s.image, t));

    if (!s.push) {
      if (!result.imageId) throw new UserError(`${builder.kind} built the image but reported no image id.`);
      outputs.set('image', refs[0] as string);
      outputs.set('digest', result.imageId);
      outputs.set('tags', refs.join('\n'));
      outputs.set('metadata', {
        image: refs[0],
        digest: result.imageId,
        pushed: false,
        tags: refs,
        labels,
        builder: { kind: builder.kind, version: builder.version },
        createdAt: createdAt.toISOString(),
      });
      info(`Built ${refs.join(', ')} (image id ${result.imageId}); not pushed.`);
      await writeSummary(
        heading('Image built (not pushed)') +
          facts([
            ['Image', code(refs[0] as string)],
            ['Image id', code(result.imageId)],
            ['Builder', `${builder.kind} ${builder.version}`],
          ]),
      );
      return;
    }

    // The registry is the source of truth: every tag must resolve to one digest.
    const { RegistryClient } = await import('../../image/registry.js');
    const registry = new RegistryClient(s.image.registry, credentials ? { credentials, basicAuth: true } : {});
    try {
      const resolved = [];
      for (const tag of s.tags) resolved.push({ tag, ...(await registry.resolve(s.image.repository, tag)) });
      const digest = (resolved[0] as { digest: string }).digest;
      const stray = resolved.find((r) => r.digest !== digest);
      if (stray) {
        throw strayTag(s, stray, digest);
      }
      if (result.pushedDigest && result.pushedDigest !== digest) {
        throw pushedDigestDiffers(builder, result, digest, refs);
      }
      const image = await registry.inspect(s.image.repository, digest);
      const pinned = byDigest(s.image, digest);
      const metadata = {
        image: pinned,
        digest,
        repository: s.image.name,
        registry: s.image.registry,
        mediaType: image.mediaType,
        tags: refs,
        labels: image.platforms[0]?.labels ?? labels,
        platforms: image.platforms.map((p) => ({ platform: p.platform, digest: p.digest, size: p.size })),
        size: image.size,
        pushed: true,
        builder: { kind: builder.kind, version: builder.version },
        createdAt: createdAt.toISOString(),
      };
      outputs.set('image', pinned);
      outputs.set('digest', digest);
      outputs.set('tags', refs.join('\n'));
      outputs.set('metadata', metadata);
      info(`Pushed ${pinned} (${formatBytes(image.size)}) as ${s.tags.join(', ')}.`);

      await writeSummary(
        heading('Image pushed') +
          facts([
            ['Image', code(pinned)],
            ['Digest', code(digest)],
            ['Tags', refs.map((r) => code(r)).join('<br>')],
            [
              'Size',
              `${formatBytes(image.size)} compressed${image.platforms.length > 1 ? `, ${image.platforms.length} platforms` : ''}`,
            ],
            ['Builder', `${builder.kind} ${builder.version}`],
          ]) +
          (image.platforms.length > 1
            ? '\n' +
              table(
                ['Platform', 'Digest', 'Size'],
                image.platforms.map((p) => [p.platform, code(p.digest), formatBytes(p.size)]),
              )
            : '') +
          '\n' +
          details(
            'Labels',
            table(
              ['Label', 'Value'],
              Object.entries(metadata.labels).map(([k, v]) => [code(k), code(v)]),
            ),
          ) +
          `\nDeploy it by digest: ${code(pinned)}\n`,
      );
    } finally {
      registry.close();
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
