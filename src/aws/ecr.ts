import {
  DescribeImageScanFindingsCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  StartImageScanCommand,
  type DescribeImageScanFindingsCommandOutput,
  type EnhancedImageScanFinding,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import { setSecret } from '@actions/core';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage, UserError } from '../util/errors.js';
import { poll, PollTimeoutError } from '../util/poll.js';
import { awsClient, awsErrorCode } from './client.js';

/** ECR: registry login tokens and image scan findings. */

export interface EcrLogin {
  registry: string;
  username: string;
  password: string;
  expiresAt?: Date;
}

export function ecrClient(region: string, maxAttempts = 3): ECRClient {
  return awsClient(ECRClient, 'ECR', { region, maxAttempts });
}

function explainAccess(err: unknown, action: string, resource: string): unknown {
  const code = awsErrorCode(err);
  if (
    code === 'AccessDeniedException' ||
    code === 'AccessDenied' ||
    code === 'UnrecognizedClientException' ||
    code === 'ExpiredTokenException'
  ) {
    return new UserError(
      `AWS refused ${action} on ${resource} (${code}: ${errorMessage(err)}).`,
      code === 'AccessDeniedException' || code === 'AccessDenied'
        ? `Allow ${action} for the role aws-auth assumed (see the IAM section of the docs).`
        : 'Run aws-auth earlier in the same job: credentials cannot pass between jobs.',
      { cause: err },
    );
  }
  if (awsErrorCode(err) === undefined && /Could not load credentials/i.test(errorMessage(err))) {
    return new UserError(
      `No AWS credentials for ${action}: ${errorMessage(err)}.`,
      'Run aws-auth earlier in the same job (credentials cannot pass between jobs).',
      { cause: err },
    );
  }
  return err;
}

/**
 * A registry password for the account's registry, masked the moment it arrives (and
 * the token it came in), ready for `login --password-stdin`.
 */
export async function ecrLogin(client: ECRClient, registry: string, accountId: string): Promise<EcrLogin> {
  const out = await client
    .send(new GetAuthorizationTokenCommand({ registryIds: [accountId] }))
    .catch((err: unknown) => {
      throw explainAccess(err, 'ecr:GetAuthorizationToken', `registry ${registry}`);
    });
  const data = out.authorizationData?.[0];
  if (!data?.authorizationToken) throw new UserError(`ECR returned no authorization token for ${registry}.`);
  setSecret(data.authorizationToken);
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new UserError(`ECR returned an authorization token for ${registry} that is not user:password.`);
  const password = decoded.slice(colon + 1);
  setSecret(password);
  return {
    registry,
    username: decoded.slice(0, colon),
    password,
    ...(data.expiresAt ? { expiresAt: data.expiresAt } : {}),
  };
}

export interface EcrFindingsRequest {
  registryId: string;
  repository: string;
  digest: string;
  timeoutMs: number;
  clock?: Clock;
  signal?: AbortSignal;
  onWait?: (status: string) => void;
  /** Page size (1..1000). */
  pageSize?: number;
}

export interface EcrFindings {
  status: string;
  mode: 'basic' | 'enhanced';
  completedAt?: string;
  vulnerabilitySourceUpdatedAt?: string;
  findings: ImageScanFinding[];
  enhancedFindings: EnhancedImageScanFinding[];
  severityCounts: Record<string, number>;
  /** True when we started the scan (no scan existed for the image). */
  started: boolean;
}

const WAITING = new Set(['IN_PROGRESS', 'PENDING']);

const unsupportedImage = (what: string, said: string): UserError =>
  new UserError(
    `ECR cannot scan ${what} (UNSUPPORTED_IMAGE).${said}`,
    'Basic scanning covers OS packages of supported distributions only (not scratch or distroless-style images without a package database). Use scanner: trivy, or turn on enhanced scanning (Amazon Inspector) for the registry.',
  );

const scanEligibilityExpired = (what: string, said: string): UserError =>
  new UserError(
    `ECR no longer scans ${what} (SCAN_ELIGIBILITY_EXPIRED).${said}`,
    "The registry's enhanced scanning duration for pushed images has lapsed: push the image again or lengthen the scan duration in the registry's scanning configuration.",
  );

const scanLimitExceeded = (what: string, said: string): UserError =>
  new UserError(
    `ECR refused to scan ${what} (LIMIT_EXCEEDED).${said}`,
    'Basic scanning allows one scan per image per 24 hours; use the existing findings or scanner: trivy.',
  );

function failure(status: string, description: string | undefined, what: string): UserError {
  const said = description ? ` ECR says: ${description}` : '';
  switch (status) {
    case 'UNSUPPORTED_IMAGE':
      return unsupportedImage(what, said);
    case 'FAILED':
      return new UserError(
        `The ECR scan of ${what} failed.${said}`,
        'Re-run the job; if it fails again, scan with scanner: trivy.',
      );
    case 'SCAN_ELIGIBILITY_EXPIRED':
      return scanEligibilityExpired(what, said);
    case 'FINDINGS_UNAVAILABLE':
      return new UserError(
        `ECR has no findings for ${what} (FINDINGS_UNAVAILABLE).${said}`,
        'The image may have been deleted or archived, or Inspector lost track of it; push it again.',
      );
    case 'LIMIT_EXCEEDED':
      return scanLimitExceeded(what, said);
    case 'IMAGE_ARCHIVED':
      return new UserError(
        `${what} is archived in ECR and is not scanned (IMAGE_ARCHIVED).${said}`,
        'Restore the image before scanning it.',
      );
    default:
      return new UserError(`ECR reports scan status ${status} for ${what}.${said}`);
  }
}

