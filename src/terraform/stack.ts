import { errorsOf, type TerraformCli } from './cli.js';
import { fromJson, type Diagnostic } from './diagnostics.js';

/** The outcome of one step: errors stop the stack, warnings are reported. */
export interface StepOutcome {
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface PlanArgs {
  out: string;
  varFiles?: string[];
  refreshOnly?: boolean;
  lockTimeout?: string;
  parallelism?: number;
}

const warnings = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'warning');

/** `init`, with backend settings (or `-backend=false` to install only providers and modules). */
export async function init(
  cli: TerraformCli,
  opts: { backendConfig?: string[]; backend?: boolean; lockTimeout?: string },
): Promise<StepOutcome> {
  const args = ['init', '-input=false', '-no-color'];
  if (opts.backend === false) args.push('-backend=false');
  for (const item of opts.backendConfig ?? []) args.push(`-backend-config=${item}`);
  if (opts.lockTimeout) args.push(`-lock-timeout=${opts.lockTimeout}`);
  const result = await cli.run(args);
  return {
    errors: result.exitCode === 0 ? [] : errorsOf(result, `${cli.binary} init`),
    warnings: warnings(result.diagnostics),
  };
}

/** `workspace select -or-create NAME` (a no-op for `default`). */
export async function selectWorkspace(cli: TerraformCli, name: string): Promise<StepOutcome> {
  if (name === '' || name === 'default') return { errors: [], warnings: [] };
  const result = await cli.run(['workspace', 'select', '-or-create=true', '-no-color', name]);
  return {
    errors: result.exitCode === 0 ? [] : errorsOf(result, `${cli.binary} workspace select ${name}`),
    warnings: [],
  };
}

/** `validate -json`: errors and warnings with file and line. */
export async function validate(cli: TerraformCli): Promise<StepOutcome> {
  const result = await cli.run(['validate', '-json', '-no-color'], { quiet: true });
  let diagnostics: Diagnostic[];
  try {
    const parsed = JSON.parse(result.stdout) as { diagnostics?: Array<Parameters<typeof fromJson>[0]> };
    diagnostics = (parsed.diagnostics ?? []).map(fromJson);
  } catch {
    diagnostics = result.diagnostics;
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (result.exitCode !== 0 && errors.length === 0) errors.push(...errorsOf(result, `${cli.binary} validate`));
  cli.options.log?.(errors.length === 0 ? 'The configuration is valid.' : `validate found ${errors.length} error(s).`);
  return { errors, warnings: warnings(diagnostics) };
}

/** Files `fmt -check` would rewrite (relative to the working directory). */
export async function unformattedFiles(cli: TerraformCli): Promise<string[]> {
  const result = await cli.run(['fmt', '-check', '-recursive', '-list=true', '-no-color'], { quiet: true });
  if (result.exitCode === 0) return [];
  return result.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('Error'));
}

/** `plan -out` with the machine-readable UI. */
export async function plan(
  cli: TerraformCli,
  a: PlanArgs,
): Promise<StepOutcome & { summary?: { add: number; change: number; remove: number } }> {
  const args = ['plan', '-input=false', '-json', `-out=${a.out}`];
  if (a.refreshOnly) args.push('-refresh-only');
  if (a.lockTimeout) args.push(`-lock-timeout=${a.lockTimeout}`);
  if (a.parallelism) args.push(`-parallelism=${a.parallelism}`);
  for (const f of a.varFiles ?? []) args.push(`-var-file=${f}`);
  const result = await cli.run(args, { json: true });
  return {
    errors: result.exitCode === 0 ? [] : errorsOf(result, `${cli.binary} plan`),
    warnings: warnings(result.diagnostics),
    ...(result.changeSummary ? { summary: result.changeSummary } : {}),
  };
}

/** `show -json PLAN` written straight to a file. */
export async function showJson(cli: TerraformCli, planFile: string, outFile: string): Promise<StepOutcome> {
  const result = await cli.run(['show', '-json', '-no-color', planFile], { stdoutFile: outFile, quiet: true });
  return { errors: result.exitCode === 0 ? [] : errorsOf(result, `${cli.binary} show -json`), warnings: [] };
}

export interface PrepareOptions {
  backendConfig?: string[];
  workspace?: string;
  lockTimeout?: string;
}

/** init then workspace selection; errors say which step failed. */
export async function prepare(cli: TerraformCli, o: PrepareOptions): Promise<StepOutcome> {
  const initialised = await init(cli, { backendConfig: o.backendConfig ?? [], lockTimeout: o.lockTimeout });
  if (initialised.errors.length > 0) return initialised;
  const selected = await selectWorkspace(cli, o.workspace ?? 'default');
  return { errors: selected.errors, warnings: initialised.warnings };
}

/** plan -out FILE, then show -json FILE > JSON. */
export async function planToJson(cli: TerraformCli, a: PlanArgs & { json: string }): Promise<StepOutcome> {
  const planned = await plan(cli, a);
  if (planned.errors.length > 0) return planned;
  const shown = await showJson(cli, a.out, a.json);
  return { errors: shown.errors, warnings: planned.warnings };
}

/** `apply PLANFILE` with the machine-readable UI; the change summary says what was done. */
export async function applyPlan(
  cli: TerraformCli,
  planFile: string,
  opts: { lockTimeout?: string } = {},
): Promise<StepOutcome & { summary?: { add: number; change: number; remove: number } }> {
  const args = ['apply', '-input=false', '-json'];
  if (opts.lockTimeout) args.push(`-lock-timeout=${opts.lockTimeout}`);
  args.push(planFile);
  const result = await cli.run(args, { json: true });
  return {
    errors: result.exitCode === 0 ? [] : errorsOf(result, `${cli.binary} apply`),
    warnings: warnings(result.diagnostics),
    ...(result.changeSummary ? { summary: result.changeSummary } : {}),
  };
}

/** Whether the errors are Terraform's refusal of a saved plan made against an older state. */
export function isStalePlan(errors: Diagnostic[]): boolean {
  return errors.some((e) =>
    /saved plan is stale|plan file .* no longer|does not match the given state/i.test(`${e.summary} ${e.detail ?? ''}`),
  );
}
