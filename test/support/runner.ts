import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  properties: Record<string, string>;
}

export interface StepResult {
  action: string;
  phase: 'main' | 'post';
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Step outputs from GITHUB_OUTPUT. */
  outputs: Record<string, string>;
  /** Variables the step exported through GITHUB_ENV. */
  exported: Record<string, string>;
  /** State saved through GITHUB_STATE (what the post step will see as STATE_*). */
  state: Record<string, string>;
  /** Text appended to GITHUB_STEP_SUMMARY. */
  summary: string;
  /** The log as the runner shows it: commands interpreted, secrets masked. */
  log: string;
  /** Every line the process printed, unmodified. */
  raw: string[];
  /** Values registered with add-mask, in order. */
  masked: string[];
  annotations: Annotation[];
  /** Lines that printed one of `values` before it was masked (or that never masked it). */
  leaks(values: string[]): string[];
  /** The message of the `::error::` annotation (what core.setFailed printed). */
  failure: string | undefined;
}

export interface RunningStep {
  done: Promise<StepResult>;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when a printed line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

interface ActionYaml {
  inputs?: Record<string, { default?: string }>;
  runs: { main: string; post?: string };
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}
function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');
}

/** Parses a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file (heredoc and key=value forms). */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] as string);
      if (i >= lines.length) throw new Error(`unterminated heredoc for ${key}`);
      out[key] = value.join('\n');
    } else {
      const eq = line.indexOf('=');
      if (eq <= 0) throw new Error(`malformed file command line: ${line}`);
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

/**
 * A job on an emulated runner: runs built action bundles the way the runner does
 * (INPUT_* variables with action.yml defaults, file commands, masking, post steps with
 * STATE_*), carrying exported variables from step to step.
 */
export class Job {
  readonly dir: string;
  readonly workspace: string;
  readonly temp: string;
  /** The job environment: what the test set plus what steps exported. */
  readonly env: Record<string, string>;
  private counter = 0;

  constructor(env: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'pa-job-'));
    this.workspace = join(this.dir, 'workspace');
    this.temp = join(this.dir, 'temp');
    mkdirSync(this.workspace);
    mkdirSync(this.temp);
    this.env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/webapp',
      GITHUB_REPOSITORY_OWNER: 'acme',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_NUMBER: '7',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKFLOW: 'release',
      GITHUB_JOB: 'deploy',
      GITHUB_ACTOR: 'octocat',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_WORKSPACE: this.workspace,
      RUNNER_TEMP: this.temp,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    };
  }

  /**
   * Sets the event that started the workflow: writes the webhook payload to a file
   * and points GITHUB_EVENT_PATH / GITHUB_EVENT_NAME at it, as the runner does. For a
   * pull request, also sets GITHUB_REF (refs/pull/N/merge) and GITHUB_HEAD_REF /
   * GITHUB_BASE_REF when the payload has them.
   */
  setEvent(name: string, payload: Record<string, unknown>): void {
    const path = join(this.dir, `event-${++this.counter}.json`);
    writeFileSync(path, JSON.stringify(payload));
    this.env.GITHUB_EVENT_NAME = name;
    this.env.GITHUB_EVENT_PATH = path;
    const pr = payload.pull_request as
      { number?: number; head?: { ref?: string }; base?: { ref?: string } } | undefined;
    if (pr?.number !== undefined && name.startsWith('pull_request')) {
      this.env.GITHUB_REF = `refs/pull/${pr.number}/merge`;
      if (pr.head?.ref) this.env.GITHUB_HEAD_REF = pr.head.ref;
      if (pr.base?.ref) this.env.GITHUB_BASE_REF = pr.base.ref;
    }
  }

  /** Starts the action's main step; use `.done` for the result, `.kill()` to cancel it. */
  start(action: string, options: { inputs?: Record<string, string>; env?: Record<string, string> } = {}): RunningStep {
    return this.spawnStep(action, 'main', options.inputs ?? {}, options.env ?? {}, {});
  }

  /** Runs the action's main step to the end. */
  run(
    action: string,
    options: { inputs?: Record<string, string>; env?: Record<string, string> } = {},
  ): Promise<StepResult> {
    return this.start(action, options).done;
  }

  /** Runs the post step of an earlier main step, with its saved state. */
  post(
    main: StepResult,
    options: { inputs?: Record<string, string>; env?: Record<string, string> } = {},
  ): Promise<StepResult> {
    const stateEnv = Object.fromEntries(Object.entries(main.state).map(([k, v]) => [`STATE_${k}`, v]));
    return this.spawnStep(main.action, 'post', options.inputs ?? {}, { ...(options.env ?? {}) }, stateEnv).done;
  }

  private spawnStep(
    action: string,
    phase: 'main' | 'post',
    inputs: Record<string, string>,
    stepEnv: Record<string, string>,
    stateEnv: Record<string, string>,
  ): RunningStep {
    const actionDir = join(ROOT, 'actions', action);
    const meta = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as ActionYaml;
    const script = phase === 'main' ? meta.runs.main : meta.runs.post;
    if (!script) throw new Error(`${action} has no ${phase} step`);

    const n = ++this.counter;
    const files = {
      GITHUB_OUTPUT: join(this.dir, `output-${n}`),
      GITHUB_ENV: join(this.dir, `env-${n}`),
      GITHUB_STATE: join(this.dir, `state-${n}`),
      GITHUB_STEP_SUMMARY: join(this.dir, `summary-${n}`),
      GITHUB_PATH: join(this.dir, `path-${n}`),
    };
    for (const f of Object.values(files)) writeFileSync(f, '');

    const inputEnv: Record<string, string> = {};
    for (const [name, spec] of Object.entries(meta.inputs ?? {})) {
      if (spec.default !== undefined) inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(spec.default);
    }
    for (const [name, value] of Object.entries(inputs))
      inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

    const child = spawn(process.execPath, [resolve(actionDir, script)], {
      cwd: this.workspace,
      env: { ...this.env, ...stepEnv, ...inputEnv, ...stateEnv, ...files },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    const raw: string[] = [];
    const watchers: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        raw.push(line);
        for (const w of [...watchers]) {
          if (w.pattern.test(line)) {
            watchers.splice(watchers.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);

    const done = new Promise<StepResult>((resolveDone, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode, signal) => {
        if (pending) raw.push(pending);
        const exported = parseFileCommand(readFileSync(files.GITHUB_ENV, 'utf8'));
        Object.assign(this.env, exported);
        resolveDone(
          interpret(action, phase, raw, exitCode, signal, {
            outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
            exported,
            state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
            summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
          }),
        );
      });
    });

    return {
      done,
      kill: (signal = 'SIGTERM') => child.kill(signal),
      waitForLog: (pattern, timeoutMs = 60_000) =>
        new Promise((res, rej) => {
          const seen = raw.find((l) => pattern.test(l));
          if (seen) return res(seen);
          const timer = setTimeout(
            () => rej(new Error(`no log line matched ${pattern} within ${timeoutMs} ms:\n${raw.join('\n')}`)),
            timeoutMs,
          );
          watchers.push({
            pattern,
            resolve: (line) => {
              clearTimeout(timer);
              res(line);
            },
          });
          void done.then(() => {
            clearTimeout(timer);
            if (!raw.some((l) => pattern.test(l)))
              rej(new Error(`step ended before a line matched ${pattern}:\n${raw.join('\n')}`));
          });
        }),
    };
  }
}

function interpret(
  action: string,
  phase: 'main' | 'post',
  raw: string[],
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  files: Pick<StepResult, 'outputs' | 'exported' | 'state' | 'summary'>,
): StepResult {
  const masked: string[] = [];
  const maskedAt = new Map<string, number>();
  const annotations: Annotation[] = [];
  const shown: string[] = [];
  const mask = (text: string) => masked.reduce((t, secret) => (secret ? t.split(secret).join('***') : t), text);

  raw.forEach((line, index) => {
    const cmd = /^::([\w-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!cmd) {
      shown.push(mask(line));
      return;
    }
    const [, name, props = '', data = ''] = cmd as unknown as [string, string, string | undefined, string | undefined];
    const message = unescapeData(data);
    const properties: Record<string, string> = {};
    for (const pair of props.split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
    switch (name) {
      case 'add-mask':
        masked.push(message);
        if (!maskedAt.has(message)) maskedAt.set(message, index);
        break;
      case 'error':
      case 'warning':
      case 'notice':
        annotations.push({ level: name, message: mask(message), properties });
        shown.push(`${name === 'error' ? 'Error' : name === 'warning' ? 'Warning' : 'Notice'}: ${mask(message)}`);
        break;
      case 'debug':
        shown.push(`##[debug]${mask(message)}`);
        break;
      case 'group':
        shown.push(`##[group]${mask(message)}`);
        break;
      case 'endgroup':
        break;
      default:
        shown.push(mask(line));
    }
  });

  const failure = annotations.filter((a) => a.level === 'error').pop()?.message;
  return {
    action,
    phase,
    exitCode,
    signal,
    ...files,
    log: shown.join('\n'),
    raw,
    masked,
    annotations,
    failure,
    leaks(values) {
      const found: string[] = [];
      for (const value of values.filter(Boolean)) {
        const maskIndex = maskedAt.get(value) ?? Infinity;
        raw.forEach((line, i) => {
          if (line === `::add-mask::${value}`) return;
          if (line.includes(value) && i < maskIndex)
            found.push(`line ${i + 1} shows a secret before it was masked: ${line.slice(0, 200)}`);
        });
      }
      return found;
    },
  };
}