async function allPages(client: ECRClient, req: EcrFindingsRequest): Promise<DescribeImageScanFindingsCommandOutput[]> {
  const pages: DescribeImageScanFindingsCommandOutput[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeImageScanFindingsCommand({
        registryId: req.registryId,
        repositoryName: req.repository,
        imageId: { imageDigest: req.digest },
        maxResults: req.pageSize ?? 1000,
        ...(nextToken ? { nextToken } : {}),
      }),
      { abortSignal: req.signal },
    );
    pages.push(page);
    nextToken = page.nextToken;
  } while (nextToken);
  return pages;
}

/**
 * Waits until ECR has findings for the image, then reads every page of them.
 * IN_PROGRESS and PENDING are waited through; ACTIVE (enhanced scanning, continuous)
 * is done once a scan has completed, which the SDK's own waiter never accepts; no scan
 * at all starts one (basic scanning) instead of failing.
 */
export async function ecrScanFindings(client: ECRClient, req: EcrFindingsRequest): Promise<EcrFindings> {
  const what = `${req.repository}@${req.digest}`;
  let started = false;
  const result = await poll<EcrFindings>(
    async () => {
      let pages: DescribeImageScanFindingsCommandOutput[];
      try {
        pages = await allPages(client, req);
      } catch (err) {
        const code = awsErrorCode(err);
        if (code === 'ScanNotFoundException' && !started) {
          await startScan(client, req, what);
          started = true;
          return { done: false, status: 'scan started (no scan existed for the image)' };
        }
        if (code === 'ScanNotFoundException') return { done: false, status: 'scan not visible yet' };
        if (code === 'ImageNotFoundException') {
          throw new UserError(
            `ECR has no image ${what}.`,
            'Check the image reference: it must be the digest image-build pushed to this repository.',
            { cause: err },
          );
        }
        if (code === 'RepositoryNotFoundException') {
          throw new UserError(
            `ECR repository ${req.repository} does not exist in registry ${req.registryId}.`,
            undefined,
            { cause: err },
          );
        }
        throw explainAccess(err, 'ecr:DescribeImageScanFindings', what);
      }
      const first = pages[0] as DescribeImageScanFindingsCommandOutput;
      const status = first.imageScanStatus?.status ?? 'UNKNOWN';
      const description = first.imageScanStatus?.description;
      const scanned = first.imageScanFindings;
      if (WAITING.has(status)) return { done: false, status: `${status}${description ? ` (${description})` : ''}` };
      if (
        status === 'ACTIVE' &&
        !scanned?.imageScanCompletedAt &&
        !(scanned?.enhancedFindings?.length || scanned?.findings?.length)
      ) {
        return { done: false, status: 'ACTIVE, first scan not completed yet' };
      }
      if (status !== 'COMPLETE' && status !== 'ACTIVE') throw failure(status, description, what);
      const findings = pages.flatMap((p) => p.imageScanFindings?.findings ?? []);
      const enhancedFindings = pages.flatMap((p) => p.imageScanFindings?.enhancedFindings ?? []);
      const mode =
        enhancedFindings.length > 0 ||
        status === 'ACTIVE' ||
        pages.some((p) => p.imageScanFindings?.enhancedFindings !== undefined)
          ? 'enhanced'
          : 'basic';
      return {
        done: true,
        value: {
          status,
          mode,
          ...(scanned?.imageScanCompletedAt ? { completedAt: scanned.imageScanCompletedAt.toISOString() } : {}),
          ...(scanned?.vulnerabilitySourceUpdatedAt
            ? { vulnerabilitySourceUpdatedAt: scanned.vulnerabilitySourceUpdatedAt.toISOString() }
            : {}),
          findings,
          enhancedFindings,
          severityCounts: (scanned?.findingSeverityCounts ?? {}) as Record<string, number>,
          started,
        },
      };
    },
    {
      what: `the ECR scan of ${what}`,
      timeoutMs: req.timeoutMs,
      initialDelayMs: 2000,
      maxDelayMs: 15_000,
      clock: req.clock ?? systemClock,
      ...(req.signal ? { signal: req.signal } : {}),
      onWait: ({ status }) => req.onWait?.(status),
      timeoutHint: 'Raise scan-timeout, or check the scan in the ECR console.',
    },
  ).catch((err: unknown) => {
    // Running out of time is the user's setting to change, not a bug.
    throw err instanceof PollTimeoutError ? new UserError(err.message, undefined, { cause: err }) : err;
  });
  return result;
}

const noScanWillStart = (what: string, err: unknown): UserError =>
  new UserError(
    `ECR has no scan for ${what} and will not start one: ${errorMessage(err)}`,
    'With enhanced scanning, Amazon Inspector scans images on push when the repository matches a scanning rule: check the registry scanning configuration. With basic scanning, enable scan on push or allow ecr:StartImageScan.',
    { cause: err },
  );

async function startScan(client: ECRClient, req: EcrFindingsRequest, what: string): Promise<void> {
  try {
    await client.send(
      new StartImageScanCommand({
        registryId: req.registryId,
        repositoryName: req.repository,
        imageId: { imageDigest: req.digest },
      }),
      { abortSignal: req.signal },
    );
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'UnsupportedImageTypeException') throw failure('UNSUPPORTED_IMAGE', errorMessage(err), what);
    if (code === 'LimitExceededException') throw failure('LIMIT_EXCEEDED', errorMessage(err), what);
    if (code === 'ValidationException') {
      throw noScanWillStart(what, err);
    }
    throw explainAccess(err, 'ecr:StartImageScan', what);
  }
}
