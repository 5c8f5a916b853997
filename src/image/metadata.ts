import type { RunContext } from '../github/context.js';
import { UserError } from '../util/errors.js';
import { isValidTag } from './reference.js';

/**
 * Tags and OCI labels derived from the run: what docker/metadata-action does, as a
 * small template language. A tag template refers to facts of the run in `{{...}}`;
 * a template whose fact does not exist in this run (`{{semver}}` on a branch push)
 * yields no tag.
 */

export const DEFAULT_TAGS = ['sha-{{sha}}', '{{branch}}', '{{semver}}'];

export const TAG_VARIABLES = [
  'sha',
  'long-sha',
  'branch',
  'tag',
  'version',
  'semver',
  'major',
  'minor',
  'pr',
  'run-number',
] as const;
type Variable = (typeof TAG_VARIABLES)[number];

export interface Semver {
  major: number;
  minor: number;
  patch: number;
  prerelease?: string;
  /** X.Y.Z[-pre], without the leading v and without build metadata. */
  version: string;
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const prerelease = m[4];
  return {
    major,
    minor,
    patch,
    ...(prerelease ? { prerelease } : {}),
    version: `${major}.${minor}.${patch}${prerelease ? `-${prerelease}` : ''}`,
  };
}

/** Makes any text a valid tag: invalid characters become '-', at most 128 characters. */
export function sanitizeTag(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
}

/** The facts of the run a template may use; multi-valued for semver. */
export function tagFacts(ctx: RunContext, runNumber = ''): Partial<Record<Variable, string[]>> {
  const facts: Partial<Record<Variable, string[]>> = {};
  if (ctx.sha) {
    facts.sha = [ctx.sha.slice(0, 7)];
    facts['long-sha'] = [ctx.sha];
  }
  if (runNumber) facts['run-number'] = [runNumber];
  const branch = /^refs\/heads\/(.+)$/.exec(ctx.ref)?.[1];
  if (branch) facts.branch = [sanitizeTag(branch)];
  const pr = /^refs\/pull\/(\d+)\//.exec(ctx.ref)?.[1];
  if (pr) facts.pr = [pr];
  const tag = /^refs\/tags\/(.+)$/.exec(ctx.ref)?.[1];
  if (tag) {
    facts.tag = [sanitizeTag(tag)];
    const v = parseSemver(tag);
    if (v) {
      facts.version = [v.version];
      if (v.prerelease) {
        facts.semver = [v.version];
      } else {
        facts.semver = [v.version, `${v.major}.${v.minor}`, `${v.major}`];
        facts.major = [`${v.major}`];
        facts.minor = [`${v.major}.${v.minor}`];
      }
    }
  }
  return facts;
}

const PLACEHOLDER = /\{\{\s*([a-z-]+)\s*\}\}/g;
const HAS_PLACEHOLDER = /\{\{\s*[a-z-]+\s*\}\}/;

/** Checks a template's syntax and variables (independent of the run). */
export function checkTagTemplate(template: string, what = 'tags'): void {
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(TAG_VARIABLES as readonly string[]).includes(m[1] as string)) {
      throw new UserError(
        `${what}: '${template}' uses {{${m[1]}}}, which is not a known variable.`,
        `Known variables: ${TAG_VARIABLES.map((v) => `{{${v}}}`).join(', ')}.`,
      );
    }
  }
  const literal = template.replace(PLACEHOLDER, 'x');
  if (/[{}]/.test(literal)) throw new UserError(`${what}: '${template}' has an unbalanced {{ or }}.`);
  if (!HAS_PLACEHOLDER.test(template) && !isValidTag(template)) {
    throw new UserError(
      `${what}: '${template}' is not a valid tag.`,
      'Tags are letters, digits, _ . and -, at most 128 characters, not starting with . or -.',
    );
  }
}

/** Expands templates into tags for this run, deduplicated, in order. */
export function expandTags(templates: string[], facts: Partial<Record<Variable, string[]>>): string[] {
  const out: string[] = [];
  for (const template of templates) {
    checkTagTemplate(template);
    let variants = [template];
    let missing = false;
    for (const m of template.matchAll(PLACEHOLDER)) {
      const values = facts[m[1] as Variable];
      if (!values || values.length === 0) {
        missing = true;
        break;
      }
      variants = variants.flatMap((v) => values.map((value) => v.replace(m[0], value)));
    }
    if (missing) continue;
    for (const v of variants) {
      const tag = sanitizeTag(v);
      if (tag !== '' && !out.includes(tag)) out.push(tag);
    }
  }
  return out;
}

/** OCI labels (https://github.com/opencontainers/image-spec/blob/main/annotations.md) for the run. */
export function defaultLabels(ctx: RunContext, createdAt: Date, tags: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  if (ctx.repository) {
    const url = `${ctx.serverUrl}/${ctx.repository}`;
    labels['org.opencontainers.image.source'] = url;
    labels['org.opencontainers.image.url'] = url;
    labels['org.opencontainers.image.title'] = ctx.repository.split('/').pop() as string;
  }
  if (ctx.sha) labels['org.opencontainers.image.revision'] = ctx.sha;
  labels['org.opencontainers.image.created'] = createdAt.toISOString();
  const tag = /^refs\/tags\/(.+)$/.exec(ctx.ref)?.[1];
  const version = (tag && parseSemver(tag)?.version) ?? tags[0];
  if (version) labels['org.opencontainers.image.version'] = version;
  return labels;
}

/**
 * Parses `key=value` lines. An empty value (`key=`) removes a default label of that
 * key, for reproducible builds that drop `created`, for example.
 */
export function parseKeyValues(lines: string[], what: string, keyPattern: RegExp): Array<[string, string]> {
  return lines.map((line) => {
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!key || !keyPattern.test(key)) {
      throw new UserError(
        `${what}: '${line}' is not key=value.`,
        `Write one ${what === 'labels' ? 'label' : 'argument'} per line as KEY=value.`,
      );
    }
    return [key, line.slice(eq + 1)];
  });
}

export function mergeLabels(defaults: Record<string, string>, given: Array<[string, string]>): Record<string, string> {
  const labels = { ...defaults };
  for (const [key, value] of given) {
    if (value === '') delete labels[key];
    else labels[key] = value;
  }
  return labels;
}
