import { code, codeBlock, details, escapeText, marker, table } from '../github/markdown.js';
import type { Diagnostic } from './diagnostics.js';
import { describeReason, type Kind, type PlanCounts, type PlannedChange, type PlanSummary } from './summary.js';
import { renderLeaf, UNKNOWN, type AttributeChange } from './values.js';

/** GitHub refuses an issue or PR comment longer than this many characters. */
export const COMMENT_LIMIT = 65_536;

/** The hidden marker of a stack's plan comment (shared by terraform-plan and terraform-apply). */
export function planCommentMarker(stack: string): string {
  return `terraform-plan:${stack}`;
}

/**
 * The commit status terraform-plan sets on a pull request's head commit and
 * terraform-apply reads the reviewed plan-id from: a channel a commenter cannot write.
 */
export function planStatusContext(stack: string): string {
  return `terraform-plan: ${stack}`;
}

/** The status description that carries a plan-id. */
export function planStatusDescription(planId: string): string {
  return `plan-id ${planId}`;
}

/** The plan-id of a status description, exactly as planStatusDescription wrote it. */
export function readPlanStatus(description: string): string | undefined {
  return /^plan-id ([0-9a-f]{64})$/.exec(description)?.[1];
}

export type Measure = (text: string) => number;
export const chars: Measure = (t) => t.length;
export const bytes: Measure = (t) => Buffer.byteLength(t);

const ICON: Record<Kind, string> = {
  create: '🟢',
  update: '🟡',
  delete: '🔴',
  replace: '🟠',
  read: '🔵',
  forget: '⚪',
  'no-op': '⚪',
};
const VERB: Record<Kind, string> = {
  create: 'create',
  update: 'update',
  delete: 'destroy',
  replace: 'replace',
  read: 'read',
  forget: 'forget',
  'no-op': 'no change',
};

export function countsLine(c: PlanCounts): string {
  const parts = [`${c.add} to add`, `${c.change} to change`, `${c.destroy} to destroy`];
  if (c.replace) parts.push(`${c.replace} replaced`);
  if (c.import) parts.push(`${c.import} to import`);
  if (c.move) parts.push(`${c.move} moved`);
  if (c.forget) parts.push(`${c.forget} to forget`);
  if (c.read) parts.push(`${c.read} data reads`);
  if (c.deferred) parts.push(`${c.deferred} deferred`);
  return parts.join(', ');
}

function attributeLine(
  a: AttributeChange,
  forcing: Set<string>,
  width: number,
  showUnknown: boolean,
): string | undefined {
  if (a.before === undefined) {
    if (a.after === UNKNOWN && !showUnknown) return undefined;
    return `  + ${a.path} = ${renderLeaf(a.after, width)}`;
  }
  const note =
    forcing.has(a.path) || [...forcing].some((f) => a.path.startsWith(`${f}.`) || a.path.startsWith(`${f}[`))
      ? '   # forces replacement'
      : '';
  if (a.after === undefined || a.after === null) return `  - ${a.path} = ${renderLeaf(a.before, width)}${note}`;
  return `  ~ ${a.path}: ${renderLeaf(a.before, width)} → ${renderLeaf(a.after, width)}${note}`;
}

/** One resource, as a Markdown list item: the address, what happens and why, then its attributes. */
export function renderChange(c: PlannedChange, detail: 'full' | 'line', width = 120): string {
  const tags: string[] = [];
  if (c.previousAddress) tags.push(`moved from ${code(c.previousAddress)}`);
  if (c.importId !== undefined) tags.push(`import ${code(c.importId)}`);
  if (c.deposed) tags.push(`deposed object ${code(c.deposed)}`);
  if (c.deferredReason) tags.push(`deferred: ${escapeText(c.deferredReason.replace(/_/g, ' ').toLowerCase())}`);
  const verb =
    c.kind === 'replace'
      ? c.actions[0] === 'create'
        ? 'replace (create before destroy)'
        : 'replace (destroy then create)'
      : c.kind === 'no-op'
        ? c.importId !== undefined
          ? 'import'
          : 'move'
        : VERB[c.kind];
  const reason = describeReason(c.reason);
  let line = `- ${ICON[c.kind]} ${code(c.address)} **${verb}**`;
  if (c.protected) line += ' 🛡️ **protected**';
  if (tags.length) line += ` (${tags.join('; ')})`;
  if (reason) line += `: _${escapeText(reason)}_`;
  if (detail === 'line') return `${line}\n`;
  const forcing = new Set(c.replacePaths);
  const attrs = c.attributes
    .map((a) => attributeLine(a, forcing, width, c.kind !== 'create'))
    .filter((l): l is string => l !== undefined);
  if (c.kind === 'create') {
    const unknown = c.attributes.filter((a) => a.after === UNKNOWN).length;
    if (unknown > 0) attrs.push(`  # ${unknown} attribute(s) known after apply`);
  }
  if (c.omittedAttributes > 0) attrs.push(`  # … ${c.omittedAttributes} more attribute(s) not shown`);
  if (attrs.length === 0) return `${line}\n`;
  return `${line}\n\n${codeBlock(attrs.join('\n'), 'diff')
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n')}\n`;
}

