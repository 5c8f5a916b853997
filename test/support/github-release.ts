/**
 * Handlers for the GitHub stand-in (test/support/github-server.ts) used by the release
 * checks: comparing two commits by ancestry (the stand-in's commits and their parents).
 * startGitHubServer installs them with the others; like every handler, the
 * requests and responses are checked against @octokit/openapi by the server.
 */
import type { GitHubServer, Handler, RepoStore } from './github-server.js';

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
  const notFound = () => ({ status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/commits/commits#compare-two-commits', status: '404' } });
  return {
    // GET /repos/{owner}/{repo}/compare/{base}...{head}: ahead / behind / identical / diverged by ancestry.
    'repos/compare-commits-with-basehead': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const [baseRef, headRef] = (req.params.basehead ?? '').split('...');
      const resolve = (ref: string | undefined) => (ref === undefined ? undefined : r.commits.has(ref) ? ref : r.branches.get(ref));
      const base = resolve(baseRef);
      const head = resolve(headRef);
      if (!base || !head || !r.commits.has(base) || !r.commits.has(head)) return notFound();
      const ofBase = ancestors(r, base);
      const ofHead = ancestors(r, head);
      const onlyHead = [...ofHead].filter((s) => !ofBase.has(s));
      const onlyBase = [...ofBase].filter((s) => !ofHead.has(s));
      const mergeBase = [...ofHead].find((s) => ofBase.has(s)) ?? base;
      const status = base === head ? 'identical' : onlyBase.length === 0 ? 'ahead' : onlyHead.length === 0 ? 'behind' : 'diverged';
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
