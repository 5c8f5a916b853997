/**
 * Writes the reference part of each action's and reusable workflow's docs page from
 * its action.yml / workflow_call block, between the generated markers; the prose
 * around the markers is written by hand and kept. `--check` fails when a page is out
 * of date or missing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import {
  listActions,
  listReusableWorkflows,
  PUBLISHED_AS,
  PUBLISHED_VERSION,
  ROOT,
  type ActionInfo,
  type WorkflowInfo,
} from './lib/actions.js';

const START = '<!-- generated:start: `npm run docs` rewrites this block; edit the source file instead -->';
const END = '<!-- generated:end -->';
const check = process.argv.includes('--check');

const cell = (text: unknown) =>
  String(text ?? '')
    .trim()
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
const defaultCell = (value: unknown) => (value === undefined || value === '' ? '' : `\`${cell(value)}\``);

function actionBlock(a: ActionInfo): string {
  const inputs = Object.entries(a.meta.inputs ?? {});
  const outputs = Object.entries(a.meta.outputs ?? {});
  const required = inputs.filter(([, s]) => s.required);
  const usage = [`- uses: ${PUBLISHED_AS}/actions/${a.id}@${PUBLISHED_VERSION}`];
  if (required.length > 0) usage.push('  with:', ...required.map(([name]) => `    ${name}: ...`));
  const lines = [
    START,
    `_Source: [\`actions/${a.id}/action.yml\`](../../actions/${a.id}/action.yml)_`,
    '',
    `> ${cell(a.meta.description)}`,
    '',
    '```yaml',
    ...usage,
    '```',
    '',
    '### Inputs',
    '',
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...inputs.map(
      ([name, s]) =>
        `| \`${name}\` | ${s.required ? 'yes' : 'no'} | ${defaultCell(s.default)} | ${cell(s.description)} |`,
    ),
    '',
    '### Outputs',
    '',
    ...(outputs.length === 0
      ? ['None.']
      : [
          '| Output | Description |',
          '| --- | --- |',
          ...outputs.map(([name, s]) => `| \`${name}\` | ${cell(s.description)} |`),
        ]),
    '',
    a.meta.runs.post
      ? `Runs a \`post:\` step (${a.meta.runs['post-if'] ?? 'success()'}) after the job's other steps.`
      : 'No `post:` step.',
    END,
  ];
  return lines.join('\n');
}

type Spec = { description?: string; required?: boolean; default?: unknown; type?: string; value?: string };

function workflowBlock(w: WorkflowInfo): string {
  const call = ((w.doc.on as Record<string, unknown>).workflow_call ?? {}) as Record<
    string,
    Record<string, Spec> | undefined
  >;
  const inputs = Object.entries(call.inputs ?? {});
  const secrets = Object.entries(call.secrets ?? {});
  const outputs = Object.entries(call.outputs ?? {});
  const jobs = Object.entries(
    (w.doc.jobs ?? {}) as Record<string, { name?: string; permissions?: unknown; environment?: unknown }>,
  );
  const perms = (p: unknown) =>
    p === undefined
      ? "inherits the caller's"
      : typeof p === 'string'
        ? `\`${p}\``
        : Object.keys(p as object).length === 0
          ? 'none'
          : Object.entries(p as Record<string, string>)
              .map(([k, v]) => `\`${k}: ${v}\``)
              .join(', ');
  const required = inputs.filter(([, s]) => s.required);
  const usage = [`    uses: ${PUBLISHED_AS}/.github/workflows/${w.id}.yml@${PUBLISHED_VERSION}`];
  if (required.length > 0) usage.push('    with:', ...required.map(([name]) => `      ${name}: ...`));
  const requiredSecrets = secrets.filter(([, s]) => s.required);
  if (requiredSecrets.length > 0)
    usage.push('    secrets:', ...requiredSecrets.map(([name]) => `      ${name}: \${{ secrets.${name} }}`));
  return [
    START,
    `_Source: [\`.github/workflows/${w.id}.yml\`](../../.github/workflows/${w.id}.yml)_`,
    '',
    ...(w.doc.name ? [`> ${cell(w.doc.name)}`, ''] : []),
    '```yaml',
    'jobs:',
    `  ${w.id.replace(/[^\w-]/g, '-')}:`,
    ...usage,
    '```',
    '',
    '### Inputs',
    '',
    ...(inputs.length === 0
      ? ['None.']
      : [
          '| Input | Type | Required | Default | Description |',
          '| --- | --- | --- | --- | --- |',
          ...inputs.map(
            ([n, s]) =>
              `| \`${n}\` | ${s.type ?? ''} | ${s.required ? 'yes' : 'no'} | ${defaultCell(s.default)} | ${cell(s.description)} |`,
          ),
        ]),
    '',
    '### Secrets',
    '',
    ...(secrets.length === 0
      ? ['None.']
      : [
          '| Secret | Required | Description |',
          '| --- | --- | --- |',
          ...secrets.map(([n, s]) => `| \`${n}\` | ${s.required ? 'yes' : 'no'} | ${cell(s.description)} |`),
        ]),
    '',
    '### Outputs',
    '',
    ...(outputs.length === 0
      ? ['None.']
      : [
          '| Output | Description |',
          '| --- | --- |',
          ...outputs.map(([n, s]) => `| \`${n}\` | ${cell(s.description)} |`),
        ]),
    '',
    '### Jobs and permissions',
    '',
    '| Job | Environment | Permissions |',
    '| --- | --- | --- |',
    ...jobs.map(
      ([id, j]) =>
        `| \`${id}\` | ${j.environment ? `\`${cell(typeof j.environment === 'object' ? (j.environment as { name?: string }).name : j.environment)}\`` : ''} | ${perms(j.permissions)} |`,
    ),
    END,
  ].join('\n');
}

function render(path: string, title: string, block: string): string {
  if (!existsSync(path)) return `# ${title}\n\n${block}\n`;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`${relative(ROOT, path)} has no generated block; add the markers:\n${START}\n${END}`);
  return text.slice(0, start) + block + text.slice(end + END.length);
}

const pages: Array<[string, string, string]> = [
  ...listActions().map((a): [string, string, string] => [
    join(ROOT, 'docs', 'actions', `${a.id}.md`),
    a.id,
    actionBlock(a),
  ]),
  ...listReusableWorkflows().map((w): [string, string, string] => [
    join(ROOT, 'docs', 'workflows', `${w.id}.md`),
    `${w.id}.yml (reusable workflow)`,
    workflowBlock(w),
  ]),
];

const stale: string[] = [];
for (const [path, title, block] of pages) {
  const next = render(path, title, block);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (next === current) continue;
  if (check) {
    stale.push(relative(ROOT, path));
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, next);
    console.log(`wrote ${relative(ROOT, path)}`);
  }
}
if (stale.length > 0) {
  console.error(
    `Docs out of date with their action.yml / workflow: ${stale.join(', ')}.\nRun \`npm run docs\` and commit the result.`,
  );
  process.exit(1);
}
if (check) console.log(`${pages.length} docs page(s) match their sources.`);
