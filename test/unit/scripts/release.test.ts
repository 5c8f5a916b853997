/**
 * `npm run release` end to end on a local bare repository: a small toolkit with one
 * action, a reusable workflow, a starter and a doc referencing it by `@v1`, released with
 * the real script, then read back from the bare repository as a consumer would fetch it.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../../support/runner.js';

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Rel',
  GIT_AUTHOR_EMAIL: 'rel@example.com',
  GIT_COMMITTER_NAME: 'Rel',
  GIT_COMMITTER_EMAIL: 'rel@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GITHUB_REPOSITORY: '',
};
let dir: string;
let origin: string;
let clone: string;

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: ENV });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function release(...args: string[]) {
  return spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/release.ts'), ...args], {
    cwd: clone,
    encoding: 'utf8',
    env: ENV,
    timeout: 120_000,
  });
}

/** The file at a ref of the bare repository. */
const show = (ref: string, path: string) => git(origin, 'show', `${ref}:${path}`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pa-release-'));
  origin = join(dir, 'origin.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  const work = join(dir, 'work');
  git(dir, 'init', '--quiet', '--initial-branch=main', work);
  write(
    work,
    'package.json',
    JSON.stringify({
      name: 'toolkit',
      private: true,
      type: 'module',
      scripts: { bundle: 'node build.mjs', test: 'exit 1' },
    }),
  );
  // The "bundle": dist/hello/index.js from src/hello.js, as ncc would.
  write(
    work,
    'build.mjs',
    "import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';\nmkdirSync('dist/hello', { recursive: true });\nwriteFileSync('dist/hello/index.js', '// built\\n' + readFileSync('src/hello.js', 'utf8'));\n",
  );
  write(work, 'src/hello.js', "console.log('hello'); // see org/platform-actions/actions/hello@v1\n");
  write(work, 'actions/hello/action.yml', 'name: hello\nruns:\n  using: node24\n  main: ../../dist/hello/index.js\n');
  write(
    work,
    '.github/workflows/reusable.yml',
    'on: workflow_call\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: org/platform-actions/actions/hello@v1\n      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n',
  );
  write(
    work,
    'workflows-templates/start.yml',
    'on: push\njobs:\n  call:\n    uses: org/platform-actions/.github/workflows/reusable.yml@v1\n',
  );
  write(
    work,
    'docs/hello.md',
    '# hello\n\n```yaml\n- uses: org/platform-actions/actions/hello@v1\n```\n\nNot ours: other/platform-actions/actions/hello@v1.\n',
  );
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'hello action');
  git(work, 'tag', '-a', 'v1.0.0', '-m', 'v1.0.0');
  git(work, 'tag', 'v1');
  write(work, 'src/hello.js', "console.log('hello, world'); // see org/platform-actions/actions/hello@v1\n");
  git(work, 'commit', '--quiet', '-am', 'hello: greet the world');
  git(
    work,
    'commit',
    '--quiet',
    '--allow-empty',
    '-m',
    'feat!: rename the greeting input',
    '-m',
    'BREAKING CHANGE: greeting is now message',
  );
  git(work, 'remote', 'add', 'origin', origin);
  git(work, 'push', '--quiet', 'origin', 'main', '--tags');
  clone = join(dir, 'clone');
  git(dir, 'clone', '--quiet', origin, clone);
});

