import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { info, warning } from '@actions/core';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { normaliseEcr } from '../../image/ecr-findings.js';
import type { ScanReport } from '../../image/findings.js';
import { evaluate, type GateResult } from '../../image/gate.js';
import { parseIgnoreFile, type IgnoreEntry } from '../../image/ignore.js';
import type { ImageRef } from '../../image/reference.js';
import { toSarif } from '../../image/sarif.js';
import { normalisedReport, scanSummary } from '../../image/scan-output.js';
import { parseTrivyReport } from '../../image/trivy-report.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

const VERSION = '1';

type Pinned = ImageRef & { digest: string };

function readReport(path: string, what: string): ScanReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`Cannot read ${what} '${path}': ${errorMessage(err)}`);
  }
  return parseTrivyReport(text, `${what} '${path}'`);
}

async function scanWithTrivy(
  s: Settings,
  image: Pinned,
  workDir: string,
  ctx: StepContext,
  label: string,
): Promise<ScanReport> {
  const { installTrivy, runTrivy } = await import('../../image/trivy.js');
  const trivy = await installTrivy({
    version: s.trivyVersion,
    ...(s.trivySha256 ? { sha256: s.trivySha256 } : {}),
    log: info,
  });
  const outputFile = join(workDir, `${label}-trivy.json`);
  const ref = `${image.name}@${image.digest}`;
  info(`Scanning ${ref} with Trivy ${trivy.version}.`);
  await runTrivy(trivy, { image: ref, outputFile, timeoutMs: s.timeoutMs, signal: ctx.signal });
  return readReport(outputFile, 'the Trivy report');
}

async function scanWithEcr(s: Settings, image: Pinned, ctx: StepContext): Promise<ScanReport> {
  const { registryKind } = await import('../../image/reference.js');
  const kind = registryKind(image.registry);
  if (kind.kind !== 'ecr') throw new UserError(`${image.name} is not in ECR.`);
  const { ecrClient, ecrScanFindings } = await import('../../aws/ecr.js');
  const client = ecrClient(kind.region);
  const started = Date.now();
  try {
    info(
      `Reading the ECR scan findings of ${image.repository}@${image.digest} (account ${kind.accountId}, ${kind.region}).`,
    );
    const result = await ecrScanFindings(client, {
      registryId: kind.accountId,
      repository: image.repository,
      digest: image.digest,
      timeoutMs: s.timeoutMs,
      signal: ctx.signal,
      onWait: (status) => info(`Waiting for the ECR scan: ${status} (${formatDuration(Date.now() - started)} so far).`),
    });
    if (result.started) info('No scan existed for the image; started a basic scan.');
    info(
      `ECR scan ${result.status} (${result.mode} scanning): ${result.mode === 'enhanced' ? result.enhancedFindings.length : result.findings.length} finding(s).`,
    );
    return normaliseEcr({
      repository: image.repository,
      digest: image.digest,
      mode: result.mode,
      ...(result.completedAt ? { completedAt: result.completedAt } : {}),
      ...(result.vulnerabilitySourceUpdatedAt
        ? { vulnerabilitySourceUpdatedAt: result.vulnerabilitySourceUpdatedAt }
        : {}),
      findings: result.findings,
      enhancedFindings: result.enhancedFindings,
    });
  } finally {
    client.destroy();
  }
}

async function obtain(
  s: Settings,
  image: Pinned | undefined,
  reportFile: string | undefined,
  workDir: string,
  ctx: StepContext,
  label: string,
): Promise<ScanReport> {
  if (reportFile) return readReport(reportFile, label === 'image' ? 'report-file' : 'baseline-report-file');
  if (!image) throw new UserError(`No ${label} to scan.`);
  return s.scanner === 'ecr' ? scanWithEcr(s, image, ctx) : scanWithTrivy(s, image, workDir, ctx, label);
}

const reportOfOtherImage = (file: string, report: ScanReport, image: Pinned): UserError =>
  new UserError(
    `report-file '${file}' is a scan of ${report.digests.join(', ')}, not of ${image.digest}.`,
    'Scan the image you pass as image (for example trivy image IMAGE@DIGEST), or leave image empty to gate the report as it is.',
  );

/** A report that names digests must name the image's: gating another image's report is a silent miss. */
function checkReportIsForImage(report: ScanReport, image: Pinned | undefined, file: string): void {
  if (!image || report.digests.length === 0) return;
  const digests = report.digests.map((d) => d.slice(d.indexOf('@') + 1));
  if (!digests.includes(image.digest)) {
    throw reportOfOtherImage(file, report, image);
  }
}

