import { setSecret } from '@actions/core';
import { Octokit } from '@octokit/rest';
import { retry } from '../util/retry.js';
import { errorMessage, UserError } from '../util/errors.js';

export type GitHub = Octokit;

/** owner/name of the repository the workflow runs in. */
export interface Repo {
  owner: string;
  repo: string;
}

export function currentRepo(env: NodeJS.ProcessEnv = process.env): Repo {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo) throw new UserError('GITHUB_REPOSITORY is not set: this step must run in GitHub Actions.');
  return { owner, repo };
}

/** Status of an Octokit error, if it is one. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

function retryable(err: unknown): boolean {
  const status = httpStatus(err);
  if (status === undefined) return true; // network error
  if (status >= 500 || status === 429) return true;
  // Secondary rate limits answer 403 with a retry-after header.
  const headers = (err as { response?: { headers?: Record<string, string> } }).response?.headers ?? {};
  return status === 403 && (headers['retry-after'] !== undefined || headers['x-ratelimit-remaining'] === '0');
}

/**
 * The one way to make a GitHub REST client: the token masked first, GITHUB_API_URL
 * honoured (GitHub Enterprise Server, the test stand-in), and 5xx / rate-limit answers
 * retried with backoff and jitter. Uses the runtime's fetch, so nothing of
 * @actions/github's proxy agent (undici) is bundled.
 */
export function githubClient(token: string, env: NodeJS.ProcessEnv = process.env): GitHub {
  if (!token) {
    throw new UserError(
      'No GitHub token was given.',
      'Pass github-token: ${{ github.token }} (the default) and give the job the permissions it needs.',
    );
  }
  setSecret(token);
  const octokit = new Octokit({
    auth: token,
    baseUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/$/, ''),
    userAgent: 'platform-actions',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  octokit.hook.wrap('request', (request, options) =>
    retry(async () => request(options), { attempts: 3, baseDelayMs: 1000, isRetryable: retryable }),
  );
  return octokit;
}

/** A GitHub error as a readable message with what to do about the usual causes. */
export function explainGitHubError(err: unknown, what: string): UserError {
  const status = httpStatus(err);
  const hint =
    status === 403 || status === 404
      ? 'Give the job the permissions this needs (for example `permissions: pull-requests: write` for PR comments, `issues: write` for issues) or pass a token that has them.'
      : status === 401
        ? 'The token is not valid: check github-token.'
        : undefined;
  return new UserError(`GitHub refused to ${what}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err)}`, hint, {
    cause: err,
  });
}

/**
 * The token an action was given, or undefined when there is none: an empty input, or
 * the action.yml default expression seen literally (outside a runner).
 */
export function tokenOrUndefined(token: string | undefined): string | undefined {
  return token && !token.startsWith('${{') ? token : undefined;
}
