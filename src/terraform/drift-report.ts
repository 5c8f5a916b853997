import { code, details, escapeText, marker, table } from '../github/markdown.js';
import { renderDiagnostics } from './render.js';
import { driftFingerprint, type StackReport } from './drift.js';

export function driftIssueMarker(stack: string): string {
  return `terraform-drift:${stack}`;
}

export function fingerprintMarker(report: StackReport): string {
  return marker(`drift-fingerprint:${driftFingerprint(report)}`);
}

const cell = (text: string) => escapeText(text.length > 120 ? `${text.slice(0, 119)}…` : text);

/** The drifted resources and pending changes of one stack, within `limit` characters. */
export function renderStackDrift(report: StackReport, limit: number): string {
  const parts: string[] = [];
  let used = 0;
  let omitted = 0;
  const push = (text: string) => {
    if (used + text.length > limit) {
      omitted++;
      return;
    }
    parts.push(text);
    used += text.length;
  };
  if (report.drift.length > 0) {
    push(`#### Changed outside Terraform (${report.drift.length})\n\n`);
    for (const d of report.drift) {
      if (d.change === 'deleted') {
        push(`- ${code(d.address)}: **deleted** outside Terraform\n`);
        continue;
      }
      const rows = d.attributes.slice(0, 50).map((a) => [code(a.path), cell(a.before), cell(a.after)]);
      push(
        `- ${code(d.address)}: ${d.attributes.length} attribute(s) changed\n\n${table(['Attribute', 'In the state', 'Now'], rows)}\n`,
      );
    }
  }
  const config = report.pending.filter((p) => !p.revertsDrift);
  const reverts = report.pending.filter((p) => p.revertsDrift);
  if (config.length > 0) {
    push(`#### Configuration not yet applied (${config.length})\n\n`);
    for (const p of config)
      push(
        `- ${code(p.address)}: ${p.kind}${p.attributes.length ? ` (${p.attributes.slice(0, 10).map(code).join(', ')})` : ''}\n`,
      );
    push('\n');
  }
  if (reverts.length > 0)
    push(`A plain \`apply\` would undo the drift of ${reverts.map((p) => code(p.address)).join(', ')}.\n\n`);
  const ignored = report.ignored ?? [];
  if (ignored.length > 0) push(renderIgnored(ignored));
  if (report.errors.length > 0) push(renderDiagnostics(report.errors, report.directory));
  if (omitted > 0) push(`\n_… ${omitted} more item(s) not shown: see the JSON report of the run._\n`);
  return parts.join('');
}

const REASON = { ignore_changes: '`ignore_changes`', computed: 'set by the provider' } as const;

/** Changes outside Terraform that are not drift, one line per resource. */
function renderIgnored(ignored: NonNullable<StackReport['ignored']>): string {
  const lines = ignored.map((r) => {
    const reasons = [...new Set(r.attributes.map((a) => REASON[a.reason]))].join(', ');
    const paths = r.attributes
      .slice(0, 6)
      .map((a) => code(a.path))
      .join(', ');
    return `- ${code(r.address)}: ${paths}${r.attributes.length > 6 ? ` and ${r.attributes.length - 6} more` : ''} (${reasons})\n`;
  });
  return `#### Changed outside Terraform, not drift (${ignored.length})\n\nThe configuration leaves these to others (\`lifecycle { ignore_changes }\`), or only the provider sets them:\n\n${lines.join('')}\n`;
}

/** The body of a stack's drift issue: marker, fingerprint, what drifted, what to do. */
export function renderDriftIssue(report: StackReport, runLink: string, binary: string): string {
  const head = [
    marker(driftIssueMarker(report.stack)),
    fingerprintMarker(report),
    `Drift detected in ${code(report.stack)} (${code(report.directory)}) by ${runLink}: ${report.drift.length} resource(s) changed outside ${binary === 'tofu' ? 'OpenTofu' : 'Terraform'}.`,
    '',
  ].join('\n');
  const advice = [
    '#### What to do',
    '',
    `- To undo the drift, apply the configuration (\`${binary} plan\` shows what it would change back).`,
    `- To keep the change, put it into the configuration, or accept the new values into the state with \`${binary} apply -refresh-only\`.`,
    '',
    'This issue is updated when the drift changes and closed when the stack is clean again.',
    '',
  ].join('\n');
  return `${head}\n${renderStackDrift(report, 60_000 - head.length - advice.length)}\n${advice}`;
}

/** The job summary for all stacks. */
export function renderDriftSummary(reports: StackReport[], issues: Map<string, string>): string {
  const icon = { clean: '✅ clean', drifted: '⚠️ drifted', error: '❌ error' } as const;
  const rows = reports.map((r) => [
    code(r.stack),
    icon[r.status],
    String(r.drift.length),
    String(r.pending.filter((p) => !p.revertsDrift).length),
    issues.get(r.stack) ?? '',
  ]);
  const body = reports
    .filter((r) => r.status !== 'clean' || (r.ignored ?? []).length > 0)
    .map((r) => details(`${code(r.stack)}: ${icon[r.status]}`, renderStackDrift(r, 100_000), r.status !== 'clean'))
    .join('\n');
  return `### Terraform drift\n\n${table(['Stack', 'Status', 'Drifted resources', 'Pending config changes', 'Issue'], rows)}\n${body}`;
}
