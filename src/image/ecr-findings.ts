import { dedupe, normaliseSeverity, type Finding, type ScanReport } from './findings.js';

/**
 * ECR's scan findings (DescribeImageScanFindings) in the findings model. The shapes
 * below are the parts of the ECR API's ImageScanFinding and EnhancedImageScanFinding
 * that we read, declared here so the image domain needs no AWS SDK.
 */

export interface EcrBasicFinding {
  name?: string;
  description?: string;
  uri?: string;
  severity?: string;
  attributes?: Array<{ key?: string; value?: string }>;
}

export interface EcrEnhancedFinding {
  title?: string;
  description?: string;
  severity?: string;
  score?: number;
  status?: string;
  type?: string;
  fixAvailable?: string;
  packageVulnerabilityDetails?: {
    vulnerabilityId?: string;
    sourceUrl?: string;
    referenceUrls?: string[];
    cvss?: Array<{ baseScore?: number }>;
    vulnerablePackages?: Array<{
      name?: string;
      version?: string;
      release?: string;
      epoch?: number;
      fixedInVersion?: string;
      filePath?: string;
      packageManager?: string;
      sourceLayerHash?: string;
    }>;
  };
  remediation?: { recommendation?: { text?: string; url?: string } };
}

export interface EcrScanResult {
  repository: string;
  digest: string;
  /** `basic` when the findings came from `findings`, `enhanced` from `enhancedFindings`. */
  mode: 'basic' | 'enhanced';
  completedAt?: string;
  vulnerabilitySourceUpdatedAt?: string;
  findings: EcrBasicFinding[];
  enhancedFindings: EcrEnhancedFinding[];
}

function attribute(f: EcrBasicFinding, key: string): string | undefined {
  return f.attributes?.find((a) => a.key === key)?.value || undefined;
}

/** Inspector writes "NotAvailable" where there is no fixed version. */
function fixedIn(version: string | undefined): string | undefined {
  return version && version !== 'NotAvailable' ? version : undefined;
}

function basic(f: EcrBasicFinding, target: string): Finding | undefined {
  if (!f.name) return undefined;
  const score = Number(attribute(f, 'CVSS3_SCORE') ?? attribute(f, 'CVSS2_SCORE'));
  const pkg = attribute(f, 'package_name');
  const version = attribute(f, 'package_version');
  return {
    kind: 'vulnerability',
    id: f.name,
    severity: normaliseSeverity(f.severity),
    ...(f.description ? { description: f.description } : {}),
    ...(f.uri ? { url: f.uri } : {}),
    ...(pkg ? { package: pkg } : {}),
    ...(version ? { installedVersion: version } : {}),
    // Basic scanning says nothing about fixes: neither "fixed" nor "no fix".
    fixable: 'unknown',
    ...(Number.isFinite(score) && score > 0 ? { cvss: score } : {}),
    target,
  };
}

function enhanced(f: EcrEnhancedFinding, target: string): Finding[] {
  const details = f.packageVulnerabilityDetails;
  const id = details?.vulnerabilityId ?? f.title;
  if (!id || f.status === 'CLOSED') return [];
  const cvss = Math.max(f.score ?? 0, ...(details?.cvss ?? []).map((c) => c.baseScore ?? 0));
  const common = {
    kind: 'vulnerability' as const,
    id,
    severity: normaliseSeverity(f.severity),
    ...(f.title && f.title !== id ? { title: f.title } : {}),
    ...(f.description ? { description: f.description } : {}),
    ...(details?.sourceUrl || f.remediation?.recommendation?.url
      ? { url: details?.sourceUrl ?? f.remediation?.recommendation?.url }
      : {}),
    ...(cvss > 0 ? { cvss } : {}),
    ...(f.status === 'SUPPRESSED' ? { suppressed: true } : {}),
    target,
  };
  const packages = details?.vulnerablePackages ?? [];
  if (packages.length === 0) {
    return [{ ...common, fixable: f.fixAvailable === 'YES' ? 'yes' : f.fixAvailable === 'NO' ? 'no' : 'unknown' }];
  }
  return packages.map((p) => {
    const fixed = fixedIn(p.fixedInVersion);
    const installed = [p.epoch ? `${p.epoch}:` : '', p.version ?? '', p.release ? `-${p.release}` : ''].join('');
    return {
      ...common,
      ...(p.name ? { package: p.name } : {}),
      ...(installed ? { installedVersion: installed } : {}),
      ...(fixed ? { fixedVersion: fixed } : {}),
      fixable: fixed ? 'yes' : f.fixAvailable === 'NO' || p.fixedInVersion === 'NotAvailable' ? 'no' : 'unknown',
      ...(p.filePath ? { target: p.filePath } : {}),
      ...(p.sourceLayerHash ? { layer: p.sourceLayerHash } : {}),
    } satisfies Finding;
  });
}

export function normaliseEcr(result: EcrScanResult): ScanReport {
  const target = `${result.repository}@${result.digest}`;
  const findings =
    result.mode === 'enhanced'
      ? result.enhancedFindings.flatMap((f) => enhanced(f, target))
      : result.findings.map((f) => basic(f, target)).filter((f): f is Finding => f !== undefined);
  const notes: string[] = [];
  if (result.mode === 'basic' && findings.length > 0) {
    notes.push(
      'ECR basic scanning does not report fixed versions: only-fixed cannot tell fixable findings from the rest, so every finding counts.',
    );
  }
  if (result.vulnerabilitySourceUpdatedAt)
    notes.push(`Vulnerability data as of ${result.vulnerabilitySourceUpdatedAt}.`);
  return {
    source: result.mode === 'enhanced' ? 'ecr-enhanced' : 'ecr-basic',
    scanner: {
      name: result.mode === 'enhanced' ? 'Amazon Inspector (ECR enhanced scanning)' : 'Amazon ECR basic scanning',
    },
    artifact: target,
    digests: [result.digest],
    ...(result.completedAt ? { createdAt: result.completedAt } : {}),
    findings: dedupe(findings),
    notes,
  };
}
