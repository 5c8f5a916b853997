/**
 * Handlers for the GitHub stand-in (test/support/github-server.ts) used by the approval
 * action: a user's permission on the repository (the collaborator permission API) and a
 * user's membership of an organization's team, as seeded with `setPermission` and
 * `setTeam`. startGitHubServer installs them with the others; the server checks requests
 * and responses against @octokit/openapi like every route.
 */
import type { GitHubServer, GitHubStore, Handler, User } from './github-server.js';

type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';
const ROLE_TO_PERMISSION: Record<Permission, string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
  none: 'none',
};

const permissionKey = (login: string) => `permission:${login.toLowerCase()}`;
const teamKey = (org: string, slug: string) => `team:${org.toLowerCase()}/${slug.toLowerCase()}`;

/** A user's role on the repository (what GitHub computes from every grant). */
export function setPermission(store: GitHubStore, owner: string, repo: string, user: User, role: Permission): void {
  store.repo(owner, repo).extra.set(permissionKey(user.login), { user, role });
}

/** An organization's team and its active members (kept with the org's repository store). */
export function setTeam(store: GitHubStore, org: string, slug: string, members: string[]): void {
  store.repo(org, '.teams').extra.set(teamKey(org, slug), new Set(members.map((m) => m.toLowerCase())));
}

export function approvalHandlers(server: GitHubServer): Record<string, Handler> {
  void server;
  const notFound = () => ({
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
  });
  return {
    'repos/get-collaborator-permission-level': (req, store) => {
      const login = req.params.username ?? '';
      const seeded = store.repo(req.owner, req.repo).extra.get(permissionKey(login)) as
        { user: User; role: Permission } | undefined;
      // Someone GitHub knows but who has no grant on the repository: permission none.
      const user = seeded?.user ?? { login, id: 500000 + login.length };
      const role = seeded?.role ?? 'none';
      const rank = ['none', 'read', 'triage', 'write', 'maintain', 'admin'].indexOf(role);
      return {
        status: 200,
        body: {
          permission: ROLE_TO_PERMISSION[role],
          role_name: role === 'none' ? 'none' : role,
          user: {
            ...store.userObject(user),
            permissions: { pull: rank >= 1, triage: rank >= 2, push: rank >= 3, maintain: rank >= 4, admin: rank >= 5 },
            role_name: role,
          },
        },
      };
    },
    'teams/get-membership-for-user-in-org': (req, store) => {
      const org = req.params.org ?? '';
      const slug = req.params.team_slug ?? '';
      const members = store.repo(org, '.teams').extra.get(teamKey(org, slug)) as Set<string> | undefined;
      if (!members?.has((req.params.username ?? '').toLowerCase())) return notFound();
      return {
        status: 200,
        body: { url: `${store.baseUrl}/teams/77/memberships/${req.params.username}`, role: 'member', state: 'active' },
      };
    },
  };
}
