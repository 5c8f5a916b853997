/**
 * The static check of every workflow (.github/workflows) and starter workflow
 * (workflows-templates) against our action.yml files and reusable workflows: see
 * scripts/lib/workflow-check.ts for the rules. Also checks that every starter workflow
 * has its `.properties.json` as GitHub's organisation templates expect.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { listActions, PUBLISHED_AS, PUBLISHED_VERSION, ROOT } from './lib/actions.js';
import { checkWorkflow, type CheckContext, type CheckStats } from './lib/workflow-check.js';
import { checkTemplateProperties } from './lib/template-properties.js';
import { checkConcurrency } from './lib/concurrency-check.js';

const yamlFiles = (dir: string) =>
  existsSync(join(ROOT, dir))
    ? readdirSync(join(ROOT, dir))
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(ROOT, dir, f))
    : [];

const workflowFiles = yamlFiles('.github/workflows');
const templateFiles = yamlFiles('workflows-templates');
const problems: string[] = [];
const docs = new Map<string, Record<string, unknown>>();
for (const p of [...workflowFiles, ...templateFiles]) {
  try {
    docs.set(p, parse(readFileSync(p, 'utf8')) as Record<string, unknown>);
  } catch (err) {
    problems.push(`${relative(ROOT, p)}: not valid YAML: ${String(err).split('\n')[0]}`);
  }
}
const ctx: CheckContext = {
  publishedAs: PUBLISHED_AS,
  version: PUBLISHED_VERSION,
  actions: new Map(listActions().map((a) => [a.id, a.meta])),
  workflows: new Map(
    workflowFiles
      .filter((p) => docs.has(p))
      .map((p) => [p.slice(p.lastIndexOf('/') + 1), { doc: docs.get(p) as Record<string, unknown> }]),
  ),
};

const stats: CheckStats = { actionUses: 0, workflowCalls: 0, outputReads: 0, uncheckedOutputNames: 0 };
for (const [path, doc] of docs) problems.push(...checkWorkflow(relative(ROOT, path), doc, ctx, stats));
problems.push(...checkTemplateProperties(join(ROOT, 'workflows-templates')));
problems.push(
  ...checkConcurrency(
    new Map([...docs].filter(([p]) => p.includes('/.github/workflows/')).map(([p, d]) => [relative(ROOT, p), d])),
    PUBLISHED_AS,
  ),
);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} problem(s) in workflows and starter workflows.`);
  process.exit(1);
}
console.log(
  `${docs.size} workflow(s): ${stats.actionUses} uses of our actions and ${stats.workflowCalls} calls of our workflows match their inputs, secrets and permissions; ` +
    `${stats.outputReads} output reads checked (${stats.uncheckedOutputNames} of them read a run: step or third-party action, whose output names are not declared anywhere).`,
);
