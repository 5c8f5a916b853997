import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient, PutImageCommand, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { motoClientConfig, useMoto } from '../support/moto.js';
import { ROOT, Job, type StepResult } from '../support/runner.js';
import { sarifErrors } from '../support/sarif.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'trivy');
const ACCOUNT = '123456789012';
const HOST = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
const moto = useMoto();
let proxy: AwsProxy;
let ecr: ECRClient;

beforeAll(async () => {
  proxy = await startAwsProxy(moto);
  ecr = new ECRClient(motoClientConfig(moto));
});
afterAll(async () => {
  ecr.destroy();
  await proxy.close();
});
beforeEach(() => proxy.reset());

/** A job whose workspace holds the fixture reports. */
function newJob(env: Record<string, string> = {}): Job {
  const job = new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...env,
  });
  for (const f of [
    'debian-buster.legacy.json',
    'alpine-310.legacy.json',
    'bare-array.pre-0.20.json',
    'image-alpine-3.10-v0.72.json',
    'distroless-base.legacy.json',
    'alpine-310.sarif.json',
  ]) {
    copyFileSync(join(FIXTURES, f), join(job.workspace, f));
  }
  return job;
}

const reportOf = (step: StepResult) =>
  JSON.parse(readFileSync(step.outputs.report as string, 'utf8')) as {
    passed: boolean;
    findings: Array<{ id: string; package?: string; verdict: string }>;
    expiredIgnores: unknown[];
  };

