/**
 * `npm run sandbox`: the release pipeline rehearsed locally against the emulated cloud
 * (scripts/sandbox/pipeline.ts). `npm run sandbox -- --short` runs the test's profile.
 * Job summaries, timeline.md and result.json go to sandbox-output/ (or --output DIR).
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runSandbox } from './sandbox/pipeline.js';
import { MissingPrerequisites } from './sandbox/world.js';
import { ROOT } from '../test/support/runner.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const args = process.argv.slice(2);
const at = args.indexOf('--output');
const outputDir = resolve(at >= 0 && args[at + 1] ? (args[at + 1] as string) : join(ROOT, 'sandbox-output'));
const unknown = args.filter((a, i) => !['--short', '--full', '--output'].includes(a) && args[i - 1] !== '--output');
if (unknown.length > 0 || args.includes('--help')) {
  console.error('Usage: npm run sandbox [-- --short] [-- --output DIR]');
  process.exit(unknown.length > 0 ? 2 : 0);
}

rmSync(outputDir, { recursive: true, force: true });
try {
  const result = await runSandbox({ profile: args.includes('--short') ? 'short' : 'full', outputDir });
  process.exit(result.ok ? 0 : 1);
} catch (err) {
  if (err instanceof MissingPrerequisites) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
