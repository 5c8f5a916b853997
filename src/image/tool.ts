import { spawn } from 'node:child_process';
import { errorMessage, UserError } from '../util/errors.js';

/** The outcome of a command line tool run. */
export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  /** Written to the tool's standard input (how passwords reach `login`, never argv). */
  input?: string;
  /** Kill the tool after this long. */
  timeoutMs?: number;
  /** Do not echo the command and its output to the log. */
  silent?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
}

/**
 * Runs a tool, echoing `[command] ...` and its output to the job log as @actions/exec
 * does, and returns what it printed. Never throws for a non-zero exit (the caller
 * knows what the exit means); throws only when the tool cannot be started.
 */
export function runTool(command: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (!options.silent) process.stdout.write(`[command]${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      signal: options.signal,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!options.silent) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!options.silent) process.stdout.write(d);
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (err.name === 'AbortError') return reject(options.signal?.reason ?? err);
      reject(
        err.code === 'ENOENT'
          ? new UserError(`'${command}' is not installed on this runner (not found on PATH).`)
          : new Error(`${command}: ${errorMessage(err)}`),
      );
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Like runTool, but a non-zero exit is an error that quotes the tool's last words. */
export async function mustRun(
  command: string,
  args: string[],
  what: string,
  options: ToolOptions = {},
  hint?: string | ((output: string) => string | undefined),
): Promise<ToolResult> {
  const result = await runTool(command, args, options);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-8).join('\n');
    throw new UserError(
      `${what} failed (${command} exited with ${result.code ?? 'a signal'}):\n${tail}`,
      typeof hint === 'function' ? hint(tail) : hint,
    );
  }
  return result;
}
