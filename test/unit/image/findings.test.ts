import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseEcr } from '../../../src/image/ecr-findings.js';
import { countBySeverity, parseSeverity, type Finding, type ScanReport } from '../../../src/image/findings.js';
import { evaluate, type Policy } from '../../../src/image/gate.js';
import { parseIgnoreFile } from '../../../src/image/ignore.js';
import { toSarif } from '../../../src/image/sarif.js';
import { parseTrivyReport } from '../../../src/image/trivy-report.js';
import { ROOT } from '../../support/runner.js';
import { sarifErrors } from '../../support/sarif.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'trivy');
const load = (name: string): ScanReport => parseTrivyReport(readFileSync(join(FIXTURES, name), 'utf8'), name);
const NOW = new Date('2026-11-21T12:00:00Z');
const policy = (p: Partial<Policy> = {}): Policy => ({
  failOn: ['CRITICAL', 'HIGH'],
  onlyFixed: true,
  ignores: [],
  now: NOW,
  ...p,
});
const ids = (fs: Finding[]) => fs.map((f) => `${f.id}/${f.package ?? f.target}`).sort();

describe('Trivy reports of every age in one model', () => {
  it('reads the current format (Trivy 0.72) with package, fix, CVSS, layer and digest', () => {
    const r = load('image-alpine-3.10-v0.72.json');
    expect(r.scanner).toEqual({ name: 'Trivy', version: '0.72.0' });
    expect(r.digests).toEqual(['alpine@sha256:451eee8bedcb2f029756dc3e9d73bab0e7943c1ac55cff3a4861c52a0fdd3e98']);
    expect(r.os).toBe('alpine 3.10.9');
    expect(r.findings).toEqual([
      expect.objectContaining({
        kind: 'vulnerability',
        id: 'CVE-2021-36159',
        severity: 'CRITICAL',
        package: 'apk-tools',
        installedVersion: '2.10.6-r0',
        fixedVersion: '2.10.7-r0',
        fixable: 'yes',
        cvss: 9.1,
        purl: 'pkg:apk/alpine/apk-tools@2.10.6-r0?arch=x86_64&distro=3.10.9',
        layer: 'sha256:396c31837116ac290458afcb928f68b6cc1c7bdd6963fc72f52f365a2a89c1b5',
      }),
    ]);
  });

  it('reads the CreatedAt format, with unfixed findings marked as such', () => {
    const centos = load('centos-7.legacy.json');
    expect(centos.createdAt).toBe('2021-08-25T12:20:30.000000005Z');
    expect(countBySeverity(centos.findings)).toMatchObject({ MEDIUM: 1, LOW: 2, CRITICAL: 0 });
    expect(centos.findings.find((f) => f.id === 'CVE-2019-18276')).toMatchObject({ package: 'bash', fixable: 'no' });
    expect(ids(load('distroless-base.legacy.json').findings)).toEqual([
      'CVE-2019-1551/libssl1.1',
      'CVE-2019-1551/openssl',
      'CVE-2019-1563/libssl1.1',
      'CVE-2019-1563/openssl',
    ]);
  });

  it('reads reports without Results and the bare list of Trivy before 0.20', () => {
    const empty = load('no-results.json');
    expect(empty.findings).toEqual([]);
    expect(empty.notes.join(' ')).toContain('no Results');
    const old = load('bare-array.pre-0.20.json');
    expect(ids(old.findings)).toEqual(['CVE-2019-1549/libcrypto1.1', 'CVE-2019-1551/libcrypto1.1']);
    expect(old.notes.join(' ')).toContain('before 0.20');
  });

  it('reads misconfiguration and secret findings with their file locations', () => {
    const config = load('config-scan.json');
    expect(config.findings).toHaveLength(8);
    expect(config.findings.every((f) => f.kind === 'misconfiguration' && f.location?.path === 'main.tf')).toBe(true);
    expect(config.findings.find((f) => f.id === 'AWS-0086' || f.id === 'AVD-AWS-0086')?.location?.startLine).toBe(8);
    const secret = load('secret-scan-v0.72.json');
    expect(secret.findings).toEqual([
      expect.objectContaining({
        kind: 'secret',
        id: 'github-pat',
        severity: 'CRITICAL',
        location: { path: 'env', startLine: 5, endLine: 5 },
      }),
    ]);
  });

  it('says clearly what is wrong with a file that is not a Trivy report', () => {
    expect(() => load('alpine-310.sarif.json')).toThrow('is a SARIF file, not a Trivy JSON report');
    expect(() => parseTrivyReport('{"Results": [', 'r.json')).toThrow('r.json is not JSON');
    expect(() => parseTrivyReport('{"hello": 1}', 'r.json')).toThrow('does not look like a Trivy JSON report');
    expect(() =>
      parseTrivyReport('{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"PkgName": "x"}]}]}', 'r.json'),
    ).toThrow('Results[0].Vulnerabilities[0] has no VulnerabilityID');
  });
});

