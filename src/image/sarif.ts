import { createHash } from 'node:crypto';
import { findingKey, type ScanReport, type Severity } from './findings.js';
import type { GateResult, JudgedFinding } from './gate.js';

/**
 * SARIF 2.1.0 for GitHub code scanning, from the gate's view of the findings. Unlike
 * trivy-action (which writes every severity whatever `severity` says), the file holds
 * what the policy looks at: severities in fail-on (all of them when fail-on is none),
 * new findings only when a baseline is set. Ignored findings are included as
 * suppressed results carrying the ignore reason, so reviewers see what was accepted.
 */

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** GitHub maps security-severity to its labels: ≥9 critical, ≥7 high, ≥4 medium, >0 low. */
const SECURITY_SEVERITY: Partial<Record<Severity, string>> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
};

type Level = 'error' | 'warning' | 'note';

function levelOf(f: JudgedFinding): Level {
  if (f.verdict === 'failing') return 'error';
  return f.severity === 'CRITICAL' || f.severity === 'HIGH' || f.severity === 'MEDIUM' ? 'warning' : 'note';
}

function isUri(text: string | undefined): text is string {
  if (!text) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function ruleName(f: JudgedFinding): string {
  return f.kind === 'vulnerability'
    ? 'PackageVulnerability'
    : f.kind === 'misconfiguration'
      ? 'Misconfiguration'
      : 'Secret';
}

function describe(f: JudgedFinding): string {
  const lines = [`${f.id} (${f.severity})`];
  if (f.package) lines.push(`Package: ${f.package} ${f.installedVersion ?? ''}`.trimEnd());
  if (f.kind === 'vulnerability')
    lines.push(
      f.fixedVersion
        ? `Fixed in: ${f.fixedVersion}`
        : f.fixable === 'no'
          ? 'No fix available yet'
          : 'Fix status not reported by the scanner',
    );
  else if (f.fixedVersion) lines.push(`Resolution: ${f.fixedVersion}`);
  if (f.title) lines.push(f.title);
  lines.push(`Target: ${f.target}`);
  if (f.verdict === 'ignored' && f.ignore) lines.push(`Ignored: ${f.ignore.reason}`);
  if (f.ignore?.expired) lines.push(`An ignore entry (line ${f.ignore.line}) expired on ${f.ignore.expires}.`);
  return lines.join('\n');
}

export interface SarifOptions {
  /** Repository path of the image (`acme/web`): the location of image findings. */
  imagePath: string;
  /** Our version, for tool.driver.version. */
  toolVersion: string;
}

export function toSarif(report: ScanReport, gate: GateResult, failOn: Severity[], options: SarifOptions): object {
  const wanted = new Set(failOn);
  const included = gate.findings.filter(
    (f) => f.verdict !== 'baseline' && (wanted.size === 0 || wanted.has(f.severity)),
  );

  const rules: object[] = [];
  const ruleIndex = new Map<string, number>();
  for (const f of included) {
    if (ruleIndex.has(f.id)) continue;
    ruleIndex.set(f.id, rules.length);
    const securitySeverity = SECURITY_SEVERITY[f.severity];
    rules.push({
      id: f.id,
      name: ruleName(f),
      shortDescription: { text: f.title ?? f.id },
      fullDescription: { text: f.description ?? f.title ?? f.id },
      ...(isUri(f.url) ? { helpUri: f.url } : {}),
      help: {
        text: `${f.id}: ${f.title ?? f.description ?? ''}`.trim(),
        markdown: `**${f.id}** (${f.severity})${isUri(f.url) ? ` [details](${f.url})` : ''}\n\n${f.description ?? f.title ?? ''}`,
      },
      defaultConfiguration: {
        level:
          f.severity === 'CRITICAL' || f.severity === 'HIGH' ? 'error' : f.severity === 'MEDIUM' ? 'warning' : 'note',
      },
      properties: {
        tags: ['security', f.kind, f.severity],
        precision: 'very-high',
        ...(securitySeverity ? { 'security-severity': securitySeverity } : {}),
      },
    });
  }

  const results = included.map((f) => {
    const path = f.location?.path ?? options.imagePath;
    const region = f.location?.startLine
      ? { startLine: f.location.startLine, ...(f.location.endLine ? { endLine: f.location.endLine } : {}) }
      : { startLine: 1 };
    return {
      ruleId: f.id,
      ruleIndex: ruleIndex.get(f.id) as number,
      level: levelOf(f),
      message: { text: describe(f) },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: path }, region },
          message: { text: f.package ? `${f.target}: ${f.package}@${f.installedVersion ?? '?'}` : f.target },
        },
      ],
      partialFingerprints: { 'imageScanFinding/v1': createHash('sha256').update(findingKey(f)).digest('hex') },
      ...(f.verdict === 'ignored' || f.verdict === 'suppressed'
        ? {
            suppressions: [
              {
                kind: 'external',
                status: 'accepted',
                justification:
                  f.verdict === 'suppressed' ? 'Suppressed by a rule in the scanner' : (f.ignore?.reason ?? 'Ignored'),
              },
            ],
          }
        : {}),
      properties: {
        severity: f.severity,
        verdict: f.verdict,
        fixable: f.fixable,
        ...(f.package ? { package: f.package } : {}),
        ...(f.installedVersion ? { installedVersion: f.installedVersion } : {}),
        ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
        ...(f.cvss !== undefined ? { cvss: f.cvss } : {}),
      },
    };
  });

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'platform-actions image-scan',
            informationUri: 'https://github.com/org/platform-actions/blob/main/docs/actions/image-scan.md',
            version: options.toolVersion,
            rules,
            properties: {
              scanner: report.scanner.name,
              ...(report.scanner.version ? { scannerVersion: report.scanner.version } : {}),
            },
          },
        },
        automationDetails: { id: `image-scan/${options.imagePath}/` },
        columnKind: 'utf16CodeUnits',
        results,
        properties: {
          passed: gate.passed,
          failOn: failOn.length === 0 ? ['none'] : failOn,
          ...(report.artifact ? { artifact: report.artifact } : {}),
        },
      },
    ],
  };
}
