import { UserError } from '../util/errors.js';

/**
 * One findings model for every scanner (Trivy JSON of any age, ECR basic and enhanced
 * findings). The gate, the SARIF writer, the summary and the normalised report all
 * work on this model only, never on a scanner's own format.
 */

/** Most to least severe. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Scanner spellings that mean one of ours. */
const SEVERITY_ALIASES: Record<string, Severity> = {
  UNDEFINED: 'UNKNOWN', // ECR basic scanning
  UNTRIAGED: 'UNKNOWN', // Amazon Inspector (ECR enhanced scanning)
  NEGLIGIBLE: 'LOW',
  INFO: 'INFORMATIONAL',
};

/** A scanner's severity word in our terms; anything unrecognised is UNKNOWN. */
export function normaliseSeverity(text: string | undefined): Severity {
  const upper = (text ?? '').trim().toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(upper)) return upper as Severity;
  return SEVERITY_ALIASES[upper] ?? 'UNKNOWN';
}

/** A severity a user wrote (in fail-on): unlike scanner output, a typo is an error. */
export function parseSeverity(text: string, what: string): Severity {
  const upper = text.trim().toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(upper)) return upper as Severity;
  if (SEVERITY_ALIASES[upper]) return SEVERITY_ALIASES[upper];
  throw new UserError(
    `${what}: '${text}' is not a severity.`,
    `Use any of ${SEVERITIES.join(', ')} (comma separated), or 'none' to never fail.`,
  );
}

export type FindingKind = 'vulnerability' | 'misconfiguration' | 'secret';

/**
 * Whether upgrading fixes it: `yes` (a fixed version exists), `no` (the scanner knows
 * there is none yet) or `unknown` (the scanner does not say: ECR basic scanning).
 */
export type Fixable = 'yes' | 'no' | 'unknown';

export interface Finding {
  kind: FindingKind;
  /** CVE-..., GHSA-..., a misconfiguration check id (AVD-AWS-0086) or a secret rule id. */
  id: string;
  severity: Severity;
  title?: string;
  description?: string;
  url?: string;
  /** Package name for vulnerabilities. */
  package?: string;
  purl?: string;
  installedVersion?: string;
  fixedVersion?: string;
  fixable: Fixable;
  /** Highest CVSS base score the scanner gave, if any. */
  cvss?: number;
  /** What was scanned: an OS (`alpine 3.10.9`), a lock file, a source file. */
  target: string;
  /** File and lines, for misconfigurations and secrets. */
  location?: { path: string; startLine?: number; endLine?: number };
  /** Layer digest the package came from, when known. */
  layer?: string;
  /** Suppressed by the scanner itself (Amazon Inspector suppression rules). */
  suppressed?: boolean;
}

export interface ScanReport {
  /** Where the findings came from: `trivy`, `ecr-basic`, `ecr-enhanced`. */
  source: 'trivy' | 'ecr-basic' | 'ecr-enhanced';
  /** Scanner name and version as it reported them. */
  scanner: { name: string; version?: string };
  /** What the scanner said it scanned (ArtifactName, repository@digest). */
  artifact?: string;
  /** Digests the scanner associated with the artifact (RepoDigests, ECR imageDigest). */
  digests: string[];
  /** When the scanner produced it, if it says. */
  createdAt?: string;
  /** Operating system, when the scanner reports it. */
  os?: string;
  findings: Finding[];
  /** Notes about the report itself (e.g. "no Results: nothing scannable"). */
  notes: string[];
}

/** Identity of a finding across scans of different images (for baselines and ignores). */
export function findingKey(f: Finding): string {
  return [f.kind, f.id.toUpperCase(), f.package ?? f.location?.path ?? f.target].join('|');
}

/** Identity within one report: the same finding listed twice is one finding. */
function instanceKey(f: Finding): string {
  return [findingKey(f), f.installedVersion ?? '', f.target, f.location?.startLine ?? ''].join('|');
}

export function dedupe(findings: Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of findings) {
    const key = instanceKey(f);
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()];
}

export type Counts = Record<Severity, number>;

export function countBySeverity(findings: Finding[]): Counts {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Counts;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Most severe first, then by id and package: a stable order for tables and files. */
export function sortFindings<T extends Finding>(findings: T[]): T[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      a.id.localeCompare(b.id) ||
      (a.package ?? '').localeCompare(b.package ?? '') ||
      a.target.localeCompare(b.target),
  );
}