describe('ECR findings in the same model', () => {
  it('reads basic findings (no fix information) and enhanced findings (per package, suppressed, fixes)', () => {
    const basic = normaliseEcr({
      repository: 'web',
      digest: 'sha256:1',
      mode: 'basic',
      findings: [
        {
          name: 'CVE-2024-1',
          severity: 'HIGH',
          uri: 'https://cve/1',
          attributes: [
            { key: 'package_name', value: 'openssl' },
            { key: 'package_version', value: '3.0.1' },
            { key: 'CVSS3_SCORE', value: '7.5' },
          ],
        },
      ],
      enhancedFindings: [],
    });
    expect(basic.findings).toEqual([
      expect.objectContaining({
        id: 'CVE-2024-1',
        severity: 'HIGH',
        package: 'openssl',
        installedVersion: '3.0.1',
        fixable: 'unknown',
        cvss: 7.5,
      }),
    ]);
    expect(basic.notes.join(' ')).toContain('does not report fixed versions');

    const enhanced = normaliseEcr({
      repository: 'web',
      digest: 'sha256:1',
      mode: 'enhanced',
      findings: [],
      enhancedFindings: [
        {
          severity: 'CRITICAL',
          status: 'ACTIVE',
          fixAvailable: 'PARTIAL',
          score: 9.8,
          title: 'CVE-2024-2 - curl',
          packageVulnerabilityDetails: {
            vulnerabilityId: 'CVE-2024-2',
            sourceUrl: 'https://nvd/2',
            vulnerablePackages: [
              { name: 'curl', version: '8.0.1', release: 'r0', fixedInVersion: '8.0.2' },
              { name: 'libcurl', version: '8.0.1', fixedInVersion: 'NotAvailable' },
            ],
          },
        },
        {
          severity: 'UNTRIAGED',
          status: 'SUPPRESSED',
          packageVulnerabilityDetails: {
            vulnerabilityId: 'CVE-2024-3',
            vulnerablePackages: [{ name: 'zlib', version: '1.2' }],
          },
        },
        { severity: 'HIGH', status: 'CLOSED', packageVulnerabilityDetails: { vulnerabilityId: 'CVE-2024-4' } },
      ],
    });
    expect(enhanced.source).toBe('ecr-enhanced');
    expect(enhanced.findings).toEqual([
      expect.objectContaining({
        id: 'CVE-2024-2',
        package: 'curl',
        installedVersion: '8.0.1-r0',
        fixedVersion: '8.0.2',
        fixable: 'yes',
        cvss: 9.8,
      }),
      expect.objectContaining({ id: 'CVE-2024-2', package: 'libcurl', fixable: 'no' }),
      expect.objectContaining({ id: 'CVE-2024-3', severity: 'UNKNOWN', suppressed: true }),
    ]);
  });
});

describe('the gate', () => {
  const distroless = load('distroless-base.legacy.json');
  const debian = load('debian-buster.legacy.json');

  it('fails on the fail-on severities only', () => {
    expect(evaluate(debian, policy()).failing.map((f) => f.id)).toEqual(['CVE-2019-18224']);
    expect(evaluate(distroless, policy()).passed).toBe(true);
    const medium = evaluate(distroless, policy({ failOn: ['MEDIUM'], onlyFixed: false }));
    expect(ids(medium.failing)).toEqual(['CVE-2019-1551/libssl1.1', 'CVE-2019-1551/openssl']);
    expect(evaluate(debian, policy({ failOn: [] })).passed).toBe(true);
  });

  it('only-fixed lets findings with no fix pass and keeps them in the report', () => {
    const fixedOnly = evaluate(distroless, policy({ failOn: ['MEDIUM', 'LOW'] }));
    expect(ids(fixedOnly.failing)).toEqual(['CVE-2019-1563/libssl1.1', 'CVE-2019-1563/openssl']);
    expect(fixedOnly.findings.filter((f) => f.verdict === 'unfixed')).toHaveLength(2);
    expect(fixedOnly.counts).toMatchObject({ MEDIUM: 2, LOW: 2 });
    // ECR basic findings say nothing about fixes: only-fixed must not wave them through.
    const ecr = normaliseEcr({
      repository: 'web',
      digest: 'sha256:1',
      mode: 'basic',
      findings: [{ name: 'CVE-1', severity: 'HIGH' }],
      enhancedFindings: [],
    });
    expect(evaluate(ecr, policy()).passed).toBe(false);
  });

  it('ignores named findings until their entry expires, then judges them again and reports the entry', () => {
    const ignores = parseIgnoreFile(
      [
        'ignores:',
        '  - id: CVE-2019-18224',
        '    package: libidn2-0',
        '    reason: Not reachable from our code',
        '    expires: 2026-11-21',
        '  - id: CVE-2019-18276',
        '    reason: bash is not run in production',
        '  - id: CVE-2000-0001',
        '    reason: stale',
      ].join('\n'),
      'ignore.yml',
    );
    const during = evaluate(debian, policy({ ignores }));
    expect(during.passed).toBe(true);
    expect(during.ignored.map((f) => [f.id, f.ignore?.reason])).toEqual([
      ['CVE-2019-18224', 'Not reachable from our code'],
      ['CVE-2019-18276', 'bash is not run in production'],
    ]);
    expect(during.unused.map((e) => [e.id, e.line])).toEqual([['CVE-2000-0001', 8]]);

    const after = evaluate(debian, policy({ ignores, now: new Date('2026-11-22T00:00:00Z') }));
    expect(after.passed).toBe(false);
    expect(after.failing[0]).toMatchObject({
      id: 'CVE-2019-18224',
      ignore: { expired: true, expires: '2026-11-21', line: 2 },
    });
    expect(after.expired.map((e) => [e.entry.id, e.matched])).toEqual([['CVE-2019-18224', 1]]);

    const otherPackage = parseIgnoreFile('- id: CVE-2019-18224\n  package: curl\n  reason: wrong package\n', 'i.yml');
    expect(evaluate(debian, policy({ ignores: otherPackage })).passed).toBe(false);
  });

  it('judges only findings new against a baseline', () => {
    const current = load('alpine-310.legacy.json');
    const baseline = load('bare-array.pre-0.20.json');
    const gate = evaluate(current, policy({ failOn: ['MEDIUM'], baseline: baseline.findings }));
    expect(gate.baselineUsed).toBe(true);
    expect(gate.newFindings).toBe(2);
    expect(ids(gate.failing)).toEqual(['CVE-2019-1549/libssl1.1', 'CVE-2019-1551/libssl1.1']);
    expect(gate.findings.filter((f) => f.verdict === 'baseline')).toHaveLength(2);
  });

  it('refuses unknown severities', () => {
    expect(parseSeverity('high', 'fail-on')).toBe('HIGH');
    expect(parseSeverity('untriaged', 'fail-on')).toBe('UNKNOWN');
    expect(() => parseSeverity('SEVERE', 'fail-on')).toThrow("fail-on: 'SEVERE' is not a severity");
  });
});

