import { existsSync, statSync } from 'node:fs';
import { inputs } from '../../github/inputs.js';
import { parseSeverity, type Severity } from '../../image/findings.js';
import { parseDigestReference, registryKind, type ImageRef } from '../../image/reference.js';
import { UserError } from '../../util/errors.js';

export type Scanner = 'trivy' | 'ecr' | 'report';

export interface Settings {
  scanner: Scanner;
  image: (ImageRef & { digest: string }) | undefined;
  reportFile: string | undefined;
  failOn: Severity[];
  onlyFixed: boolean;
  ignoreFile: string | undefined;
  sarifFile: string | undefined;
  baselineImage: (ImageRef & { digest: string }) | undefined;
  baselineReportFile: string | undefined;
  trivyVersion: string;
  trivySha256: string | undefined;
  timeoutMs: number;
}

function existingFile(path: string | undefined, name: string): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UserError(
      `${name} '${path}' does not exist (or is not a file).`,
      'Give the path relative to the workspace; produce the file in an earlier step of the same job.',
    );
  }
  return path;
}

function checkEcr(ref: ImageRef | undefined, name: string): void {
  if (ref && registryKind(ref.registry).kind !== 'ecr') {
    throw new UserError(
      `scanner is ecr, but ${name} '${ref.name}' is not in an ECR registry.`,
      'Use scanner: trivy for images outside ECR.',
    );
  }
}

export function readSettings(): Settings {
  const scanner = inputs.choice('scanner', ['trivy', 'ecr', 'report'], 'trivy');
  const imageText = inputs.string('image', '');
  const image = imageText ? parseDigestReference(imageText, 'image') : undefined;
  const reportFile = existingFile(inputs.string('report-file', '') || undefined, 'report-file');

  if (scanner === 'report' && !reportFile)
    throw new UserError(
      'scanner is report, but report-file is empty.',
      'Give the path of a Trivy JSON report (trivy ... --format json --output FILE).',
    );
  if (scanner !== 'report' && reportFile)
    throw new UserError(
      `report-file is only read with scanner: report (scanner is ${scanner}).`,
      'Set scanner: report to gate an existing report.',
    );
  if (scanner !== 'report' && !image)
    throw new UserError(
      `scanner ${scanner} needs the image to scan: image is empty.`,
      "Pass image-build's `image` output (repository@sha256:...).",
    );

  const failOnText = inputs.string('fail-on', 'CRITICAL,HIGH');
  const failOn =
    failOnText.trim().toLowerCase() === 'none'
      ? []
      : [
          ...new Set(
            failOnText
              .split(/[\s,]+/)
              .filter(Boolean)
              .map((s) => parseSeverity(s, 'fail-on')),
          ),
        ];

  const baselineText = inputs.string('baseline-image', '');
  const baselineImage = baselineText ? parseDigestReference(baselineText, 'baseline-image') : undefined;
  const baselineReportFile = existingFile(
    inputs.string('baseline-report-file', '') || undefined,
    'baseline-report-file',
  );
  if (baselineImage && baselineReportFile) throw new UserError('Set baseline-image or baseline-report-file, not both.');
  if (baselineImage && scanner === 'report') {
    throw new UserError(
      'baseline-image cannot be scanned with scanner: report.',
      'Give the baseline as a report too (baseline-report-file).',
    );
  }
  if (scanner === 'ecr') {
    checkEcr(image, 'image');
    checkEcr(baselineImage, 'baseline-image');
  }
  if (image && baselineImage && image.digest === baselineImage.digest) {
    throw new UserError(
      'baseline-image is the same image (same digest) as image: every finding would be in the baseline.',
    );
  }

  const trivyVersion = inputs.string('trivy-version', '0.72.0').replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(trivyVersion))
    throw new UserError(
      `trivy-version '${trivyVersion}' is not a release version.`,
      'Pin an exact version such as 0.72.0.',
    );
  const trivySha256 = inputs.string('trivy-sha256', '') || undefined;
  if (trivySha256 && !/^[a-fA-F0-9]{64}$/.test(trivySha256))
    throw new UserError('trivy-sha256 is not a SHA-256 (64 hex digits).');

  return {
    scanner,
    image,
    reportFile,
    failOn,
    onlyFixed: inputs.boolean('only-fixed', true),
    ignoreFile: existingFile(inputs.string('ignore-file', '') || undefined, 'ignore-file'),
    sarifFile: inputs.string('sarif-file', '') || undefined,
    baselineImage,
    baselineReportFile,
    trivyVersion,
    trivySha256,
    timeoutMs: inputs.duration('scan-timeout', '10m'),
  };
}