const gateFailed = (
  gate: GateResult,
  s: Settings,
  imageText: string | undefined,
  listed: string,
  reportPath: string,
): UserError =>
  new UserError(
    `${gate.failing.length} finding(s) at ${s.failOn.join(', ')} fail the gate${imageText ? ` for ${imageText}` : ''}:\n${listed}${gate.failing.length > 10 ? `\n  ... and ${gate.failing.length - 10} more (see the job summary and ${reportPath})` : ''}`,
    'Upgrade the affected packages (or the base image) and rebuild, or accept a finding in ignore-file with a reason and an expiry date.',
  );

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const now = new Date();
  let ignores: IgnoreEntry[] = [];
  if (s.ignoreFile) {
    ignores = parseIgnoreFile(readFileSync(s.ignoreFile, 'utf8'), `ignore-file '${s.ignoreFile}'`);
    info(`Read ${ignores.length} ignore entr${ignores.length === 1 ? 'y' : 'ies'} from ${s.ignoreFile}.`);
  }

  const workDir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'image-scan-'));
  try {
    const report = await obtain(s, s.image, s.reportFile, workDir, ctx, 'image');
    if (s.reportFile) checkReportIsForImage(report, s.image, s.reportFile);
    let baseline: ScanReport | undefined;
    if (s.baselineImage || s.baselineReportFile) {
      baseline = await obtain(s, s.baselineImage, s.baselineReportFile, workDir, ctx, 'baseline');
      info(`Baseline: ${baseline.findings.length} finding(s).`);
    }
    for (const note of report.notes) info(note);

    const gate = evaluate(report, {
      failOn: s.failOn,
      onlyFixed: s.onlyFixed,
      ignores,
      ...(baseline ? { baseline: baseline.findings } : {}),
      now,
    });
    const imageText = s.image ? `${s.image.name}@${s.image.digest}` : undefined;
    const baselineText = s.baselineImage ? `${s.baselineImage.name}@${s.baselineImage.digest}` : s.baselineReportFile;
    const scanContext = {
      ...(imageText ? { image: imageText } : {}),
      scanner: s.scanner,
      failOn: s.failOn,
      onlyFixed: s.onlyFixed,
      ...(baselineText ? { baseline: baselineText } : {}),
      ...(s.ignoreFile ? { ignoreFile: s.ignoreFile } : {}),
    };

    for (const e of gate.expired) {
      warning(
        `Ignore entry for ${e.entry.id}${e.entry.package ? ` (${e.entry.package})` : ''} expired on ${e.entry.expires}; ${e.matched} finding(s) it matched are judged again. Reason was: ${e.entry.reason}`,
        {
          title: 'Expired ignore entry',
          file: s.ignoreFile,
          startLine: e.entry.line,
        },
      );
    }

    const reportDir = join(process.env.RUNNER_TEMP || tmpdir(), 'platform-actions');
    mkdirSync(reportDir, { recursive: true });
    const reportPath = join(
      reportDir,
      `image-scan-${(s.image?.digest ?? `report-${now.getTime()}`).replace('sha256:', '').slice(0, 16)}.json`,
    );
    writeFileSync(reportPath, JSON.stringify(normalisedReport(scanContext, report, gate, now), null, 2));

    let sarifPath = '';
    if (s.sarifFile) {
      sarifPath = resolve(s.sarifFile);
      mkdirSync(dirname(sarifPath), { recursive: true });
      const imagePath = s.image?.repository ?? report.artifact ?? 'image';
      writeFileSync(
        sarifPath,
        JSON.stringify(toSarif(report, gate, s.failOn, { imagePath, toolVersion: VERSION }), null, 2),
      );
      info(`Wrote SARIF to ${sarifPath}.`);
    }

    outputs.set('passed', gate.passed);
    outputs.set('counts', gate.counts);
    outputs.set('new-findings', gate.newFindings);
    outputs.set('report', reportPath);
    outputs.set('sarif-file', sarifPath);
    await writeSummary(scanSummary(scanContext, report, gate));

    const total = Object.values(gate.counts).reduce((a, b) => a + b, 0);
    if (!gate.passed) {
      const listed = gate.failing
        .slice(0, 10)
        .map(
          (f) =>
            `  ${f.severity} ${f.id}${f.package ? ` in ${f.package} ${f.installedVersion ?? ''}` : ` (${f.target})`}${f.fixedVersion ? ` (fixed in ${f.fixedVersion})` : ''}${f.ignore?.expired ? ` [ignore entry expired ${f.ignore.expires}]` : ''}`,
        )
        .join('\n');
      throw gateFailed(gate, s, imageText, listed, reportPath);
    }
    info(`Gate passed: ${total} finding(s), none failing${s.failOn.length ? ` at ${s.failOn.join(', ')}` : ''}.`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
