import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runContext, type RunContext } from '../../github/context.js';
import { runTrust } from '../../github/event.js';
import { inputs } from '../../github/inputs.js';
import type { BuilderKind, CacheSpec } from '../../image/builder.js';
import { checkTagTemplate, DEFAULT_TAGS, expandTags, parseKeyValues, tagFacts } from '../../image/metadata.js';
import { parseRepository, type ImageRef } from '../../image/reference.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  image: ImageRef;
  context: string;
  file: string | undefined;
  tags: string[];
  /** The templates the tags came from, for messages. */
  tagTemplates: string[];
  labels: Array<[string, string]>;
  buildArgs: Array<[string, string]>;
  platforms: string[];
  push: boolean;
  builder: 'auto' | BuilderKind;
  cache: CacheSpec;
  /** Why this run pushes elsewhere or not at all, or writes no cache: said in the log. */
  notices: string[];
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

function parseCache(text: string, image: ImageRef, write: boolean): CacheSpec {
  const value = text.trim();
  if (value === 'none') return { kind: 'none' };
  if (value === 'gha') return { kind: 'gha' };
  if (value === 'registry') return { kind: 'registry', repository: image.name, write };
  if (value.startsWith('registry:'))
    return { kind: 'registry', repository: parseRepository(value.slice('registry:'.length), 'cache').name, write };
  throw new UserError(`cache '${value}' is not one of none, gha, registry or registry:REPOSITORY.`);
}

const quarantineIsImage = (quarantine: ImageRef): UserError =>
  new UserError(
    `pull-request-image '${quarantine.name}' is the same repository as image.`,
    "Give pull requests a quarantine repository of their own, which only the pull request's role can write and nothing deploys from, or leave pull-request-image empty to build pull requests without pushing.",
  );

const contextNotADirectory = (context: string): UserError =>
  new UserError(
    `context '${context}' is not a directory.`,
    'Check out the repository first (actions/checkout) and give the build context relative to the workspace.',
  );

const noTagApplies = (templates: string[], ctx: RunContext): UserError =>
  new UserError(
    `No tag applies to this run: tags '${templates.join(', ')}' all need facts that ${ctx.ref || 'this run'} does not have.`,
    'Add a tag that always applies, such as sha-{{sha}}.',
  );

export function readSettings(): Settings {
  const production = parseRepository(inputs.required('image'), 'image');
  const pullRequestImage = inputs.string('pull-request-image', '');
  const quarantine = pullRequestImage === '' ? undefined : parseRepository(pullRequestImage, 'pull-request-image');
  if (quarantine && quarantine.name === production.name) {
    throw quarantineIsImage(quarantine);
  }
  const trust = runTrust();
  const notices: string[] = [];
  let push = inputs.boolean('push', true);
  let image = production;
  if (trust.pullRequest && push) {
    if (quarantine) {
      image = quarantine;
      notices.push(
        `This is a pull request's run: pushing to the quarantine repository ${quarantine.name}, not to ${production.name}.`,
      );
    } else {
      push = false;
      notices.push(
        `This is a pull request's run: building without pushing, since a pull request never writes ${production.name}. Set pull-request-image to a quarantine repository to push and scan pull request images.`,
      );
    }
  }
  const context = inputs.string('context', '.');
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw contextNotADirectory(context);
  }
  let file = inputs.string('file', '');
  if (file !== '') {
    if (!existsSync(file))
      throw new UserError(
        `file '${file}' does not exist.`,
        'Give the Dockerfile path relative to the working directory (the workspace), not to the context.',
      );
  } else {
    file = ['Dockerfile', 'Containerfile'].map((f) => join(context, f)).find((f) => existsSync(f)) ?? '';
    if (file === '')
      throw new UserError(
        `There is no Dockerfile or Containerfile in context '${context}'.`,
        "Set 'file' to the Dockerfile's path.",
      );
  }

  const tagTemplates = inputs.list('tags');
  const templates = tagTemplates.length > 0 ? tagTemplates : DEFAULT_TAGS;
  for (const t of templates) checkTagTemplate(t);
  const ctx = runContext();
  const tags = expandTags(templates, tagFacts(ctx, process.env.GITHUB_RUN_NUMBER ?? ''));
  if (tags.length === 0) {
    throw noTagApplies(templates, ctx);
  }

  const platforms = inputs.list('platforms');
  for (const p of platforms) {
    if (!PLATFORM.test(p))
      throw new UserError(
        `platforms: '${p}' is not a platform.`,
        'Write platforms as os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7.',
      );
  }

  const builder = inputs.choice('builder', ['auto', 'docker', 'buildah'], 'auto');
  const cache = parseCache(inputs.string('cache', 'none'), production, trust.defaultBranch);
  if (cache.kind === 'registry' && !cache.write && push) {
    notices.push(
      trust.defaultBranchName === ''
        ? `Importing the build cache from ${cache.repository} without writing it: the event does not name the default branch, and only the default branch writes the cache.`
        : `Importing the build cache from ${cache.repository} without writing it: only the default branch (${trust.defaultBranchName}) writes the cache.`,
    );
  }
  if (cache.kind === 'gha' && builder === 'buildah') {
    throw new UserError('cache: gha needs docker buildx, but builder is buildah.', 'Use cache: registry with buildah.');
  }

  return {
    image,
    context,
    file,
    tags,
    tagTemplates: templates,
    labels: parseKeyValues(inputs.lines('labels'), 'labels', LABEL),
    buildArgs: parseKeyValues(inputs.lines('build-args'), 'build-args', BUILD_ARG),
    platforms,
    push,
    builder,
    cache,
    notices,
  };
}
