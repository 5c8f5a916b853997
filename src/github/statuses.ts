import type { GitHub, Repo } from './client.js';

/**
 * Commit statuses as a channel between jobs that a commenter cannot write: only a token
 * with `statuses: write` on the repository can set one, and each carries its creator.
 * A reader accepts only statuses its expected identity created, so a status set by anyone
 * else under the same context is ignored, never trusted.
 */

/** The job token's identity: what GITHUB_TOKEN writes as. */
export const JOB_TOKEN_IDENTITY = 'github-actions[bot]';

/** GitHub refuses a status description over 140 characters. */
const DESCRIPTION_LIMIT = 140;

export interface StatusInput {
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  description: string;
  targetUrl?: string;
}

export async function setCommitStatus(gh: GitHub, repo: Repo, sha: string, status: StatusInput): Promise<void> {
  await gh.rest.repos.createCommitStatus({
    ...repo,
    sha,
    context: status.context,
    state: status.state,
    description: status.description.slice(0, DESCRIPTION_LIMIT),
    ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
  });
}

export interface TrustedStatus {
  description: string;
  targetUrl: string | undefined;
  creator: string;
  createdAt: string;
}

/**
 * The newest status of `context` on `sha` written by `author`, and the logins of any
 * others that wrote the same context (to say they were ignored).
 */
export async function trustedStatus(
  gh: GitHub,
  repo: Repo,
  sha: string,
  context: string,
  author: string,
): Promise<{ status: TrustedStatus | undefined; ignored: string[] }> {
  const statuses = await gh.paginate(gh.rest.repos.listCommitStatusesForRef, { ...repo, ref: sha, per_page: 100 });
  const mine = statuses.filter((s) => s.context === context);
  // GitHub lists the newest first.
  const trusted = mine.find((s) => s.creator?.login === author);
  const ignored = [
    ...new Set(mine.filter((s) => s.creator?.login !== author).map((s) => s.creator?.login ?? 'an unknown user')),
  ];
  return {
    status: trusted
      ? {
          description: trusted.description ?? '',
          targetUrl: trusted.target_url ?? undefined,
          creator: author,
          createdAt: trusted.created_at,
        }
      : undefined,
    ignored,
  };
}
