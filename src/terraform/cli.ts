import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { UserError } from '../util/errors.js';
import { fromJson, fromText, type Diagnostic } from './diagnostics.js';

import type { Binary } from './binaries.js';

export { BINARIES, type Binary } from './binaries.js';

export interface CliOptions {
  binary: Binary;
  /** The root module's folder. */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Called before each command with its environment; returns the one to use. The actions
   * pass the AWS credentials renewal here (a child process cannot renew by itself).
   */
  prepareEnv?: (env: NodeJS.ProcessEnv) => Promise<NodeJS.ProcessEnv>;
  signal?: AbortSignal;
  /** Where to print progress (the job log); default none. */
  log?: (line: string) => void;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  diagnostics: Diagnostic[];
  /** `type: change_summary` of a -json run. */
  changeSummary?: { add: number; change: number; import?: number; remove: number; operation: string };
}

/**
 * Runs terraform or tofu (the same command line and JSON formats) in one working
 * directory: never asks for input, reads diagnostics with file and line, and passes the
 * runner's cancel on as SIGINT so Terraform stops cleanly and releases its state lock.
 */
export class TerraformCli {
  constructor(readonly options: CliOptions) {}

  get binary(): Binary {
    return this.options.binary;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...(this.options.env ?? process.env), TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  }

  /**
   * Runs one command. With `json`, stdout is Terraform's machine-readable UI (one JSON
   * object a line): messages go to the log, diagnostics are collected. With `stdoutFile`,
   * stdout goes to that file unread (large `show -json` output never sits in memory).
   */
  async run(args: string[], opts: { json?: boolean; stdoutFile?: string; quiet?: boolean } = {}): Promise<CliResult> {
    const log = opts.quiet ? undefined : this.options.log;
    log?.(`$ ${this.binary} ${args.join(' ')}`);
    const env = this.options.prepareEnv ? await this.options.prepareEnv(this.env()) : this.env();
    const child = spawn(this.binary, args, { cwd: this.options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onAbort = () => child.kill('SIGINT');
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    const diagnostics: Diagnostic[] = [];
    let changeSummary: CliResult['changeSummary'];
    let stdout = '';
    let stderr = '';
    let pending = '';
    const file = opts.stdoutFile ? createWriteStream(opts.stdoutFile) : undefined;
    const onLine = (line: string) => {
      if (!opts.json) {
        log?.(line);
        return;
      }
      let msg: {
        type?: string;
        '@message'?: string;
        '@level'?: string;
        diagnostic?: object;
        changes?: CliResult['changeSummary'];
      };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        log?.(line);
        return;
      }
      if (msg.type === 'diagnostic' && msg.diagnostic) diagnostics.push(fromJson(msg.diagnostic));
      if (msg.type === 'change_summary') changeSummary = msg.changes;
      if (msg.type !== 'version' && msg['@message'] && (msg.type !== 'diagnostic' || log)) log?.(msg['@message']);
    };
    if (file) child.stdout.pipe(file);
    else {
      child.stdout.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (stdout.length < 4 << 20) stdout += text;
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 1 << 20) stderr += chunk.toString('utf8');
    });
    let exitCode: number;
    try {
      const [code, signal] = (await Promise.race([
        once(child, 'close'),
        once(child, 'error').then(([err]) => Promise.reject(err as Error)),
      ])) as [number | null, NodeJS.Signals | null];
      exitCode = code ?? (signal ? 128 : 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UserError(
          `'${this.binary}' was not found on PATH.`,
          this.binary === 'tofu'
            ? 'Install OpenTofu before this step (opentofu/setup-opentofu), or set terraform-binary: terraform.'
            : 'Install Terraform before this step (hashicorp/setup-terraform), or set terraform-binary: tofu.',
        );
      }
      throw err;
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
    }
    if (pending) onLine(pending);
    if (file) await new Promise<void>((resolve, reject) => file.close((err) => (err ? reject(err) : resolve())));
    if (stderr.trim()) {
      for (const line of stderr.trimEnd().split('\n')) log?.(line);
    }
    // Diagnostics that only reached the human stream (errors before the JSON UI starts).
    if (exitCode !== 0 && !diagnostics.some((d) => d.severity === 'error')) {
      diagnostics.push(...fromText(stderr).filter((d) => d.severity === 'error'));
      if (!opts.json && !file) diagnostics.push(...fromText(stdout).filter((d) => d.severity === 'error'));
    }
    this.options.signal?.throwIfAborted();
    return { exitCode, stdout, stderr, diagnostics, ...(changeSummary ? { changeSummary } : {}) };
  }
}

/** The error diagnostics of a failed command, or one made from its output when it printed none. */
export function errorsOf(result: CliResult, what: string): Diagnostic[] {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return errors;
  const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-20).join('\n');
  return [
    {
      severity: 'error',
      summary: `${what} failed with exit code ${result.exitCode}`,
      ...(tail ? { detail: tail } : {}),
    },
  ];
}
