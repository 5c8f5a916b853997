import { spawnSync } from 'node:child_process';

/** Runs a command in cwd and returns its stdout; a non-zero exit throws with its stderr. */
export function sh(
  command: string,
  args: string[],
  cwd: string,
  options: { input?: string; inherit?: boolean } = {},
): string {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    input: options.input,
    stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited with ${r.status}${options.inherit ? '' : `:\n${(r.stderr || r.stdout).trim()}`}`,
    );
  return options.inherit ? '' : r.stdout;
}

export function git(cwd: string, ...args: string[]): string {
  return sh('git', args, cwd).trim();
}

/** True when the command succeeds (e.g. `git rev-parse --verify`). */
export function gitOk(cwd: string, ...args: string[]): boolean {
  return spawnSync('git', args, { cwd, stdio: 'ignore' }).status === 0;
}

export type Semver = [number, number, number];

export function parseSemver(text: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareSemver(a: Semver, b: Semver): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
