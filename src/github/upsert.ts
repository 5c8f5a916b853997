import type { GitHub, Repo } from './client.js';
import { marker } from './markdown.js';

export type CommentMode = 'update' | 'new';

export interface CommentRef {
  id: number;
  body: string;
  url: string;
}

/**
 * The newest comment on an issue or PR that carries our hidden marker; with `author`, only
 * a comment that login wrote (anyone can write a comment with our marker in it).
 */
export async function findComment(
  gh: GitHub,
  repo: Repo,
  issueNumber: number,
  markerId: string,
  author?: string,
): Promise<CommentRef | undefined> {
  const tag = marker(markerId);
  const comments = await gh.paginate(gh.rest.issues.listComments, {
    ...repo,
    issue_number: issueNumber,
    per_page: 100,
  });
  const found = comments
    .filter((c) => (c.body ?? '').includes(tag) && (author === undefined || c.user?.login === author))
    .pop();
  return found ? { id: found.id, body: found.body ?? '', url: found.html_url } : undefined;
}

/**
 * Puts a comment with our marker on an issue or PR: edits the one already there
 * (`update`), or adds a new one and leaves earlier ones as history (`new`).
 */
export async function upsertComment(
  gh: GitHub,
  repo: Repo,
  issueNumber: number,
  markerId: string,
  body: string,
  mode: CommentMode = 'update',
  author?: string,
): Promise<CommentRef & { created: boolean }> {
  const existing = mode === 'update' ? await findComment(gh, repo, issueNumber, markerId, author) : undefined;
  if (existing) {
    const { data } = await gh.rest.issues.updateComment({ ...repo, comment_id: existing.id, body });
    return { id: data.id, body, url: data.html_url, created: false };
  }
  const { data } = await gh.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
  return { id: data.id, body, url: data.html_url, created: true };
}

export interface IssueRef {
  number: number;
  body: string;
  state: 'open' | 'closed';
  url: string;
}

/** The issue carrying our marker, open ones first, among issues with `label`. */
export async function findIssue(
  gh: GitHub,
  repo: Repo,
  markerId: string,
  label: string | undefined,
): Promise<IssueRef | undefined> {
  const tag = marker(markerId);
  const issues = await gh.paginate(gh.rest.issues.listForRepo, {
    ...repo,
    state: 'all',
    ...(label ? { labels: label } : {}),
    per_page: 100,
  });
  const ours = issues.filter((i) => !i.pull_request && (i.body ?? '').includes(tag));
  const pick = ours.find((i) => i.state === 'open') ?? ours[0];
  return pick
    ? {
        number: pick.number,
        body: pick.body ?? '',
        state: pick.state === 'closed' ? 'closed' : 'open',
        url: pick.html_url,
      }
    : undefined;
}

/**
 * Keeps one open issue per marker: creates it (or reopens a closed one), or edits the
 * open one. Returns what it did.
 */
export async function upsertIssue(
  gh: GitHub,
  repo: Repo,
  opts: {
    markerId: string;
    title: string;
    body: string;
    labels: string[];
    isCurrent?: (existingBody: string) => boolean;
  },
): Promise<{ issue: IssueRef; action: 'created' | 'reopened' | 'updated' | 'unchanged' }> {
  const existing = await findIssue(gh, repo, opts.markerId, opts.labels[0]);
  if (!existing) {
    const { data } = await gh.rest.issues.create({ ...repo, title: opts.title, body: opts.body, labels: opts.labels });
    return { issue: { number: data.number, body: opts.body, state: 'open', url: data.html_url }, action: 'created' };
  }
  if (existing.state === 'open' && (opts.isCurrent?.(existing.body) ?? existing.body === opts.body))
    return { issue: existing, action: 'unchanged' };
  const { data } = await gh.rest.issues.update({
    ...repo,
    issue_number: existing.number,
    title: opts.title,
    body: opts.body,
    ...(existing.state === 'closed' ? { state: 'open' as const } : {}),
  });
  return {
    issue: { number: data.number, body: opts.body, state: 'open', url: data.html_url },
    action: existing.state === 'closed' ? 'reopened' : 'updated',
  };
}

/** Closes an issue with a comment saying why. */
export async function closeIssue(gh: GitHub, repo: Repo, issueNumber: number, comment: string): Promise<void> {
  await gh.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: comment });
  await gh.rest.issues.update({ ...repo, issue_number: issueNumber, state: 'closed', state_reason: 'completed' });
}