interface Section {
  key: string;
  title: string;
  entries: PlannedChange[];
  open: boolean;
}

export function sections(summary: PlanSummary): Section[] {
  const live = summary.changes.filter((c) => c.deferredReason === undefined);
  const make = (key: string, title: string, entries: PlannedChange[], open = false): Section => ({
    key,
    title: `${title} (${entries.length})`,
    entries,
    open,
  });
  return [
    make(
      'destroy',
      '⚠️ Destroy and replace',
      live.filter((c) => c.kind === 'delete' || c.kind === 'replace'),
      true,
    ),
    make(
      'update',
      'Update in place',
      live.filter((c) => c.kind === 'update'),
    ),
    make(
      'create',
      'Create',
      live.filter((c) => c.kind === 'create'),
    ),
    make(
      'other',
      'Move, import, forget, read and deferred',
      summary.changes.filter(
        (c) => c.deferredReason !== undefined || c.kind === 'no-op' || c.kind === 'forget' || c.kind === 'read',
      ),
    ),
  ].filter((s) => s.entries.length > 0);
}

const MORE_RESERVE = 160;

/**
 * A section within `budget`: every entry in full while it fits, then one line per
 * entry, then a count of what is left. Entries are grouped by module.
 */
export function renderSection(section: Section, budget: number, measure: Measure, moreHint: string): string {
  const open = (body: string) => details(`<b>${section.title}</b>`, body, section.open);
  const room = budget - measure(open('')) - MORE_RESERVE;
  const multiModule = new Set(section.entries.map((e) => e.module)).size > 1;
  // Module headings and one-line forms first: showing every entry on one line beats
  // showing a few in full, so full detail is used only while the rest still fits.
  const headings: string[] = [];
  let module: string | undefined;
  for (const entry of section.entries) {
    let heading = '';
    if (multiModule && entry.module !== module) {
      module = entry.module;
      heading = `\n**${module === '' ? 'root module' : escapeText(module)}**\n\n`;
    }
    headings.push(heading);
  }
  const lines = section.entries.map((e, i) => headings[i] + renderChange(e, 'line'));
  const restOfLines = new Array<number>(lines.length + 1).fill(0);
  for (let i = lines.length - 1; i >= 0; i--)
    restOfLines[i] = (restOfLines[i + 1] as number) + measure(lines[i] as string);
  const parts: string[] = [];
  let used = 0;
  let shown = 0;
  for (let i = 0; i < section.entries.length; i++) {
    const full = headings[i] + renderChange(section.entries[i] as PlannedChange, 'full');
    const fullSize = measure(full);
    if (used + fullSize + (restOfLines[i + 1] as number) <= room) {
      parts.push(full);
      used += fullSize;
    } else {
      const lineSize = measure(lines[i] as string);
      if (used + lineSize > room) break;
      parts.push(lines[i] as string);
      used += lineSize;
    }
    shown++;
  }
  const rest = section.entries.length - shown;
  if (rest > 0) parts.push(`\n_… and ${rest} more ${rest === 1 ? 'change' : 'changes'} not shown here: ${moreHint}_\n`);
  return open(parts.join(''));
}

export function renderDiagnostics(diagnostics: Diagnostic[], directory: string): string {
  return diagnostics
    .map((d) => {
      const where = d.file
        ? ` in ${code(`${directory === '.' ? '' : `${directory}/`}${d.file}${d.line !== undefined ? `:${d.line}` : ''}`)}`
        : '';
      const head = `${d.severity === 'error' ? '❌ **Error**' : '⚠️ **Warning**'}: ${escapeText(d.summary)}${where}\n`;
      const body = [d.snippet ? codeBlock(d.snippet, 'hcl') : '', d.detail ? codeBlock(d.detail.slice(0, 4000)) : '']
        .filter(Boolean)
        .join('\n');
      return body ? `${head}\n${body}` : head;
    })
    .join('\n');
}

export interface PlanReport {
  stack: string;
  directory: string;
  binary: string;
  summary?: PlanSummary;
  /** Init, validate or plan errors: the plan did not complete. */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  unformatted: string[];
  /** The destroy guard's verdict, when it applies. */
  guard?: { blocked: boolean; reason: string };
  runUrl?: string;
  /** Appended verbatim (hidden markers with data), if there is room. */
  hidden?: string[];
  /** Lines shown above the plan (the apply status, for example). */
  status?: string;
}

/**
 * The plan as Markdown within `limit` (characters for a comment, bytes for the job
 * summary). Room is given by priority: errors and the destroy guard, then destroys
 * and replacements, then updates, then creates, then the rest; what does not fit is
 * counted, never dropped silently, and the result never exceeds the limit.
 */
