/**
 * Handlers for the GitHub stand-in (test/support/github-server.ts) used by the release
 * checks: comparing two commits by ancestry (the stand-in's commits and their parents),
 * and an environment's protection (required reviewers, wait timer, branch policy, custom
 * protection rules) as seeded with `setEnvironment`.
 * startGitHubServer installs them with the others; like every handler, the
 * requests and responses are checked against @octokit/openapi by the server.
 */
import type { GitHubServer, GitHubStore, Handler, RepoStore, User } from './github-server.js';

/** An environment's settings as a test seeds them (kept in the repository's `extra`). */
export interface EnvironmentSettings {
  reviewers?: Array<User | { team: string }>;
  waitTimerMinutes?: number;
  branchPolicy?: 'protected' | 'custom';
  /** Slugs of GitHub Apps whose custom protection rules are enabled. */
  customRules?: string[];
}

const envKey = (name: string) => `environment:${name}`;

export function setEnvironment(
  store: GitHubStore,
  owner: string,
  repo: string,
  name: string,
  settings: EnvironmentSettings,
): void {
  store.repo(owner, repo).extra.set(envKey(name), settings);
}

/** Every commit reachable from `sha` through parents, `sha` included. */
function ancestors(r: RepoStore, sha: string): Set<string> {
  const seen = new Set<string>();
  const queue = [sha];
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    if (seen.has(s)) continue;
    seen.add(s);
    queue.push(...(r.commits.get(s)?.parents ?? []));
  }
  return seen;
}

export function releaseHandlers(server: GitHubServer): Record<string, Handler> {
  void server;
  const notFound = () => ({
    status: 404,
    body: {
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest/commits/commits#compare-two-commits',
      status: '404',
    },
  });
  const environment = (store: GitHubStore, r: RepoStore, name: string) =>
    r.extra.get(envKey(name)) as EnvironmentSettings | undefined;
  return {
    'repos/get-environment': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const name = req.params.environment_name ?? '';
      // A job bound to an environment creates it, so by the time a step asks it exists: unseeded is bare.
      const e = environment(store, r, name) ?? {};
      let id = 9000;
      const rule = (type: string) => ({ id: ++id, node_id: `GA_${id}`, type });
      const team = (slug: string) => ({
        id: 77,
        node_id: 'T_77',
        url: `${store.baseUrl}/teams/77`,
        members_url: `${store.baseUrl}/teams/77/members{/member}`,
        name: slug,
        slug,
        description: null,
        permission: 'push',
        html_url: `${store.webUrl}/orgs/${r.owner}/teams/${slug}`,
        repositories_url: `${store.baseUrl}/teams/77/repos`,
        parent: null,
        type: 'organization',
      });
      const rules = [
        ...(e.waitTimerMinutes ? [{ ...rule('wait_timer'), wait_timer: e.waitTimerMinutes }] : []),
        ...(e.reviewers?.length
          ? [
              {
                ...rule('required_reviewers'),
                prevent_self_review: true,
                reviewers: e.reviewers.map((x) =>
                  'team' in x
                    ? { type: 'Team', reviewer: team(x.team) }
                    : { type: 'User', reviewer: store.userObject(x) },
                ),
              },
            ]
          : []),
        ...(e.branchPolicy ? [rule('branch_policy')] : []),
      ];
      const at = '2026-11-01T00:00:00Z';
      return {
        status: 200,
        body: {
          id: 4242,
          node_id: 'EN_4242',
          name,
          url: `${store.repoUrl(r)}/environments/${encodeURIComponent(name)}`,
          html_url: `${store.webUrl}/${r.owner}/${r.name}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`,
          created_at: at,
          updated_at: at,
          protection_rules: rules,
          deployment_branch_policy: e.branchPolicy
            ? {
                protected_branches: e.branchPolicy === 'protected',
                custom_branch_policies: e.branchPolicy === 'custom',
              }
            : null,
        },
      };
    },
    'repos/get-all-deployment-protection-rules': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const e = environment(store, r, req.params.environment_name ?? '');
      const rules = (e?.customRules ?? []).map((slug, i) => ({
        id: 300 + i,
        node_id: `DPR_${300 + i}`,
        enabled: true,
        app: { id: 500 + i, slug, integration_url: `${store.baseUrl}/apps/${slug}`, node_id: `A_${500 + i}` },
      }));
      return { status: 200, body: { total_count: rules.length, custom_deployment_protection_rules: rules } };
    },
    // GET /repos/{owner}/{repo}/compare/{base}...{head}: ahead / behind / identical / diverged by ancestry.
    'repos/compare-commits-with-basehead': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const [baseRef, headRef] = (req.params.basehead ?? '').split('...');
      const resolve = (ref: string | undefined) =>
        ref === undefined ? undefined : r.commits.has(ref) ? ref : r.branches.get(ref);
      const base = resolve(baseRef);
      const head = resolve(headRef);
      if (!base || !head || !r.commits.has(base) || !r.commits.has(head)) return notFound();
      const ofBase = ancestors(r, base);
      const ofHead = ancestors(r, head);
      const onlyHead = [...ofHead].filter((s) => !ofBase.has(s));
      const onlyBase = [...ofBase].filter((s) => !ofHead.has(s));
      const mergeBase = [...ofHead].find((s) => ofBase.has(s)) ?? base;
      const status =
        base === head ? 'identical' : onlyBase.length === 0 ? 'ahead' : onlyHead.length === 0 ? 'behind' : 'diverged';
      const repoUrl = store.repoUrl(r);
      const web = `${store.webUrl}/${r.owner}/${r.name}`;
      return {
        status: 200,
        body: {
          url: `${repoUrl}/compare/${baseRef}...${headRef}`,
          html_url: `${web}/compare/${baseRef}...${headRef}`,
          permalink_url: `${web}/compare/${r.owner}:${base.slice(0, 7)}...${r.owner}:${head.slice(0, 7)}`,
          diff_url: `${web}/compare/${baseRef}...${headRef}.diff`,
          patch_url: `${web}/compare/${baseRef}...${headRef}.patch`,
          base_commit: store.commitObject(r, r.commits.get(base)!),
          merge_base_commit: store.commitObject(r, r.commits.get(mergeBase)!),
          status,
          ahead_by: onlyHead.length,
          behind_by: onlyBase.length,
          total_commits: onlyHead.length,
          commits: onlyHead.map((s) => store.commitObject(r, r.commits.get(s)!)).slice(0, 1),
          files: [],
        },
      };
    },
  };
}
