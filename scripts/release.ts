/**
 * Releases the toolkit: `npm run release -- X.Y.Z [--repository OWNER/NAME] [--dry-run]
 * [--skip-checks] [--remote origin] [--notes-file FILE]`.
 *
 * The pinned SHA must name a commit that already holds the actions, so a release is two
 * commits, made on a detached HEAD (the branch keeps its `@v1` placeholders, and the next
 * release starts from them again):
 *
 *   1. dist/ as `npm run bundle` builds it from the checked sources (skipped when the
 *      committed dist/ is already that). Its SHA is the "actions commit".
 *   2. every internal `org/platform-actions/...@vN` reference in workflows, starters, docs
 *      and examples rewritten to `<repository>/...@<actions commit>`; every path referenced
 *      is checked to exist in the actions commit first.
 *
 * Commit 2 is tagged vX.Y.Z (annotated, with the release notes), pushed, and only once that
 * push succeeded is vX moved to it (and only when X.Y.Z is the newest of major X). A
 * consumer pinning any reusable workflow at the tag's commit runs actions at commit 1,
 * whose code is identical to the tag's.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareSemver, git, gitOk, parseSemver, sh, type Semver } from './lib/git.js';
import { releaseNotes, type Commit } from './lib/release-notes.js';
import {
  checkRepository,
  findReferences,
  isReferenceFile,
  rewriteReferences,
  SOURCE_REPOSITORY,
} from './lib/release-refs.js';

interface Options {
  version: string;
  repository: string;
  dryRun: boolean;
  skipChecks: boolean;
  remote: string;
  notesFile: string;
}

const USAGE =
  'Usage: npm run release -- X.Y.Z [--repository OWNER/NAME] [--dry-run] [--skip-checks] [--remote NAME] [--notes-file FILE]';

function parseArgs(argv: string[]): Options {
  let version: string | undefined;
  const o = {
    repository: process.env.GITHUB_REPOSITORY || SOURCE_REPOSITORY,
    dryRun: false,
    skipChecks: false,
    remote: 'origin',
    notesFile: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a value. ${USAGE}`);
      return v;
    };
    if (a === '--repository') o.repository = checkRepository(value());
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--skip-checks') o.skipChecks = true;
    else if (a === '--remote') o.remote = value();
    else if (a === '--notes-file') o.notesFile = value();
    else if (!a.startsWith('-') && !version) version = a.replace(/^v/, '');
    else throw new Error(`Unknown argument '${a}'. ${USAGE}`);
  }
  if (!version || !parseSemver(version))
    throw new Error(`Give the version as X.Y.Z (got '${version ?? ''}'). ${USAGE}`);
  return { version, ...o, notesFile: o.notesFile || join(tmpdir(), `platform-actions-v${version}-notes.md`) };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

function releaseTags(root: string): Array<{ tag: string; v: Semver }> {
  return git(root, 'tag', '--list', 'v*.*.*')
    .split('\n')
    .filter(Boolean)
    .flatMap((tag) => {
      const v = parseSemver(tag);
      return v ? [{ tag, v }] : [];
    })
    .sort((a, b) => compareSemver(a.v, b.v));
}

function commitsSince(root: string, from: string | undefined, to: string): Commit[] {
  const out = git(root, 'log', '--no-merges', '--format=%H%x1f%s%x1f%b%x1e', from ? `${from}..${to}` : to);
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [sha, subject, body] = r.split('\x1f');
      return { sha: sha as string, subject: subject ?? '', body: body ?? '' };
    });
}

/** Every referenced action or workflow must exist in the commit the references will name. */
function checkReferencedPaths(root: string, sha: string, paths: Set<string>): void {
  const missing = [...paths].filter((p) => {
    if (p.startsWith('actions/')) {
      const meta = ['action.yml', 'action.yaml']
        .map((f) => `${p}/${f}`)
        .find((f) => gitOk(root, 'cat-file', '-e', `${sha}:${f}`));
      if (!meta) return true;
      const main = /^\s+main:\s*['"]?([^'"\s]+)/m.exec(git(root, 'show', `${sha}:${meta}`))?.[1];
      return main ? !gitOk(root, 'cat-file', '-e', `${sha}:${join(p, main)}`) : false;
    }
    return !gitOk(root, 'cat-file', '-e', `${sha}:${p}`);
  });
  if (missing.length)
    throw new Error(
      `The actions commit ${sha} lacks what the references name: ${missing.join(', ')}. Nothing was tagged.`,
    );
}

export function release(root: string, o: Options): void {
  const version = parseSemver(o.version) as Semver;
  const tag = `v${o.version}`;
  const major = `v${version[0]}`;
  if (git(root, 'status', '--porcelain', '--untracked-files=no'))
    throw new Error(
      'The working tree has uncommitted changes; a release is made from a commit. Commit or stash them first.',
    );
  const hasRemote = git(root, 'remote').split('\n').includes(o.remote);
  if (hasRemote) git(root, 'fetch', '--quiet', '--force', '--tags', o.remote);
  if (gitOk(root, 'rev-parse', '-q', '--verify', `refs/tags/${tag}`))
    throw new Error(`${tag} exists already: release tags are immutable. Release a new version.`);
  const tags = releaseTags(root);
  const sameMajor = tags.filter((t) => t.v[0] === version[0]);
  const newestOfMajor = sameMajor[sameMajor.length - 1];
  if (newestOfMajor && compareSemver(version, newestOfMajor.v) <= 0)
    throw new Error(
      `${tag} is not newer than ${newestOfMajor.tag}, the newest release of ${major}. Release a newer version.`,
    );
  const previous = [...tags].reverse().find((t) => compareSemver(t.v, version) < 0)?.tag;
  const base = git(root, 'rev-parse', 'HEAD');
  const branch = git(root, 'rev-parse', '--abbrev-ref', 'HEAD');
  log(
    `Releasing ${tag} of ${o.repository} from ${base.slice(0, 12)} (${branch})${previous ? `, previous release ${previous}` : ''}${o.dryRun ? ' [dry run]' : ''}.`,
  );

  if (o.skipChecks) log('Checks skipped (--skip-checks).');
  else {
    log('Checking: npm test');
    sh('npm', ['test'], root, { inherit: true });
  }

  const files = git(root, 'ls-files')
    .split('\n')
    .filter((f) => f && isReferenceFile(f) && existsSync(join(root, f)));
  const referenced = new Set<string>();
  let count = 0;
  for (const f of files) {
    for (const r of findReferences(readFileSync(join(root, f), 'utf8'))) {
      referenced.add(r.path);
      count++;
    }
  }
  const commits = commitsSince(root, previous, base);

  if (o.dryRun) {
    const notes = releaseNotes(o.version, previous, commits, {
      repository: o.repository,
      sha: '<actions commit>',
      count,
    });
    writeFileSync(o.notesFile, notes);
    log(
      `Would build dist/, commit it, rewrite ${count} references in ${files.filter((f) => findReferences(readFileSync(join(root, f), 'utf8')).length).length} files to ${o.repository}/...@<actions commit>, tag ${tag} and move ${major}. Nothing was changed.`,
    );
    log(`notes: ${o.notesFile}`);
    return;
  }

  log('Building dist/: npm run bundle');
  sh('npm', ['run', 'bundle'], root, { inherit: true });
  git(root, 'checkout', '--quiet', '--detach');
  try {
    git(root, 'add', '--all', '--', 'dist');
    if (!gitOk(root, 'diff', '--cached', '--quiet'))
      git(root, 'commit', '--quiet', '--no-verify', '-m', `Release ${tag}: dist/ built from ${base.slice(0, 12)}`);
    const actions = git(root, 'rev-parse', 'HEAD');
    checkReferencedPaths(root, actions, referenced);

    let rewritten = 0;
    for (const f of files) {
      const before = readFileSync(join(root, f), 'utf8');
      const r = rewriteReferences(before, { repository: o.repository, sha: actions });
      if (r.count) writeFileSync(join(root, f), r.text);
      rewritten += r.count;
    }
    git(root, 'add', '--all', '--', ...files);
    git(
      root,
      'commit',
      '--quiet',
      '--no-verify',
      '--allow-empty',
      '-m',
      `Release ${tag}: the toolkit's references pinned to ${actions}`,
      '-m',
      `${rewritten} references to ${SOURCE_REPOSITORY}/...@${major} now name ${o.repository}/...@${actions}, the commit that holds these actions and their dist/.`,
    );
    const released = git(root, 'rev-parse', 'HEAD');

    const notes = releaseNotes(o.version, previous, commits, {
      repository: o.repository,
      sha: actions,
      count: rewritten,
    });
    writeFileSync(o.notesFile, notes);
    git(root, 'tag', '--annotate', '--cleanup=verbatim', '--file', o.notesFile, tag, released);
    if (hasRemote) {
      try {
        git(root, 'push', '--quiet', o.remote, `refs/tags/${tag}`);
      } catch (err) {
        // Not published: forget the local tag too, so the same release can be run again.
        git(root, 'tag', '--delete', tag);
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}\n${tag} was not published and ${major} did not move; fix the push (a tag ruleset must let this identity create ${tag}) and release again.`,
          { cause: err },
        );
      }
      log(`Pushed ${tag} (${released}) to ${o.remote}.`);
    }
    // The moving tag follows only a release that is published, and never goes backwards.
    git(root, 'tag', '--force', major, `${tag}^{commit}`);
    if (hasRemote) git(root, 'push', '--quiet', '--force', o.remote, `refs/tags/${major}`);
    log(
      `Released ${tag}: tag commit ${released}, actions commit ${actions}, ${rewritten} references pinned; ${major} moved.`,
    );
    log(`notes: ${o.notesFile}`);
  } finally {
    git(root, 'checkout', '--quiet', '--force', branch === 'HEAD' ? base : branch);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    release(git(process.cwd(), 'rev-parse', '--show-toplevel'), parseArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