export function renderPlan(
  report: PlanReport,
  opts: { limit: number; measure: Measure; markerId?: string; moreHint: string },
): string {
  const { measure, limit } = opts;
  const head: string[] = [];
  if (opts.markerId) head.push(marker(opts.markerId));
  const s = report.summary;
  const title = report.errors.length > 0 ? '❌ failed' : s ? (s.hasChanges ? countsLine(s.counts) : 'no changes') : '';
  head.push(`### Terraform plan: ${code(report.stack)}: ${title}\n`);
  if (report.status) head.push(`${report.status}\n`);
  if (report.guard) head.push(`${report.guard.blocked ? '⛔' : '✅'} ${report.guard.reason}\n`);
  if (report.errors.length > 0) head.push(renderDiagnostics(report.errors, report.directory));
  if (s && s.hasChanges) {
    const c = s.counts;
    head.push(
      table(
        ['Add', 'Change', 'Destroy', 'Replace', 'Import', 'Move', 'Forget', 'Read', 'Deferred'],
        [[c.add, c.change, c.destroy, c.replace, c.import, c.move, c.forget, c.read, c.deferred].map(String)],
      ),
    );
  } else if (s && report.errors.length === 0) {
    head.push('No changes: the infrastructure matches the configuration.\n');
  }
  const foot: string[] = [];
  if (s && s.outputs.length > 0) {
    const rows = s.outputs.map((o) => [
      code(o.name),
      VERB[o.kind],
      o.kind === 'create' ? '' : escapeText(renderLeaf(o.before, 80)),
      o.kind === 'delete' ? '' : escapeText(renderLeaf(o.after, 80)),
    ]);
    foot.push(
      details(
        `Output changes (${s.outputs.length})`,
        table(['Output', 'Change', 'Before', 'After'], rows.slice(0, 50)),
      ),
    );
  }
  if (report.warnings.length > 0)
    foot.push(
      details(
        `Warnings (${report.warnings.length})`,
        renderDiagnostics(report.warnings.slice(0, 10), report.directory),
      ),
    );
  if (report.unformatted.length > 0) {
    foot.push(
      `⚠️ ${report.unformatted.length} file(s) are not formatted (\`${report.binary} fmt\`): ${report.unformatted
        .slice(0, 20)
        .map((f) => code(f))
        .join(', ')}\n`,
    );
  }
  const meta = [
    `${report.binary}${s?.terraformVersion ? ` ${s.terraformVersion}` : ''}`,
    `directory ${code(report.directory)}`,
  ];
  if (s) meta.push(`plan-id ${code(s.planId.slice(0, 16))}`);
  if (report.runUrl) meta.push(`[run](${report.runUrl})`);
  foot.push(`<sub>${meta.join(' · ')}</sub>\n`);
  if (s) foot.push(`${marker(`plan-id:${s.planId}`)}\n`);

  const fixed = [...head, ...foot].join('\n');
  let remaining = limit - measure(fixed) - 64;
  const all = s ? sections(s) : [];
  const rendered: string[] = [];
  all.forEach((section, i) => {
    const reserveForRest = (all.length - i - 1) * (MORE_RESERVE + 120);
    const budget = Math.max(0, remaining - reserveForRest);
    let text = renderSection(section, budget, measure, opts.moreHint);
    // Never silently: a section with no room left is still named and counted.
    if (measure(text) + 1 > remaining) text = `**${section.title}**: not shown here, ${opts.moreHint}.\n`;
    if (measure(text) + 1 <= remaining) {
      rendered.push(text);
      remaining -= measure(text) + 1;
    }
  });
  const hidden: string[] = [];
  for (const h of report.hidden ?? []) {
    if (measure(h) + 1 <= remaining) {
      hidden.push(h);
      remaining -= measure(h) + 1;
    }
  }
  const out = [...head, ...rendered, ...foot, ...hidden].join('\n');
  return out;
}

const STATUS_START = marker('status');
const STATUS_END = marker('status-end');

/**
 * Puts a status block (e.g. "applied in run 42") right under the comment's title,
 * replacing an earlier one, and keeps the comment within GitHub's limit.
 */
export function withStatus(body: string, status: string): string {
  const block = `${STATUS_START}\n${status.trim()}\n${STATUS_END}`;
  let next: string;
  const start = body.indexOf(STATUS_START);
  const end = body.indexOf(STATUS_END);
  if (start >= 0 && end > start) next = body.slice(0, start) + block + body.slice(end + STATUS_END.length);
  else {
    const title = body.indexOf('\n', body.indexOf('### '));
    next = title >= 0 ? `${body.slice(0, title + 1)}\n${block}\n${body.slice(title + 1)}` : `${block}\n\n${body}`;
  }
  return next.length <= COMMENT_LIMIT ? next : `${next.slice(0, COMMENT_LIMIT - 40)}\n\n_(cut at GitHub's limit)_\n`;
}

/** The plan-id and the hidden digest of the reviewed plan, read back from a plan comment. */
export function readPlanComment(body: string): { planId?: string; digest?: string } {
  const id = /<!-- platform-actions:plan-id:([0-9a-f]{64}) -->/.exec(body)?.[1];
  const digest = /<!-- platform-actions:plan-digest:([A-Za-z0-9+/=]+) -->/.exec(body)?.[1];
  return { ...(id ? { planId: id } : {}), ...(digest ? { digest } : {}) };
}