describe('npm run release', () => {
  it('tags vX.Y.Z on a commit whose references name the commit holding the actions, then moves vX', () => {
    const mainBefore = git(origin, 'rev-parse', 'main');
    const notesFile = join(dir, 'notes.md');
    const r = release('1.1.0', '--repository', 'acme/platform-actions', '--skip-checks', '--notes-file', notesFile);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const tagged = git(origin, 'rev-parse', 'v1.1.0^{commit}');
    expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(tagged);
    expect(git(origin, 'cat-file', '-t', 'v1.1.0')).toBe('tag');
    // The branch is untouched: it keeps its placeholders for the next release.
    expect(git(origin, 'rev-parse', 'main')).toBe(mainBefore);

    // Commit 1 holds the actions and the dist/ built from these sources; the tag is commit 2.
    const actions = git(origin, 'rev-parse', `${tagged}^`);
    expect(git(origin, 'rev-parse', `${actions}^`)).toBe(mainBefore);
    expect(show(actions, 'dist/hello/index.js')).toContain("console.log('hello, world')");
    expect(show(actions, 'actions/hello/action.yml')).toContain('main: ../../dist/hello/index.js');

    // Every reference in workflows, starters and docs names acme/platform-actions at commit 1.
    expect(show(tagged, '.github/workflows/reusable.yml')).toContain(
      `uses: acme/platform-actions/actions/hello@${actions}\n`,
    );
    expect(show(tagged, 'workflows-templates/start.yml')).toContain(
      `uses: acme/platform-actions/.github/workflows/reusable.yml@${actions}`,
    );
    expect(show(tagged, 'docs/hello.md')).toContain(`- uses: acme/platform-actions/actions/hello@${actions}\n`);
    for (const f of ['.github/workflows/reusable.yml', 'workflows-templates/start.yml', 'docs/hello.md'])
      expect(show(tagged, f)).not.toContain('org/platform-actions');
    // Third-party pins and other repositories' names stay as they were; sources are not rewritten.
    expect(show(tagged, '.github/workflows/reusable.yml')).toContain(
      'actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8',
    );
    expect(show(tagged, 'docs/hello.md')).toContain('other/platform-actions/actions/hello@v1');
    expect(show(tagged, 'src/hello.js')).toContain('org/platform-actions/actions/hello@v1');
    // Commit 2 changes nothing but references.
    expect(git(origin, 'diff', '--name-only', actions, tagged).split('\n').sort()).toEqual([
      '.github/workflows/reusable.yml',
      'docs/hello.md',
      'workflows-templates/start.yml',
    ]);

    // Notes: the commits since v1.0.0, the breaking change first; the same text in the tag.
    const notes = readFileSync(notesFile, 'utf8');
    expect(notes).toContain('Changes since v1.0.0: 2 commit(s).');
    expect(notes).toMatch(/## Breaking changes\n\n- feat!: rename the greeting input/);
    expect(notes).toContain('- hello: greet the world');
    expect(notes).not.toContain('hello action');
    expect(notes).toContain(`acme/platform-actions/actions/<name>@${actions}`);
    expect(git(origin, 'tag', '-l', '--format=%(contents)', 'v1.1.0')).toContain('## Breaking changes');

    // A version not newer than the newest of its major is refused.
    expect(release('1.0.5', '--skip-checks').stderr).toContain(
      'v1.0.5 is not newer than v1.1.0, the newest release of v1',
    );
  }, 120_000);

  it('moves vX only after vX.Y.Z is published: a refused tag push leaves vX where it was', () => {
    const v1Before = git(origin, 'rev-parse', 'v1^{commit}');
    write(
      origin,
      'hooks/pre-receive',
      '#!/bin/sh\nwhile read old new ref; do [ "$ref" = refs/tags/v1.2.0 ] && { echo "tag rule: refused" >&2; exit 1; }; done\nexit 0\n',
    );
    chmodSync(join(origin, 'hooks/pre-receive'), 0o755);
    const r = release('1.2.0', '--skip-checks');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refused');
    expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(v1Before);
    expect(spawnSync('git', ['rev-parse', '-q', '--verify', 'refs/tags/v1.2.0'], { cwd: origin }).status).not.toBe(0);
    expect(r.stderr).toContain('v1.2.0 was not published and v1 did not move');
    expect(git(clone, 'tag', '--list', 'v1.2.0')).toBe('');
    // The clone is back on its branch, clean.
    expect(git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(git(clone, 'status', '--porcelain')).toBe('');
  }, 120_000);

  it('a dry run changes nothing; an old or existing version and a dirty tree are refused', () => {
    const tagsBefore = git(origin, 'tag', '--list');
    const dry = release('1.1.0', '--dry-run', '--skip-checks', '--notes-file', join(dir, 'dry.md'));
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(
      'Would build dist/, commit it, rewrite 3 references in 3 files to org/platform-actions/...@<actions commit>, tag v1.1.0 and move v1. Nothing was changed.',
    );
    expect(git(origin, 'tag', '--list')).toBe(tagsBefore);
    expect(git(clone, 'tag', '--list')).toBe(tagsBefore);
    expect(git(clone, 'status', '--porcelain')).toBe('');

    expect(release('1.0.0', '--skip-checks').stderr).toContain('v1.0.0 exists already: release tags are immutable');
    expect(release('1.1.0', '--repository', 'not a repo').stderr).toContain(
      "--repository 'not a repo' is not OWNER/NAME",
    );
    writeFileSync(join(clone, 'docs/hello.md'), 'edited\n');
    expect(release('1.1.0', '--skip-checks').stderr).toContain('uncommitted changes');
  }, 120_000);

  it('runs the checks unless told not to, and stops when they fail', () => {
    const r = release('1.1.0');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('npm test exited with 1');
    expect(git(origin, 'tag', '--list')).not.toContain('v1.1.0');
  }, 120_000);
});
