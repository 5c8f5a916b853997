import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';

/** The workspace the runner checked the repository out into. */
export function workspaceDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GITHUB_WORKSPACE || process.cwd());
}

/** A stack's folder, checked to exist and to hold Terraform files. */
export function stackDir(workingDirectory: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(workspaceDir(env), workingDirectory);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`working-directory '${workingDirectory}' does not exist (looked in ${dir}).`, 'Check the path, and that the repository was checked out (actions/checkout) before this step.');
  }
  if (!readdirSync(dir).some((f) => f.endsWith('.tf') || f.endsWith('.tofu') || f.endsWith('.tf.json'))) {
    throw new UserError(`working-directory '${workingDirectory}' has no .tf files.`, 'Point working-directory at the folder of the root module.');
  }
  return dir;
}

/** A fresh folder for one action's files about one stack, under RUNNER_TEMP. */
export function outputDir(action: string, stack: string, env: NodeJS.ProcessEnv = process.env): string {
  const slug = stack.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'root';
  const dir = join(env.RUNNER_TEMP || tmpdir(), 'platform-actions', action, slug);
  mkdirSync(dir, { recursive: true });
  return dir;
}
