/**
 * GitHub Actions expressions evaluated by GitHub's own evaluator (@actions/expressions),
 * so that a test can follow a workflow's data flow (`with:`, `env:`, `if:`, job and
 * workflow outputs) the way the runner would, without a runner. The status functions
 * (success(), failure(), always(), cancelled()) answer from `status`; an `if:` without
 * one is `success() && (…)`, as on GitHub.
 */
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';

export type Contexts = Record<string, unknown>;
export type JobStatus = 'success' | 'failure' | 'cancelled';

const CONTEXTS = [
  'github',
  'env',
  'vars',
  'job',
  'jobs',
  'steps',
  'runner',
  'secrets',
  'strategy',
  'matrix',
  'needs',
  'inputs',
];
const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'];

function statusFunctions(status: JobStatus): Map<string, FunctionDefinition> {
  const answer: Record<string, boolean> = {
    success: status === 'success',
    failure: status === 'failure',
    always: true,
    cancelled: status === 'cancelled',
  };
  return new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(answer[name] as boolean) },
    ]),
  );
}

function evaluateData(expression: string, contexts: Contexts, status: JobStatus): data.ExpressionData {
  const lexed = new Lexer(expression).lex();
  const functions = statusFunctions(status);
  const parser = new Parser(lexed.tokens, CONTEXTS, [...functions.values()]);
  const context = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  return new Evaluator(parser.parse(), context, functions).evaluate();
}

/** The value of one expression (the text inside `${{ }}`), as plain JSON. */
export function evaluate(expression: string, contexts: Contexts, status: JobStatus = 'success'): unknown {
  return JSON.parse(JSON.stringify(evaluateData(expression, contexts, status), data.replacer)) as unknown;
}

/** A `with:` / `env:` value as the step sees it: every `${{ }}` replaced by its value as a string. */
export function render(value: unknown, contexts: Contexts): string {
  if (typeof value !== 'string') return value === undefined || value === null ? '' : String(value);
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) =>
    evaluateData(expr, contexts, 'success').coerceString(),
  );
}

/** Every value of a `with:` / `env:` / `outputs:` map, rendered. */
export function renderAll(values: Record<string, unknown> | undefined, contexts: Contexts): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, render(v, contexts)]));
}

/** An `if:` as the runner decides it for a job whose status so far is `status`. */
export function condition(text: string | undefined, contexts: Contexts, status: JobStatus = 'success'): boolean {
  if (text === undefined) return status === 'success';
  const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(text)?.[1] ?? text;
  const usesStatus = STATUS_FUNCTIONS.some((name) => new RegExp(`\\b${name}\\s*\\(`).test(inner));
  const expression = usesStatus ? inner : `success() && (${inner})`;
  return truthy(evaluateData(expression, contexts, status));
}
