import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { globToRegExp, isGlob } from '../util/glob.js';
import { UserError } from '../util/errors.js';

/** The workspace the runner checked the repository out into. */
export function workspaceDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GITHUB_WORKSPACE || process.cwd());
}

/** A stack's folder, checked to exist and to hold Terraform files. */
export function stackDir(workingDirectory: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(workspaceDir(env), workingDirectory);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `working-directory '${workingDirectory}' does not exist (looked in ${dir}).`,
      'Check the path, and that the repository was checked out (actions/checkout) before this step.',
    );
  }
  if (!readdirSync(dir).some((f) => f.endsWith('.tf') || f.endsWith('.tofu') || f.endsWith('.tf.json'))) {
    throw new UserError(
      `working-directory '${workingDirectory}' has no .tf files.`,
      'Point working-directory at the folder of the root module.',
    );
  }
  return dir;
}

/**
 * A fresh folder for one step's files about one stack, under RUNNER_TEMP (unique per
 * step, so two plans of a stack in one job never overwrite each other's plan file).
 */
export function outputDir(action: string, stack: string, env: NodeJS.ProcessEnv = process.env): string {
  const slug = stack.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'root';
  const parent = join(env.RUNNER_TEMP || tmpdir(), 'platform-actions', action);
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `${slug}-`));
}

const SKIP = new Set(['.git', 'node_modules', '.terraform']);

function hasTerraformFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith('.tf') || f.endsWith('.tofu') || f.endsWith('.tf.json'));
  } catch {
    return false;
  }
}

/** Every folder under `root` (relative, `/`-separated), skipping .git, node_modules and .terraform. */
function folders(root: string, rel = '', out: string[] = []): string[] {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (!entry.isDirectory() || SKIP.has(entry.name)) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    out.push(path);
    folders(root, path, out);
  }
  return out;
}

/**
 * The stack folders named by `patterns` (relative to the workspace): plain folders as
 * given (checked to exist), globs matched against every folder that holds .tf files.
 */
export function expandStacks(patterns: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const root = workspaceDir(env);
  const found: string[] = [];
  let all: string[] | undefined;
  for (const raw of patterns) {
    const pattern = raw.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
    if (!isGlob(pattern)) {
      stackDir(pattern, env);
      found.push(pattern);
      continue;
    }
    all ??= folders(root).filter((f) => hasTerraformFiles(join(root, f)));
    const re = globToRegExp(pattern, '/');
    const matched = all.filter((f) => re.test(f));
    if (matched.length === 0)
      throw new UserError(
        `stacks: '${raw}' matches no folder with .tf files under ${root}.`,
        'Check the pattern; it is matched against folders relative to the workspace.',
      );
    found.push(...matched);
  }
  return [...new Set(found)].sort();
}