describe('image-scan on Trivy reports', () => {
  it('fails the step on a CRITICAL finding with a fix, with outputs, report and summary', async () => {
    const step = await newJob().run('image-scan', {
      inputs: { scanner: 'report', 'report-file': 'debian-buster.legacy.json' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('1 finding(s) at CRITICAL, HIGH fail the gate');
    expect(step.failure).toContain('CRITICAL CVE-2019-18224 in libidn2-0 2.0.5-1 (fixed in 2.0.5-1+deb10u1)');
    expect(step.outputs.passed).toBe('false');
    expect(JSON.parse(step.outputs.counts as string)).toEqual({
      CRITICAL: 1,
      HIGH: 0,
      MEDIUM: 0,
      LOW: 1,
      INFORMATIONAL: 0,
      UNKNOWN: 0,
    });
    expect(step.outputs['new-findings']).toBe('2');
    expect(step.outputs['sarif-file']).toBe('');
    const report = reportOf(step);
    expect(report.passed).toBe(false);
    expect(report.findings.map((f) => [f.id, f.verdict])).toEqual([
      ['CVE-2019-18224', 'failing'],
      ['CVE-2019-18276', 'below-threshold'],
    ]);
    expect(step.summary).toContain('Image scan ❌ failed');
    expect(step.summary).toContain('Findings that failed the gate');
    expect(step.summary).toContain('CVE-2019-18224');
  });

  it('honours an ignore entry until it expires, then fails and reports the expired entry', async () => {
    const job = newJob();
    const ignore = (expires: string) =>
      writeFileSync(
        join(job.workspace, '.trivyignore.yml'),
        `ignores:\n  - id: CVE-2019-18224\n    package: libidn2-0\n    reason: Only used to parse trusted host names\n    expires: ${expires}\n`,
      );
    ignore('2099-12-31');
    const ok = await job.run('image-scan', {
      inputs: { scanner: 'report', 'report-file': 'debian-buster.legacy.json', 'ignore-file': '.trivyignore.yml' },
    });
    expect(ok.failure).toBeUndefined();
    expect(ok.outputs.passed).toBe('true');
    expect(ok.summary).toContain('Ignored findings (1)');
    expect(ok.summary).toContain('Only used to parse trusted host names');

    ignore('2021-01-31');
    const expired = await job.run('image-scan', {
      inputs: { scanner: 'report', 'report-file': 'debian-buster.legacy.json', 'ignore-file': '.trivyignore.yml' },
    });
    expect(expired.exitCode).toBe(1);
    expect(expired.failure).toContain('[ignore entry expired 2021-01-31]');
    expect(expired.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        properties: expect.objectContaining({ file: '.trivyignore.yml', line: '2', title: 'Expired ignore entry' }),
      }),
    );
    expect(expired.summary).toContain('Expired ignore entries (no longer ignoring)');
    expect(reportOf(expired).expiredIgnores).toEqual([
      expect.objectContaining({ id: 'CVE-2019-18224', expires: '2021-01-31', matched: 1, line: 2 }),
    ]);
  });

  it('writes valid SARIF 2.1.0 with the findings at the fail-on severities only', async () => {
    const step = await newJob().run('image-scan', {
      inputs: {
        scanner: 'report',
        'report-file': 'distroless-base.legacy.json',
        'fail-on': 'medium',
        'only-fixed': 'false',
        'sarif-file': 'out/scan.sarif',
      },
    });
    expect(step.exitCode).toBe(1);
    const path = step.outputs['sarif-file'] as string;
    expect(path.endsWith('out/scan.sarif')).toBe(true);
    const sarif = JSON.parse(readFileSync(path, 'utf8')) as {
      runs: Array<{ results: Array<{ ruleId: string; level: string }> }>;
    };
    expect(sarifErrors(sarif)).toEqual([]);
    expect(sarif.runs[0]?.results.map((r) => [r.ruleId, r.level])).toEqual([
      ['CVE-2019-1551', 'error'],
      ['CVE-2019-1551', 'error'],
    ]);
  });

  it('judges only findings new against a baseline report', async () => {
    const step = await newJob().run('image-scan', {
      inputs: {
        scanner: 'report',
        'report-file': 'alpine-310.legacy.json',
        'baseline-report-file': 'bare-array.pre-0.20.json',
        'fail-on': 'MEDIUM',
      },
    });
    expect(step.exitCode).toBe(1);
    expect(step.outputs['new-findings']).toBe('2');
    expect(step.failure).toContain('2 finding(s) at MEDIUM fail the gate');
    expect(step.failure).toContain('libssl1.1');
    expect(step.failure).not.toContain('libcrypto1.1');
    expect(step.summary).toContain('In baseline');
  });

  it('checks that a report names the image it is asked to gate', async () => {
    const digest = 'sha256:451eee8bedcb2f029756dc3e9d73bab0e7943c1ac55cff3a4861c52a0fdd3e98';
    const same = await newJob().run('image-scan', {
      inputs: {
        scanner: 'report',
        'report-file': 'image-alpine-3.10-v0.72.json',
        image: `alpine@${digest}`,
        'fail-on': 'none',
      },
    });
    expect(same.failure).toBeUndefined();
    expect(same.outputs.passed).toBe('true');
    const other = await newJob().run('image-scan', {
      inputs: {
        scanner: 'report',
        'report-file': 'image-alpine-3.10-v0.72.json',
        image: `alpine@sha256:${'0'.repeat(64)}`,
      },
    });
    expect(other.exitCode).toBe(1);
    expect(other.failure).toContain(`is a scan of alpine@${digest}, not of sha256:${'0'.repeat(64)}`);
  });

  it.each([
    [{ scanner: 'trivy', image: `${HOST}/web:latest` }, 'is not pinned by digest'],
    [
      { scanner: 'report', 'report-file': 'debian-buster.legacy.json', 'fail-on': 'CRITICAL,SEVERE' },
      "fail-on: 'SEVERE' is not a severity",
    ],
    [{ scanner: 'report', 'report-file': 'missing.json' }, "report-file 'missing.json' does not exist"],
    [{ scanner: 'report', 'report-file': 'alpine-310.sarif.json' }, 'is a SARIF file, not a Trivy JSON report'],
    [
      { scanner: 'ecr', image: `ghcr.io/acme/web@sha256:${'1'.repeat(64)}` },
      "image 'ghcr.io/acme/web' is not in an ECR registry",
    ],
    [{ scanner: 'trivy' }, 'scanner trivy needs the image to scan'],
  ])('refuses bad input clearly: %j', async (inputs, message) => {
    const step = await newJob().run('image-scan', { inputs });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(message);
    expect(proxy.calls).toEqual([]);
  });

  it('refuses a malformed ignore file with its line', async () => {
    const job = newJob();
    writeFileSync(
      join(job.workspace, 'ignore.yml'),
      'ignores:\n  - id: CVE-2019-18224\n    reason: accepted\n    expiry: 2026-01-01\n',
    );
    const step = await job.run('image-scan', {
      inputs: { scanner: 'report', 'report-file': 'debian-buster.legacy.json', 'ignore-file': 'ignore.yml' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain("ignore-file 'ignore.yml' (line 2): unknown key 'expiry'");
  });
});

describe('image-scan with the trivy scanner', () => {
  // No vulnerability database can be downloaded here, so the `trivy` on PATH is a
  // stand-in that answers --version and writes a real Trivy report where --output says,
  // recording how it was called. What this covers: finding the pinned Trivy on PATH,
  // the command line, and reading its output; not Trivy's own scanning.
  it('runs the pinned trivy on the image by digest and gates its JSON report', async () => {
    const job = newJob();
    const bin = join(job.dir, 'bin');
    mkdirSync(bin);
    const argvFile = join(job.dir, 'trivy-argv');
    writeFileSync(
      join(bin, 'trivy'),
      [
        '#!/bin/sh',
        'if [ "$1" = "--version" ]; then echo "Version: 0.72.0"; exit 0; fi',
        `printf '%s\\n' "$@" > ${argvFile}`,
        'while [ $# -gt 0 ]; do if [ "$1" = "--output" ]; then out="$2"; fi; shift; done',
        `cp ${join(FIXTURES, 'image-alpine-3.10-v0.72.json')} "$out"`,
      ].join('\n'),
    );
    chmodSync(join(bin, 'trivy'), 0o755);
    const image = `ghcr.io/acme/web@sha256:${'3'.repeat(64)}`;
    const step = await job.run('image-scan', {
      inputs: { image },
      env: { PATH: `${bin}:${job.env.PATH}`, RUNNER_TOOL_CACHE: join(job.dir, 'toolcache') },
    });
    expect(step.log).toContain('Using Trivy 0.72.0 found on PATH');
    const argv = readFileSync(argvFile, 'utf8').trim().split('\n');
    expect(argv.slice(0, 3)).toEqual(['image', '--format', 'json']);
    expect(argv).toEqual(expect.arrayContaining(['--scanners', 'vuln', '--quiet']));
    expect(argv[argv.length - 1]).toBe(image);
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('CRITICAL CVE-2021-36159 in apk-tools');
    expect(JSON.parse(step.outputs.counts as string)).toMatchObject({ CRITICAL: 1 });
  });
});

describe('image-scan: the Trivy in the tool cache is verified on every use', () => {
  /** A release tarball holding a stand-in trivy that leaves a mark when it runs. */
  function tarball(dir: string, mark: string, version: string): string {
    const src = join(dir, `src-${version}-${Math.random().toString(16).slice(2)}`);
    mkdirSync(src, { recursive: true });
    writeFileSync(
      join(src, 'trivy'),
      [
        '#!/bin/sh',
        `touch ${mark}`,
        `if [ "$1" = "--version" ]; then echo "Version: ${version}"; exit 0; fi`,
        'while [ $# -gt 0 ]; do if [ "$1" = "--output" ]; then out="$2"; fi; shift; done',
        `cp ${join(FIXTURES, 'image-alpine-3.10-v0.72.json')} "$out"`,
      ].join('\n'),
    );
    chmodSync(join(src, 'trivy'), 0o755);
    const out = join(dir, `trivy_${version}_Linux-64bit.tar.gz`);
    const r = spawnSync('tar', ['-czf', out, '-C', src, 'trivy']);
    if (r.status !== 0) throw new Error(r.stderr.toString());
    return out;
  }
  /** Puts a tarball where @actions/tool-cache keeps trivy VERSION, as a finished entry. */
  function seedCache(toolcache: string, version: string, file: string): string {
    const dir = join(toolcache, 'trivy', version, process.arch);
    mkdirSync(dir, { recursive: true });
    copyFileSync(file, join(dir, `trivy_${version}_Linux-64bit.tar.gz`));
    writeFileSync(`${dir}.complete`, '');
    return dir;
  }
  const image = `ghcr.io/acme/web@sha256:${'3'.repeat(64)}`;

  it('refuses a cached Trivy whose tarball is not the release the toolkit pinned, without running it', async () => {
    if (process.platform !== 'linux' || process.arch !== 'x64')
      throw new Error('this test seeds the Linux-64bit asset');
    const job = newJob();
    const mark = join(job.dir, 'tampered-trivy-ran');
    const toolcache = join(job.dir, 'toolcache');
    const dir = seedCache(toolcache, '0.72.0', tarball(job.dir, mark, '0.72.0'));
    // The unpacked binary an older image-scan cached next to it: never run either.
    writeFileSync(join(dir, 'trivy'), `#!/bin/sh\ntouch ${mark}\necho "Version: 0.72.0"\n`);
    chmodSync(join(dir, 'trivy'), 0o755);
    const step = await job.run('image-scan', { inputs: { image }, env: { RUNNER_TOOL_CACHE: toolcache } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain(`The tool cache's ${join(dir, 'trivy_0.72.0_Linux-64bit.tar.gz')} has SHA-256`);
    expect(step.failure).toContain(
      "not the pinned bbb64b9695866ce4a7a8f5c9592002c5961cab378577fa3f8a040df362b9b2ea (this toolkit's pin). Refusing to run it.",
    );
    expect(step.log).toContain(`Delete ${dir}`);
    expect(existsSync(mark)).toBe(false);
  });

  it('runs a cached Trivy whose tarball matches trivy-sha256, unpacked afresh for the job', async () => {
    const job = newJob();
    const mark = join(job.dir, 'trivy-ran');
    const toolcache = join(job.dir, 'toolcache');
    const file = tarball(job.dir, mark, '0.0.1');
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    seedCache(toolcache, '0.0.1', file);
    const step = await job.run('image-scan', {
      inputs: { image, 'trivy-version': '0.0.1', 'trivy-sha256': sha },
      env: { RUNNER_TOOL_CACHE: toolcache },
    });
    expect(step.log).toContain(
      `from the tool cache: trivy_0.0.1_Linux-64bit.tar.gz verified (SHA-256 ${sha}, trivy-sha256)`,
    );
    expect(existsSync(mark)).toBe(true);
    expect(step.failure).toContain('CRITICAL CVE-2021-36159 in apk-tools');

    // The same cache with a trivy-sha256 that is not this tarball's: refused, not run.
    const again = await job.run('image-scan', {
      inputs: { image, 'trivy-version': '0.0.1', 'trivy-sha256': 'a'.repeat(64) },
      env: { RUNNER_TOOL_CACHE: toolcache },
    });
    expect(again.failure).toContain(`has SHA-256 ${sha}, not the pinned ${'a'.repeat(64)} (trivy-sha256)`);
  });

  it('refuses a trivy-sha256 that contradicts the pinned hash of the version', async () => {
    const job = newJob();
    const step = await job.run('image-scan', {
      inputs: { image, 'trivy-sha256': 'a'.repeat(64) },
      env: { RUNNER_TOOL_CACHE: join(job.dir, 'toolcache') },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('contradicts the SHA-256 this toolkit pins for trivy_0.72.0_');
  });
});

describe('image-scan with ECR findings (moto)', () => {
  async function pushImage(repository: string, layer: string): Promise<string> {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repository })).catch(() => undefined);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: 100,
        digest: `sha256:${'c'.repeat(64)}`,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: 1000,
          digest: `sha256:${layer.repeat(64)}`,
        },
      ],
    };
    const out = await ecr.send(
      new PutImageCommand({
        repositoryName: repository,
        imageManifest: JSON.stringify(manifest),
        imageTag: `t${layer}`,
      }),
    );
    return out.image?.imageId?.imageDigest as string;
  }

  /** moto's documented hook for DescribeImageScanFindings answers (moto-api/static/ecr/scan-finding-results). */
  async function motoFindings(results: unknown[]): Promise<void> {
    const res = await fetch(`${moto}/moto-api/static/ecr/scan-finding-results`, {
      method: 'POST',
      body: JSON.stringify({ results, region: 'us-east-1' }),
    });
    expect(res.ok).toBe(true);
  }

  it('starts a basic scan when none exists, waits for it, and gates its findings', async () => {
    const digest = await pushImage('web', 'a');
    const step = await newJob().run('image-scan', { inputs: { scanner: 'ecr', image: `${HOST}/web@${digest}` } });
    expect(proxy.count('StartImageScan')).toBe(1);
    expect(step.log).toContain('No scan existed for the image; started a basic scan.');
    // moto's basic scan reports one HIGH finding (CVE-9999-9999 in moto_fake 9.9.9), without fix information.
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('HIGH CVE-9999-9999 in moto_fake 9.9.9');
    expect(JSON.parse(step.outputs.counts as string)).toMatchObject({ HIGH: 1 });
    expect(step.summary).toContain('does not report fixed versions');

    const critical = await newJob().run('image-scan', {
      inputs: { scanner: 'ecr', image: `${HOST}/web@${digest}`, 'fail-on': 'CRITICAL' },
    });
    expect(critical.failure).toBeUndefined();
    expect(critical.outputs.passed).toBe('true');
    expect(proxy.count('StartImageScan')).toBe(1);
  });

  it('reads enhanced findings of an ACTIVE (continuous) scan, which the SDK waiter never accepts', async () => {
    const digest = await pushImage('api', 'b');
    await ecr.send(new StartImageScanCommand({ repositoryName: 'api', imageId: { imageDigest: digest } }));
    await motoFindings([
      {
        registryId: ACCOUNT,
        repositoryName: 'api',
        imageId: { imageDigest: digest },
        imageScanStatus: { status: 'ACTIVE', description: 'Continuous scan is selected for image.' },
        imageScanFindings: {
          imageScanCompletedAt: 1763700000,
          findingSeverityCounts: { CRITICAL: 1, MEDIUM: 1 },
          enhancedFindings: [
            {
              awsAccountId: ACCOUNT,
              findingArn: `arn:aws:inspector2:us-east-1:${ACCOUNT}:finding/1`,
              severity: 'CRITICAL',
              status: 'ACTIVE',
              type: 'PACKAGE_VULNERABILITY',
              fixAvailable: 'YES',
              score: 9.8,
              title: 'CVE-2024-6387 - openssh',
              packageVulnerabilityDetails: {
                vulnerabilityId: 'CVE-2024-6387',
                source: 'NVD',
                sourceUrl: 'https://nvd.nist.gov/vuln/detail/CVE-2024-6387',
                vulnerablePackages: [
                  { name: 'openssh', version: '9.6p1', release: '1', packageManager: 'OS', fixedInVersion: '9.8p1' },
                ],
              },
            },
            {
              awsAccountId: ACCOUNT,
              severity: 'MEDIUM',
              status: 'ACTIVE',
              type: 'PACKAGE_VULNERABILITY',
              fixAvailable: 'NO',
              packageVulnerabilityDetails: {
                vulnerabilityId: 'CVE-2023-0001',
                vulnerablePackages: [{ name: 'zlib', version: '1.2.13', fixedInVersion: 'NotAvailable' }],
              },
            },
          ],
        },
      },
    ]);
    const step = await newJob().run('image-scan', {
      inputs: { scanner: 'ecr', image: `${HOST}/api@${digest}`, 'sarif-file': 'ecr.sarif' },
    });
    expect(proxy.count('StartImageScan')).toBe(0);
    expect(step.log).toContain('ECR scan ACTIVE (enhanced scanning): 2 finding(s).');
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('CRITICAL CVE-2024-6387 in openssh 9.6p1-1 (fixed in 9.8p1)');
    expect(JSON.parse(step.outputs.counts as string)).toMatchObject({ CRITICAL: 1, MEDIUM: 1 });
    expect(sarifErrors(JSON.parse(readFileSync(step.outputs['sarif-file'] as string, 'utf8')))).toEqual([]);
  });

  it('waits through IN_PROGRESS and reads every page of findings', async () => {
    const digest = await pushImage('paged', 'd');
    const finding = (n: number) => ({
      name: `CVE-2025-000${n}`,
      severity: n === 3 ? 'CRITICAL' : 'LOW',
      attributes: [
        { key: 'package_name', value: `pkg${n}` },
        { key: 'package_version', value: '1.0' },
      ],
    });
    const page = (findings: unknown[], nextToken?: string) => ({
      registryId: ACCOUNT,
      repositoryName: 'paged',
      imageId: { imageDigest: digest },
      imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
      imageScanFindings: { imageScanCompletedAt: 1763700000, findingSeverityCounts: { CRITICAL: 1, LOW: 2 }, findings },
      ...(nextToken ? { nextToken } : {}),
    });
    proxy.script([
      {
        operation: 'DescribeImageScanFindings',
        body: {
          registryId: ACCOUNT,
          repositoryName: 'paged',
          imageId: { imageDigest: digest },
          imageScanStatus: { status: 'IN_PROGRESS' },
        },
      },
      { operation: 'DescribeImageScanFindings', body: page([finding(1), finding(2)], 'page-2') },
      { operation: 'DescribeImageScanFindings', body: page([finding(3)]) },
    ]);
    const step = await newJob().run('image-scan', { inputs: { scanner: 'ecr', image: `${HOST}/paged@${digest}` } });
    expect(step.log).toMatch(/Waiting for the ECR scan: IN_PROGRESS/);
    const requests = proxy.requests('DescribeImageScanFindings') as Array<{ nextToken?: string; imageId: unknown }>;
    expect(requests.map((r) => r.nextToken)).toEqual([undefined, undefined, 'page-2']);
    expect(requests[0]?.imageId).toEqual({ imageDigest: digest });
    expect(JSON.parse(step.outputs.counts as string)).toMatchObject({ CRITICAL: 1, LOW: 2 });
    expect(step.failure).toContain('CRITICAL CVE-2025-0003 in pkg3');
  });

  it('gives up at scan-timeout and says what it last saw', async () => {
    const digest = await pushImage('slow', '9');
    const inProgress = {
      operation: 'DescribeImageScanFindings',
      body: {
        registryId: ACCOUNT,
        repositoryName: 'slow',
        imageId: { imageDigest: digest },
        imageScanStatus: { status: 'IN_PROGRESS' },
      },
    };
    proxy.script([inProgress, inProgress, inProgress]);
    const step = await newJob().run('image-scan', {
      inputs: { scanner: 'ecr', image: `${HOST}/slow@${digest}`, 'scan-timeout': '1s' },
    });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toMatch(
      /^Timed out after 1s waiting for the ECR scan of slow@sha256:[a-f0-9]{64}\. Last seen: IN_PROGRESS\. Raise scan-timeout/,
    );
    expect(step.failure).not.toContain('Unexpected error');
  });

  it('explains an image ECR cannot scan', async () => {
    const digest = await pushImage('scratch', 'e');
    await ecr.send(new StartImageScanCommand({ repositoryName: 'scratch', imageId: { imageDigest: digest } }));
    await motoFindings([
      {
        registryId: ACCOUNT,
        repositoryName: 'scratch',
        imageId: { imageDigest: digest },
        imageScanStatus: {
          status: 'UNSUPPORTED_IMAGE',
          description: 'The operating system and/or package manager are not supported.',
        },
      },
    ]);
    const step = await newJob().run('image-scan', { inputs: { scanner: 'ecr', image: `${HOST}/scratch@${digest}` } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('ECR cannot scan scratch@');
    expect(step.failure).toContain('The operating system and/or package manager are not supported.');
    expect(step.failure).toContain('Use scanner: trivy');
    expect(existsSync(join(step.outputs.report ?? '/nonexistent'))).toBe(false);
  });

  it('explains when ECR will not start a scan for an image without one', async () => {
    const digest = await pushImage('nostart', 'f');
    proxy.inject({
      operation: 'StartImageScan',
      times: 1,
      status: 400,
      code: 'UnsupportedImageTypeException',
      message: 'The image type is not supported.',
    });
    const step = await newJob().run('image-scan', { inputs: { scanner: 'ecr', image: `${HOST}/nostart@${digest}` } });
    expect(step.exitCode).toBe(1);
    expect(step.failure).toContain('(UNSUPPORTED_IMAGE)');
    expect(step.failure).toContain('The image type is not supported.');
  });

  it('judges only findings new against a baseline image', async () => {
    const current = await pushImage('base', '1');
    const previous = await pushImage('base', '2');
    for (const d of [current, previous])
      await ecr.send(new StartImageScanCommand({ repositoryName: 'base', imageId: { imageDigest: d } }));
    const result = (digest: string, names: string[]) => ({
      registryId: ACCOUNT,
      repositoryName: 'base',
      imageId: { imageDigest: digest },
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: {
        imageScanCompletedAt: 1763700000,
        findings: names.map((name) => ({
          name,
          severity: 'HIGH',
          attributes: [{ key: 'package_name', value: 'openssl' }],
        })),
      },
    });
    await motoFindings([result(current, ['CVE-2025-1000', 'CVE-2025-2000']), result(previous, ['CVE-2025-1000'])]);
    const step = await newJob().run('image-scan', {
      inputs: { scanner: 'ecr', image: `${HOST}/base@${current}`, 'baseline-image': `${HOST}/base@${previous}` },
    });
    expect(step.outputs['new-findings']).toBe('1');
    expect(step.failure).toContain('1 finding(s) at CRITICAL, HIGH fail the gate');
    expect(step.failure).toContain('CVE-2025-2000');
    expect(step.failure).not.toContain('CVE-2025-1000');
  });
});
