/**
 * Builds one ncc bundle per action: src/actions/<id>/index.ts → dist/<id>/.
 * `--check` builds into a temporary folder and fails when dist/ differs from it.
 * ncc minifies only the entry file, so code-split chunks (lazily loaded SDKs) are
 * minified here with terser.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { minify } from 'terser';
import { listActions, ROOT } from './lib/actions.js';

const run = promisify(execFile);
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const outRoot = check ? mkdtempSync(join(tmpdir(), 'pa-dist-')) : join(ROOT, 'dist');
const ncc = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');

async function bundle(id: string, entry: string): Promise<void> {
  const out = join(outRoot, id);
  rmSync(out, { recursive: true, force: true });
  await run(process.execPath, [ncc, 'build', entry, '-o', out, '-m', '--license', 'licenses.txt', '-q'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const file of readdirSync(out)) {
    if (!/^\d+\.index\.js$/.test(file)) continue;
    const path = join(out, file);
    const result = await minify(readFileSync(path, 'utf8'), { module: true, compress: true, mangle: true });
    writeFileSync(path, result.code ?? '');
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

async function main(): Promise<void> {
  const actions = listActions().filter((a) => only.length === 0 || only.includes(a.id));
  const queue = [...actions];
  const workers = Array.from({ length: 2 }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) {
      const started = Date.now();
      await bundle(a.id, a.entry);
      console.log(`bundled ${a.id} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
  });
  await Promise.all(workers);

  if (!check) return;
  const problems: string[] = [];
  const expected = new Set(actions.map((a) => a.id));
  for (const stale of readdirSync(join(ROOT, 'dist')).filter((d) => !expected.has(d) && only.length === 0)) {
    problems.push(`dist/${stale} belongs to no action: delete it.`);
  }
  for (const a of actions) {
    const fresh = join(outRoot, a.id);
    const committed = join(ROOT, 'dist', a.id);
    const names = new Set([...filesUnder(fresh), ...filesUnder(committed)]);
    for (const name of names) {
      const f = join(fresh, name);
      const c = join(committed, name);
      if (!existsSync(c)) problems.push(`dist/${a.id}/${name} is missing.`);
      else if (!existsSync(f)) problems.push(`dist/${a.id}/${name} is no longer produced.`);
      else if (!readFileSync(f).equals(readFileSync(c)))
        problems.push(`dist/${a.id}/${name} differs from a fresh build.`);
    }
  }
  rmSync(outRoot, { recursive: true, force: true });
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    console.error(
      `\ndist/ is out of date with ${relative(ROOT, join(ROOT, 'src'))}/: run \`npm run bundle\` and commit dist/.`,
    );
    process.exit(1);
  }
  console.log(`dist/ matches a fresh build of ${actions.length} action(s).`);
}

await main();
