import { UserError } from '../util/errors.js';
import { dedupe, normaliseSeverity, type Finding, type ScanReport } from './findings.js';

/**
 * Reads Trivy's JSON output of any age into the findings model:
 * - SchemaVersion 2 with `Trivy.Version` (0.50 and later),
 * - SchemaVersion 2 with `CreatedAt` (0.20 to 0.49),
 * - a bare array of results (before 0.20),
 * - any of those without `Results` (nothing scannable was found).
 */

type Json = Record<string, unknown>;

interface TrivyVulnerability {
  VulnerabilityID?: unknown;
  PkgName?: unknown;
  PkgIdentifier?: { PURL?: unknown };
  InstalledVersion?: unknown;
  FixedVersion?: unknown;
  Status?: unknown;
  Severity?: unknown;
  Title?: unknown;
  Description?: unknown;
  PrimaryURL?: unknown;
  CVSS?: Record<string, { V2Score?: unknown; V3Score?: unknown; V40Score?: unknown }>;
  Layer?: { Digest?: unknown; DiffID?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function highestCvss(cvss: TrivyVulnerability['CVSS']): number | undefined {
  if (!isObject(cvss)) return undefined;
  let best: number | undefined;
  for (const source of Object.values(cvss)) {
    if (!isObject(source)) continue;
    for (const score of [source.V40Score, source.V3Score, source.V2Score]) {
      const n = num(score);
      if (n !== undefined && (best === undefined || n > best)) best = n;
    }
  }
  return best;
}

/** Parses a report's text; `what` names the file in errors. */
export function parseTrivyReport(text: string, what: string): ScanReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${what} is not JSON: ${(err as Error).message}.`,
      'Produce it with `trivy image --format json --output FILE IMAGE`.',
    );
  }
  return normaliseTrivy(doc, what);
}

export function normaliseTrivy(doc: unknown, what: string): ScanReport {
  const notes: string[] = [];
  let results: unknown;
  let meta: Json = {};
  let version: string | undefined;
  let createdAt: string | undefined;
  let artifact: string | undefined;

  if (Array.isArray(doc)) {
    results = doc;
    notes.push('Report in the format of Trivy before 0.20 (a bare list of results).');
  } else if (isObject(doc)) {
    if ('runs' in doc && 'version' in doc) {
      throw new UserError(
        `${what} is a SARIF file, not a Trivy JSON report.`,
        'Run Trivy with `--format json`; image-scan writes SARIF itself (sarif-file).',
      );
    }
    if (!('SchemaVersion' in doc) && !('Results' in doc) && !('ArtifactName' in doc)) {
      throw new UserError(
        `${what} does not look like a Trivy JSON report (no SchemaVersion, ArtifactName or Results).`,
        'Produce it with `trivy image --format json --output FILE IMAGE`.',
      );
    }
    const schema = doc.SchemaVersion;
    if (schema !== undefined && schema !== 2)
      notes.push(`Trivy report SchemaVersion ${String(schema)}; read as version 2.`);
    results = doc.Results;
    meta = isObject(doc.Metadata) ? doc.Metadata : {};
    version = isObject(doc.Trivy) ? str(doc.Trivy.Version) : undefined;
    createdAt = str(doc.CreatedAt);
    artifact = str(doc.ArtifactName);
  } else {
    throw new UserError(`${what} does not hold a Trivy report (expected a JSON object).`);
  }

  if (results === undefined || results === null) {
    notes.push(
      'The report has no Results: Trivy found nothing it could scan (no OS packages or lock files), so there are no findings.',
    );
    results = [];
  }
  if (!Array.isArray(results)) throw new UserError(`${what}: Results is not a list.`);

  const findings: Finding[] = [];
  results.forEach((result: unknown, i) => {
    if (!isObject(result)) throw new UserError(`${what}: Results[${i}] is not an object.`);
    const target = str(result.Target) ?? '(unknown target)';
    const vulns = result.Vulnerabilities ?? [];
    if (!Array.isArray(vulns)) throw new UserError(`${what}: Results[${i}].Vulnerabilities is not a list.`);
    vulns.forEach((v: TrivyVulnerability, j) => {
      const id = str(v?.VulnerabilityID);
      if (!id) throw new UserError(`${what}: Results[${i}].Vulnerabilities[${j}] has no VulnerabilityID.`);
      const fixedVersion = str(v.FixedVersion);
      const cvss = highestCvss(v.CVSS);
      const layer = isObject(v.Layer) ? (str(v.Layer.Digest) ?? str(v.Layer.DiffID)) : undefined;
      findings.push({
        kind: 'vulnerability',
        id,
        severity: normaliseSeverity(str(v.Severity)),
        ...(str(v.Title) ? { title: str(v.Title) } : {}),
        ...(str(v.Description) ? { description: str(v.Description) } : {}),
        ...(str(v.PrimaryURL) ? { url: str(v.PrimaryURL) } : {}),
        ...(str(v.PkgName) ? { package: str(v.PkgName) } : {}),
        ...(isObject(v.PkgIdentifier) && str(v.PkgIdentifier.PURL) ? { purl: str(v.PkgIdentifier.PURL) } : {}),
        ...(str(v.InstalledVersion) ? { installedVersion: str(v.InstalledVersion) } : {}),
        ...(fixedVersion ? { fixedVersion } : {}),
        // Trivy leaves FixedVersion empty when no fix exists (Status affected,
        // will_not_fix, fix_deferred, end_of_life; or no Status in older reports).
        fixable: fixedVersion ? 'yes' : 'no',
        ...(cvss !== undefined ? { cvss } : {}),
        target,
        ...(layer ? { layer } : {}),
      });
    });
    const misconfigs = result.Misconfigurations ?? [];
    if (!Array.isArray(misconfigs)) throw new UserError(`${what}: Results[${i}].Misconfigurations is not a list.`);
    for (const m of misconfigs as Json[]) {
      if (!isObject(m) || (str(m.Status) ?? 'FAIL') !== 'FAIL') continue;
      const id = str(m.AVDID) ?? str(m.ID);
      if (!id) continue;
      const cause = isObject(m.CauseMetadata) ? m.CauseMetadata : {};
      findings.push({
        kind: 'misconfiguration',
        id,
        severity: normaliseSeverity(str(m.Severity)),
        ...(str(m.Title) ? { title: str(m.Title) } : {}),
        ...((str(m.Message) ?? str(m.Description)) ? { description: str(m.Message) ?? str(m.Description) } : {}),
        ...(str(m.PrimaryURL) ? { url: str(m.PrimaryURL) } : {}),
        ...(str(m.Resolution) ? { fixedVersion: str(m.Resolution) } : {}),
        fixable: 'yes',
        target,
        location: {
          path: target,
          ...(num(cause.StartLine) ? { startLine: num(cause.StartLine) } : {}),
          ...(num(cause.EndLine) ? { endLine: num(cause.EndLine) } : {}),
        },
      });
    }
    const secrets = result.Secrets ?? [];
    if (!Array.isArray(secrets)) throw new UserError(`${what}: Results[${i}].Secrets is not a list.`);
    for (const s of secrets as Json[]) {
      const id = isObject(s) ? str(s.RuleID) : undefined;
      if (!id) continue;
      findings.push({
        kind: 'secret',
        id,
        severity: normaliseSeverity(str(s.Severity)),
        ...(str(s.Title) ? { title: str(s.Title) } : {}),
        ...(str(s.Category) ? { description: `${str(s.Category)} secret` } : {}),
        fixable: 'yes',
        target,
        location: {
          path: target,
          ...(num(s.StartLine) ? { startLine: num(s.StartLine) } : {}),
          ...(num(s.EndLine) ? { endLine: num(s.EndLine) } : {}),
        },
      });
    }
    if (Array.isArray(result.Licenses) && result.Licenses.length > 0) {
      notes.push(`${target}: ${result.Licenses.length} license finding(s) are not vulnerabilities and are not gated.`);
    }
  });

  const os = isObject(meta.OS) ? [str(meta.OS.Family), str(meta.OS.Name)].filter(Boolean).join(' ') : '';
  const digests = Array.isArray(meta.RepoDigests)
    ? (meta.RepoDigests as unknown[]).map(str).filter((d): d is string => Boolean(d))
    : [];
  return {
    source: 'trivy',
    scanner: { name: 'Trivy', ...(version ? { version } : {}) },
    ...(artifact ? { artifact } : {}),
    digests,
    ...(createdAt ? { createdAt } : {}),
    ...(os ? { os } : {}),
    findings: dedupe(findings),
    notes,
  };
}