describe('ignore files', () => {
  it('accepts a bare list and timestamps', () => {
    const entries = parseIgnoreFile('- id: CVE-1\n  reason: r\n  expires: 2027-01-01T08:00:00Z\n', 'i.yml');
    expect(entries[0]?.expiresAt?.toISOString()).toBe('2027-01-01T08:00:00.000Z');
    expect(parseIgnoreFile('', 'i.yml')).toEqual([]);
  });

  it.each([
    ['ignores:\n  - id: CVE-1\n    reason: r\n    expiry: 2026-01-01\n', "(line 2): unknown key 'expiry'"],
    ['ignores:\n  - id: CVE-1\n', '(line 2): the entry for CVE-1 has no reason'],
    ['ignores:\n  - reason: r\n', 'the entry has no id'],
    ['ignores:\n  - id: CVE-1\n    reason: r\n    expires: 2026-02-30\n', "expires '2026-02-30' is not a date"],
    ['ignores: [\n', 'is not valid YAML (line'],
    ['ignore:\n  - id: CVE-1\n', "unknown top-level key 'ignore'"],
    ['ignores:\n  - CVE-1\n', 'each entry must be a mapping'],
  ])('explains %j', (text, message) => {
    expect(() => parseIgnoreFile(text, 'i.yml')).toThrow(message);
  });
});

describe('SARIF', () => {
  const opts = { imagePath: 'acme/web', toolVersion: '1' };
  it.each(readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && !f.includes('sarif')))(
    '%s gives valid SARIF 2.1.0 for every policy',
    (file) => {
      const report = load(file);
      for (const failOn of [[], ['CRITICAL', 'HIGH'], ['MEDIUM', 'LOW']] as const) {
        const gate = evaluate(report, policy({ failOn: [...failOn] }));
        expect(sarifErrors(toSarif(report, gate, [...failOn], opts))).toEqual([]);
      }
    },
  );

  it('holds what the policy looks at: fail-on severities, failures as errors, ignores as suppressions', () => {
    const report = load('distroless-base.legacy.json');
    const ignores = parseIgnoreFile('- id: CVE-2019-1563\n  package: openssl\n  reason: patched downstream\n', 'i.yml');
    const gate = evaluate(report, policy({ failOn: ['LOW'], ignores }));
    const sarif = toSarif(report, gate, ['LOW'], opts) as {
      runs: Array<{
        results: Array<Record<string, unknown>>;
        tool: { driver: { rules: Array<{ id: string; properties: Record<string, unknown> }> } };
      }>;
    };
    const run = sarif.runs[0] as (typeof sarif.runs)[0];
    expect(
      run.results.map((r) => [
        r.ruleId,
        r.level,
        (r.properties as { package: string }).package,
        Boolean(r.suppressions),
      ]),
    ).toEqual([
      ['CVE-2019-1563', 'error', 'libssl1.1', false],
      ['CVE-2019-1563', 'note', 'openssl', true],
    ]);
    expect(run.tool.driver.rules).toEqual([
      expect.objectContaining({
        id: 'CVE-2019-1563',
        properties: expect.objectContaining({ 'security-severity': '2.0' }),
      }),
    ]);
    expect(sarifErrors(sarif)).toEqual([]);
    expect(sarifErrors({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).not.toEqual([]);
  });
});
