/**
 * `npm run bench`: runs every scripts/bench/*.bench.ts in turn (or those named on the
 * command line) and prints their tables. Timings are reported here, never asserted in tests.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/actions.js';

const only = process.argv.slice(2);
const dir = join(ROOT, 'scripts', 'bench');
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = false;
for (const file of benches) {
  console.log(`\n## ${file.replace('.bench.ts', '')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, file)], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
