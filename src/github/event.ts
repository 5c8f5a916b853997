import { readFileSync } from 'node:fs';
import type { GitHub, Repo } from './client.js';

/** The parts of a webhook payload the actions read. */
export interface EventPayload {
  pull_request?: { number: number; labels?: Array<{ name: string }>; head?: { sha?: string } };
  issue?: { number: number; pull_request?: unknown };
  number?: number;
  [key: string]: unknown;
}

/** The event that started the workflow (GITHUB_EVENT_PATH), or {} outside a runner. */
export function readEvent(env: NodeJS.ProcessEnv = process.env): EventPayload {
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EventPayload;
  } catch {
    return {};
  }
}

/** The pull request of a pull_request / pull_request_target / issue_comment-on-PR event. */
export function pullRequestFromEvent(payload: EventPayload): number | undefined {
  if (payload.pull_request?.number) return payload.pull_request.number;
  if (payload.issue?.pull_request && payload.issue.number) return payload.issue.number;
  return undefined;
}

/**
 * The pull request a run belongs to: from the event, or (on a push, e.g. after a
 * merge) the pull request that brought `sha` in.
 */
export async function findPullRequest(
  gh: GitHub,
  repo: Repo,
  payload: EventPayload,
  sha: string | undefined,
): Promise<number | undefined> {
  const fromEvent = pullRequestFromEvent(payload);
  if (fromEvent !== undefined || !sha) return fromEvent;
  const { data } = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha, per_page: 10 });
  const merged = data.find((pr) => pr.merged_at) ?? data[0];
  return merged?.number;
}

/** The labels a pull request has now (the event's copy is stale after a label is added). */
export async function pullRequestLabels(gh: GitHub, repo: Repo, number: number): Promise<string[]> {
  const labels = await gh.paginate(gh.rest.issues.listLabelsOnIssue, { ...repo, issue_number: number, per_page: 100 });
  return labels.map((l) => l.name);
}

/** Events whose code and inputs come from a pull request's author, not from a writer. */
const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
]);

/**
 * Where a run stands towards what production uses: a pull request's run must not write it,
 * and only a run of the default branch (a push to it, a dispatch or schedule on it) may
 * write what the default branch's later builds import (a shared build cache).
 */
export interface RunTrust {
  pullRequest: boolean;
  defaultBranch: boolean;
  /** The default branch's name from the payload, empty when the payload lacks it. */
  defaultBranchName: string;
}

export function runTrust(env: NodeJS.ProcessEnv = process.env, payload: EventPayload = readEvent(env)): RunTrust {
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  const ref = env.GITHUB_REF ?? '';
  const repository = payload.repository as { default_branch?: unknown } | undefined;
  const defaultBranchName = typeof repository?.default_branch === 'string' ? repository.default_branch : '';
  const pullRequest = PULL_REQUEST_EVENTS.has(eventName) || ref.startsWith('refs/pull/');
  const defaultBranch = !pullRequest && defaultBranchName !== '' && ref === `refs/heads/${defaultBranchName}`;
  return { pullRequest, defaultBranch, defaultBranchName };
}

/**
 * The pull request of a run with its head commit: from a pull request event's payload, or
 * on a push (after a merge) from the pull request that brought `sha` in.
 */
export async function findPullRequestHead(
  gh: GitHub,
  repo: Repo,
  payload: EventPayload,
  sha: string | undefined,
): Promise<{ number: number; headSha: string | undefined } | undefined> {
  const fromEvent = pullRequestFromEvent(payload);
  if (fromEvent !== undefined) return { number: fromEvent, headSha: payload.pull_request?.head?.sha };
  if (!sha) return undefined;
  const { data } = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha, per_page: 10 });
  const merged = data.find((pr) => pr.merged_at) ?? data[0];
  return merged ? { number: merged.number, headSha: merged.head.sha } : undefined;
}
