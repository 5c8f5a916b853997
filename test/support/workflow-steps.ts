/**
 * The pieces of a workflow a test can run without a runner: its `workflow_call` inputs
 * with defaults applied (as GitHub fills the inputs context), and its `run:` steps
 * executed with bash the way `shell: bash` runs them (`bash --noprofile --norc -eo
 * pipefail`), their `env:` rendered by GitHub's expression evaluator, with
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files read back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderAll, type Contexts } from './expressions.js';
import { parseFileCommand, ROOT } from './runner.js';

export interface WorkflowStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

export interface WorkflowJob {
  name?: string;
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  environment?: unknown;
  concurrency?: { group?: string; 'cancel-in-progress'?: unknown };
  permissions?: unknown;
  outputs?: Record<string, string>;
  steps?: WorkflowStep[];
}

export interface WorkflowDoc {
  on: {
    workflow_call?: {
      inputs?: Record<string, { type?: string; default?: unknown; required?: boolean }>;
      outputs?: Record<string, { value: string }>;
    };
  };
  jobs: Record<string, WorkflowJob>;
}

/** A reusable workflow by file name (deploy-ecs.yml), or any workflow by path from the repository root. */
export function loadWorkflow(file: string): WorkflowDoc {
  return parse(
    readFileSync(join(ROOT, file.includes('/') ? file : join('.github/workflows', file)), 'utf8'),
  ) as WorkflowDoc;
}

/** The inputs context of a call: the given values over the declared defaults (booleans and numbers typed). */
export function callInputs(doc: WorkflowDoc, given: Record<string, unknown>): Record<string, unknown> {
  const declared = doc.on.workflow_call?.inputs ?? {};
  for (const k of Object.keys(given)) if (!(k in declared)) throw new Error(`input ${k} is not declared`);
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(declared)) {
    if (spec.required && !(k in given)) throw new Error(`required input ${k} not given`);
    const value = k in given ? given[k] : spec.default;
    out[k] =
      spec.type === 'boolean'
        ? value === true || value === 'true'
        : spec.type === 'number'
          ? Number(value ?? 0)
          : (value ?? '');
  }
  return out;
}

export function stepOf(job: WorkflowJob, id: string): WorkflowStep {
  const step = job.steps?.find((s) => s.id === id || s.name === id);
  if (!step) throw new Error(`no step ${id}`);
  return step;
}

export interface ScriptResult {
  status: number | null;
  log: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs a `run:` step with its env rendered from `contexts` (plus `extraEnv`, e.g. PATH). */
export function runScriptStep(
  step: WorkflowStep,
  contexts: Contexts,
  extraEnv: Record<string, string> = {},
): ScriptResult {
  if (typeof step.run !== 'string') throw new Error(`step ${step.id ?? step.name} has no run:`);
  const dir = mkdtempSync(join(tmpdir(), 'pa-step-'));
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  writeFileSync(join(dir, 'step.sh'), step.run);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...renderAll(step.env, contexts), ...extraEnv, ...files },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    log: r.stdout + r.stderr,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

/**
 * `runScriptStep` without blocking the event loop: for a step that calls a server running
 * in the test's own process (the GitHub stand-in), which a synchronous child would starve.
 */
export async function runScriptStepAsync(
  step: WorkflowStep,
  contexts: Contexts,
  extraEnv: Record<string, string> = {},
): Promise<ScriptResult> {
  if (typeof step.run !== 'string') throw new Error(`step ${step.id ?? step.name} has no run:`);
  const dir = mkdtempSync(join(tmpdir(), 'pa-step-'));
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  writeFileSync(join(dir, 'step.sh'), step.run);
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...renderAll(step.env, contexts), ...extraEnv, ...files },
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    status,
    log,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}
