import { code, details, escapeText, facts, heading, table } from '../github/markdown.js';
import { SEVERITIES, type ScanReport, type Severity } from './findings.js';
import type { GateResult, JudgedFinding } from './gate.js';

/** The normalised report image-scan writes (the `report` output), versioned by `schema`. */
export const REPORT_SCHEMA = 'platform-actions/image-scan-report/v1';

export interface ScanContext {
  image?: string;
  scanner: string;
  failOn: Severity[];
  onlyFixed: boolean;
  baseline?: string;
  ignoreFile?: string;
}

export function normalisedReport(ctx: ScanContext, report: ScanReport, gate: GateResult, generatedAt: Date): object {
  return {
    schema: REPORT_SCHEMA,
    generatedAt: generatedAt.toISOString(),
    image: ctx.image ?? null,
    scanner: { input: ctx.scanner, ...report.scanner },
    source: report.source,
    artifact: report.artifact ?? null,
    scannedAt: report.createdAt ?? null,
    os: report.os ?? null,
    policy: {
      failOn: ctx.failOn,
      onlyFixed: ctx.onlyFixed,
      baseline: ctx.baseline ?? null,
      ignoreFile: ctx.ignoreFile ?? null,
    },
    passed: gate.passed,
    counts: gate.counts,
    failingCounts: gate.failingCounts,
    newFindings: gate.newFindings,
    notes: report.notes,
    findings: gate.findings,
    expiredIgnores: gate.expired.map((e) => ({
      id: e.entry.id,
      package: e.entry.package ?? null,
      reason: e.entry.reason,
      expires: e.entry.expires,
      line: e.entry.line,
      matched: e.matched,
    })),
    unusedIgnores: gate.unused.map((e) => ({ id: e.id, package: e.package ?? null, line: e.line })),
  };
}

const MAX_ROWS = 100;

function findingRows(findings: JudgedFinding[]): string[][] {
  return findings
    .slice(0, MAX_ROWS)
    .map((f) => [
      f.url ? `[${escapeText(f.id)}](${f.url})` : code(f.id),
      f.severity,
      f.package
        ? code(f.package)
        : escapeText(
            f.location ? `${f.location.path}${f.location.startLine ? `:${f.location.startLine}` : ''}` : f.target,
          ),
      f.installedVersion ? code(f.installedVersion) : '',
      f.fixedVersion
        ? code(f.fixedVersion)
        : f.fixable === 'no'
          ? 'none yet'
          : f.fixable === 'unknown'
            ? 'not reported'
            : '',
      escapeText((f.title ?? '').slice(0, 120)),
    ]);
}

function more(findings: unknown[]): string {
  return findings.length > MAX_ROWS ? `\n_${findings.length - MAX_ROWS} more in the report file._\n` : '';
}

export function scanSummary(ctx: ScanContext, report: ScanReport, gate: GateResult): string {
  const verdict = gate.passed
    ? '✅ passed'
    : `❌ failed: ${gate.failing.length} finding(s) at ${ctx.failOn.join(', ')}`;
  const out: string[] = [heading(`Image scan ${verdict}`)];
  out.push(
    facts([
      ...(ctx.image ? [['Image', code(ctx.image)] as [string, string]] : []),
      [
        'Scanner',
        `${escapeText(report.scanner.name)}${report.scanner.version ? ` ${escapeText(report.scanner.version)}` : ''}`,
      ],
      [
        'Policy',
        `fail on ${ctx.failOn.length ? ctx.failOn.join(', ') : 'nothing'}${ctx.onlyFixed ? ', only fixable findings' : ''}${ctx.ignoreFile ? `, ignores from ${code(ctx.ignoreFile)}` : ''}`,
      ],
      ...(ctx.baseline
        ? [['Baseline', `${code(ctx.baseline)}: ${gate.newFindings} new finding(s)`] as [string, string]]
        : []),
    ]),
  );
  const severities = SEVERITIES.filter((s) => gate.counts[s] > 0 || ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'].includes(s));
  const byVerdict = (s: Severity, v: JudgedFinding['verdict'][]) =>
    gate.findings.filter((f) => f.severity === s && v.includes(f.verdict)).length;
  out.push(
    '\n' +
      table(
        ['Severity', 'Found', 'Failing', 'Ignored', 'No fix yet', ...(gate.baselineUsed ? ['In baseline'] : [])],
        severities.map((s) => [
          s,
          String(gate.counts[s]),
          String(gate.failingCounts[s]),
          String(byVerdict(s, ['ignored', 'suppressed'])),
          String(gate.findings.filter((f) => f.severity === s && f.fixable === 'no').length),
          ...(gate.baselineUsed ? [String(byVerdict(s, ['baseline']))] : []),
        ]),
      ),
  );
  const header = ['Finding', 'Severity', 'Package / location', 'Installed', 'Fixed in', 'Title'];
  if (gate.failing.length > 0) {
    out.push(
      heading('Findings that failed the gate', 4) + table(header, findingRows(gate.failing)) + more(gate.failing),
    );
  }
  if (gate.expired.length > 0) {
    out.push(
      heading('Expired ignore entries (no longer ignoring)', 4) +
        table(
          ['Id', 'Package', 'Expired', 'Findings it matched', 'Reason', 'Line'],
          gate.expired.map((e) => [
            code(e.entry.id),
            e.entry.package ? code(e.entry.package) : 'any',
            e.entry.expires ?? '',
            String(e.matched),
            escapeText(e.entry.reason),
            String(e.entry.line),
          ]),
        ),
    );
  }
  if (gate.ignored.length > 0) {
    out.push(
      details(
        `Ignored findings (${gate.ignored.length})`,
        table(
          ['Finding', 'Severity', 'Package', 'Reason', 'Expires'],
          gate.ignored
            .slice(0, MAX_ROWS)
            .map((f) => [
              code(f.id),
              f.severity,
              f.package ? code(f.package) : '',
              escapeText(f.verdict === 'suppressed' ? 'suppressed in the scanner' : (f.ignore?.reason ?? '')),
              f.ignore?.expires ?? (f.verdict === 'ignored' ? 'never' : ''),
            ]),
        ) + more(gate.ignored),
      ),
    );
  }
  if (gate.unused.length > 0) {
    out.push(
      `\n_Ignore entries that matched nothing (remove them?): ${gate.unused.map((e) => `${code(e.id)} (line ${e.line})`).join(', ')}._\n`,
    );
  }
  const others = gate.findings.filter((f) => f.verdict === 'below-threshold' || f.verdict === 'unfixed');
  if (others.length > 0)
    out.push(
      details(`Other findings, not failing (${others.length})`, table(header, findingRows(others)) + more(others)),
    );
  if (report.notes.length > 0) out.push('\n' + report.notes.map((n) => `> ${escapeText(n)}`).join('\n>\n') + '\n');
  return out.join('\n');
}
