import type { GitHub, Repo } from './client.js';
import { httpStatus } from './client.js';
import { describeApprover, type Approver } from './approvers.js';

/**
 * An approval gate built from an issue and comment commands, for repositories whose plan
 * has no required reviewers. Who may decide is checked against GitHub, never against
 * what a comment says: a comment counts only when its author is a named approver (or an
 * active member of a named team), has write access to the repository, did not trigger
 * the run being approved, and never edited it. Everything else is ignored and reported.
 */

export interface Command {
  decision: 'approve' | 'reject';
  /** The text after the command on its line (for a reject, the reason). */
  reason: string;
}

/**
 * The command a comment gives: its first non-empty line must be `/approve` or `/reject`,
 * optionally followed by text. Anything else (quotes, commands later in the text) is not one.
 */
export function parseCommand(body: string): Command | undefined {
  const first =
    body
      .split(/\r?\n/)
      .find((line) => line.trim() !== '')
      ?.trim() ?? '';
  const m = /^\/(approve|reject)(?:\s+(.*))?$/i.exec(first);
  if (!m) return undefined;
  return { decision: (m[1] as string).toLowerCase() as Command['decision'], reason: (m[2] ?? '').trim().slice(0, 500) };
}

export interface CommentSeen {
  id: number;
  login: string;
  /** `Bot`, `User`, `Organization`… */
  type: string;
  body: string;
  createdAt: string;
  updatedAt: string;
  url: string;
}

export interface Decision {
  decision: 'approve' | 'reject';
  login: string;
  reason: string;
  commentUrl: string;
  at: string;
}

export interface Ignored {
  login: string;
  why: string;
  commentUrl: string;
}

/** What GitHub says about one person, asked once per run. */
export interface Authority {
  /** Their permission on the repository: admin, write, read or none. */
  permission: string;
  /** The named approver they count as (`@alice`, `@acme/release`), or undefined. */
  listedAs: string | undefined;
}

export interface JudgeContext {
  /** Who triggered the run (GITHUB_TRIGGERING_ACTOR and GITHUB_ACTOR, when they differ). */
  actors: readonly string[];
  /** The token's own login: its comments are the request, never a decision. */
  self: string;
  authority: (login: string) => Promise<Authority>;
}

/**
 * Reads comments in order and returns the first that decides, and why each one before
 * it did not. A reject needs the same standing as an approve, except that the person who
 * triggered the run may always stop it.
 */
export async function judge(
  comments: readonly CommentSeen[],
  ctx: JudgeContext,
): Promise<{ decision: Decision | undefined; ignored: Ignored[] }> {
  const ignored: Ignored[] = [];
  const actors = new Set(ctx.actors.filter(Boolean).map((a) => a.toLowerCase()));
  for (const c of comments) {
    const command = parseCommand(c.body);
    if (!command) continue;
    const login = c.login;
    const skip = (why: string) => ignored.push({ login, why, commentUrl: c.url });
    if (login.toLowerCase() === ctx.self.toLowerCase() || c.type === 'Bot' || login.endsWith('[bot]')) {
      skip('written by a bot');
      continue;
    }
    if (c.updatedAt !== c.createdAt) {
      skip('edited after it was written (write a new comment instead)');
      continue;
    }
    const self = actors.has(login.toLowerCase());
    if (command.decision === 'approve' && self) {
      skip('self-approval: they triggered the run being approved');
      continue;
    }
    const who = await ctx.authority(login);
    if (!(command.decision === 'reject' && self)) {
      if (!who.listedAs) {
        skip('not one of the approvers');
        continue;
      }
      if (who.permission !== 'admin' && who.permission !== 'write') {
        skip(`no write access to the repository (permission: ${who.permission})`);
        continue;
      }
    }
    return {
      decision: { decision: command.decision, login, reason: command.reason, commentUrl: c.url, at: c.createdAt },
      ignored,
    };
  }
  return { decision: undefined, ignored };
}

/**
 * An `authority` lookup against GitHub, cached per login: the collaborator permission
 * API, and for teams the team membership API (a token that may read the org's members).
 */
export function githubAuthority(
  gh: GitHub,
  repo: Repo,
  approvers: readonly Approver[],
  warn: (text: string) => void,
): (login: string) => Promise<Authority> {
  const cache = new Map<string, Promise<Authority>>();
  const lookup = async (login: string): Promise<Authority> => {
    let permission = 'none';
    try {
      const { data } = await gh.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
      permission = data.permission;
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
    const user = approvers.find((a) => a.kind === 'user' && a.login.toLowerCase() === login.toLowerCase());
    if (user) return { permission, listedAs: describeApprover(user) };
    for (const team of approvers) {
      if (team.kind !== 'team') continue;
      try {
        const { data } = await gh.rest.teams.getMembershipForUserInOrg({
          org: team.org,
          team_slug: team.slug,
          username: login,
        });
        if (data.state === 'active') return { permission, listedAs: describeApprover(team) };
      } catch (err) {
        const status = httpStatus(err);
        if (status === 403 || status === 401) {
          warn(
            `GitHub refused to show the members of ${describeApprover(team)} (HTTP ${status}): pass a github-token that may read the organization's members (a GitHub App token with members: read), or name the approvers one by one.`,
          );
        } else if (status !== 404) throw err;
      }
    }
    return { permission, listedAs: undefined };
  };
  return (login) => {
    const key = login.toLowerCase();
    let hit = cache.get(key);
    if (!hit) {
      hit = lookup(login);
      cache.set(key, hit);
    }
    return hit;
  };
}

/** The comments of an issue after `afterId` (our request), oldest first. */
export async function commentsAfter(gh: GitHub, repo: Repo, issue: number, afterId: number): Promise<CommentSeen[]> {
  const all = await gh.paginate(gh.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 });
  return all
    .filter((c) => c.id > afterId)
    .sort((a, b) => a.id - b.id)
    .map((c) => ({
      id: c.id,
      login: c.user?.login ?? '',
      type: c.user?.type ?? 'User',
      body: c.body ?? '',
      createdAt: c.created_at,
      updatedAt: c.updated_at,
      url: c.html_url,
    }));
}
