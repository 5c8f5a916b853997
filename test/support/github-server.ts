import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ROOT } from './runner.js';
import { releaseHandlers } from './github-release.js';
import { approvalHandlers } from './github-approval.js';

/**
 * A stand-in for GitHub's REST API: an in-memory store plus route handlers keyed by
 * GitHub's operationId (`issues/create-comment`). Every request is matched against
 * GitHub's published OpenAPI description (@octokit/openapi) and checked there: the
 * route must exist, path and query parameters and the JSON body must fit the
 * operation (no undeclared body fields), and the response the handler gives must fit
 * the operation's schema for its status. Anything that does not is recorded in
 * `problems`, which tests assert to be empty, so a wrong route or field fails a test.
 *
 * Adding an API is adding handlers: `server.handle('repos/create-deployment', fn)`.
 */

// ajv and ajv-formats are CommonJS modules with a default export.
const Ajv = ((AjvModule as unknown as { default?: typeof AjvModule }).default ??
  AjvModule) as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: InstanceType<typeof Ajv>,
) => void;

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Array<Parameter | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> } | { $ref: string }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: {
    parameters: Record<string, Parameter>;
    responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  };
}

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  literalSegments: number;
  operation: Operation;
}

let loaded: { spec: Spec; routes: Route[]; ajv: InstanceType<typeof Ajv> } | undefined;

/** Loads api.github.com.json (not the package index, which loads every variant: ~400 MB). */
function openapi() {
  if (loaded) return loaded;
  const spec = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/@octokit/openapi/generated/api.github.com.json'), 'utf8'),
  ) as Spec;
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    const names: string[] = [];
    const regex = new RegExp(
      `^${template.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    const literalSegments = template.split('/').filter((seg) => seg && !seg.includes('{')).length;
    for (const [method, operation] of Object.entries(methods)) {
      if (!operation || typeof operation !== 'object' || !('operationId' in operation)) continue;
      routes.push({ method: method.toUpperCase(), template, regex, names, literalSegments, operation });
    }
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'gh', components: openapiToJsonSchema(spec.components) });
  loaded = { spec, routes, ajv };
  return loaded;
}

/**
 * OpenAPI 3.0's `nullable` is understood by ajv only beside a `type`; GitHub also puts
 * it beside `allOf` / `$ref`, so those become `anyOf: [schema, null]`.
 */
function openapiToJsonSchema<T>(node: T): T {
  if (Array.isArray(node)) return node.map(openapiToJsonSchema) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>))
    out[k] = k === 'example' || k === 'examples' ? v : openapiToJsonSchema(v);
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (out.nullable === true && out.type === undefined) {
    delete out.nullable;
    return { anyOf: [out, { type: 'null' }] } as T;
  }
  return out as T;
}

const compiled = new Map<string, ValidateFunction>();
function validator(key: string, schema: Schema): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) {
    const { ajv } = openapi();
    fn = ajv.compile(
      openapiToJsonSchema(
        JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"gh#/components/')) as Schema,
      ),
    );
    compiled.set(key, fn);
  }
  return fn;
}

function deref<T>(value: T | { $ref: string }): T {
  const ref = (value as { $ref?: string }).$ref;
  if (!ref) return value as T;
  const { spec } = openapi();
  let node: unknown = spec;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)[part];
  return node as T;
}

function describeErrors(fn: ValidateFunction): string {
  return (fn.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
    )
    .join('; ');
}

function coerce(value: string, schema: Schema | undefined): unknown {
  const type = schema?.type;
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

export interface GitHubRequest {
  method: string;
  path: string;
  operationId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  owner: string;
  repo: string;
}

export interface GitHubResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: GitHubRequest, store: GitHubStore) => GitHubResponse | Promise<GitHubResponse>;

export interface RecordedCall {
  method: string;
  path: string;
  operationId: string | undefined;
  status: number;
  body: unknown;
  response: unknown;
}

export interface User {
  login: string;
  id: number;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface IssueRecord {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: string[];
  user: User;
  isPullRequest: boolean;
  /** Pull requests only. */
  head?: { ref: string; sha: string };
  base?: { ref: string; sha: string };
  merged_at?: string | null;
  merge_commit_sha?: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface CommentRecord {
  id: number;
  issue: number;
  body: string;
  user: User;
  created_at: string;
  updated_at: string;
}

export interface RepoStore {
  owner: string;
  name: string;
  issues: Map<number, IssueRecord>;
  comments: Map<number, CommentRecord>;
  labels: Map<string, LabelRecord>;
  deployments: Map<number, DeploymentStore>;
  /** Commits the commits API knows, by sha. */
  commits: Map<string, CommitStore>;
  /** Branches: name → head sha. `main` is the default branch. */
  branches: Map<string, string>;
  /** Commit status states per sha (what create-deployment checks without required_contexts). */
  commitStatuses: Map<string, Array<'error' | 'failure' | 'pending' | 'success'>>;
  /** Free space for handlers added by other tests. */
  extra: Map<string, unknown>;
}

export interface DeploymentStatusStore {
  id: number;
  state: 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
  description: string;
  environment: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  creator: User;
}

export interface DeploymentStore {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  payload: Record<string, unknown> | string;
  transient_environment: boolean;
  production_environment: boolean;
  creator: User;
  created_at: string;
  updated_at: string;
  /** Oldest first. */
  statuses: DeploymentStatusStore[];
}

export interface CommitStore {
  sha: string;
  message: string;
  /** Committer date, ISO 8601. */
  date: string;
  author: { name: string; email: string; date: string };
  parents: string[];
}

/** Everything the stand-in knows; tests read and seed it directly. */
export class GitHubStore {
  private nextId = 1000;
  readonly repos = new Map<string, RepoStore>();
  /** Who the token belongs to. */
  actor: User = { login: 'github-actions[bot]', id: 41898282 };
  baseUrl = 'https://api.github.com';
  webUrl = 'https://github.com';

  id(): number {
    return this.nextId++;
  }

  now(): string {
    return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  repo(owner: string, name: string): RepoStore {
    const key = `${owner}/${name}`.toLowerCase();
    let r = this.repos.get(key);
    if (!r) {
      r = {
        owner,
        name,
        issues: new Map(),
        comments: new Map(),
        labels: new Map(),
        deployments: new Map(),
        commits: new Map(),
        branches: new Map(),
        commitStatuses: new Map(),
        extra: new Map(),
      };
      this.repos.set(key, r);
    }
    return r;
  }

  private nextNumber(r: RepoStore): number {
    return Math.max(0, ...r.issues.keys()) + 1;
  }

  label(r: RepoStore, name: string): LabelRecord {
    let l = r.labels.get(name.toLowerCase());
    if (!l) {
      l = { id: this.id(), name, color: 'ededed', description: '' };
      r.labels.set(name.toLowerCase(), l);
    }
    return l;
  }

  createIssue(
    owner: string,
    name: string,
    fields: { title: string; body?: string | null; labels?: string[]; user?: User },
  ): IssueRecord {
    const r = this.repo(owner, name);
    const now = this.now();
    const issue: IssueRecord = {
      number: this.nextNumber(r),
      id: this.id(),
      title: fields.title,
      body: fields.body ?? null,
      state: 'open',
      state_reason: null,
      labels: (fields.labels ?? []).map((l) => this.label(r, l).name),
      user: fields.user ?? this.actor,
      isPullRequest: false,
      created_at: now,
      updated_at: now,
      closed_at: null,
    };
    r.issues.set(issue.number, issue);
    return issue;
  }

  /** A pull request (also an issue, as on GitHub) with a head commit; merge it with `mergePullRequest`. */
  createPullRequest(
    owner: string,
    name: string,
    fields: { title: string; head: string; headSha: string; base?: string; labels?: string[] },
  ): IssueRecord {
    const issue = this.createIssue(owner, name, {
      title: fields.title,
      labels: fields.labels ?? [],
      user: { login: 'octocat', id: 583231 },
    });
    issue.isPullRequest = true;
    issue.head = { ref: fields.head, sha: fields.headSha };
    issue.base = { ref: fields.base ?? 'main', sha: '0'.repeat(40) };
    issue.merged_at = null;
    issue.merge_commit_sha = null;
    return issue;
  }

  mergePullRequest(owner: string, name: string, number: number, mergeSha: string): void {
    const pr = this.repo(owner, name).issues.get(number);
    if (!pr?.isPullRequest) throw new Error(`#${number} is not a pull request`);
    pr.state = 'closed';
    pr.merged_at = this.now();
    pr.closed_at = pr.merged_at;
    pr.merge_commit_sha = mergeSha;
  }

  // ---- deployments and commits ----

  /** A deployment as GitHub stores it; `created_at` lets tests seed a history in the past. */
  createDeployment(
    owner: string,
    name: string,
    fields: {
      environment: string;
      sha: string;
      ref?: string;
      task?: string;
      payload?: Record<string, unknown> | string;
      description?: string | null;
      production?: boolean;
      transient?: boolean;
      created_at?: string;
      creator?: User;
    },
  ): DeploymentStore {
    const r = this.repo(owner, name);
    const at = fields.created_at ?? this.now();
    const d: DeploymentStore = {
      id: this.id(),
      sha: fields.sha,
      ref: fields.ref ?? fields.sha,
      task: fields.task ?? 'deploy',
      environment: fields.environment,
      description: fields.description ?? '',
      payload: fields.payload ?? {},
      transient_environment: fields.transient ?? false,
      production_environment: fields.production ?? fields.environment === 'production',
      creator: fields.creator ?? this.actor,
      created_at: at,
      updated_at: at,
      statuses: [],
    };
    r.deployments.set(d.id, d);
    return d;
  }

  /**
   * Adds a status as GitHub does: `auto_inactive` (default true) marks earlier
   * successful deployments of the same non-transient, non-production environment
   * inactive when this one succeeds.
   */
  addDeploymentStatus(
    owner: string,
    name: string,
    id: number,
    fields: {
      state: DeploymentStatusStore['state'];
      description?: string;
      log_url?: string;
      environment_url?: string;
      environment?: string;
      created_at?: string;
      auto_inactive?: boolean;
      creator?: User;
    },
  ): DeploymentStatusStore {
    const r = this.repo(owner, name);
    const d = r.deployments.get(id);
    if (!d) throw new Error(`no deployment ${id}`);
    const at = fields.created_at ?? this.now();
    const previous = d.statuses.at(-1);
    const status: DeploymentStatusStore = {
      id: this.id(),
      state: fields.state,
      description: fields.description ?? '',
      environment: fields.environment ?? previous?.environment ?? d.environment,
      log_url: fields.log_url ?? `${this.webUrl}/${owner}/${name}/actions/runs/1`,
      environment_url: fields.environment_url ?? previous?.environment_url ?? '',
      created_at: at,
      creator: fields.creator ?? this.actor,
    };
    d.statuses.push(status);
    d.updated_at = at;
    if (fields.state === 'success' && (fields.auto_inactive ?? true)) {
      for (const other of r.deployments.values()) {
        if (
          other.id === d.id ||
          other.environment !== d.environment ||
          other.transient_environment ||
          other.production_environment
        )
          continue;
        if (other.statuses.at(-1)?.state !== 'success') continue;
        other.statuses.push({
          ...(other.statuses.at(-1) as DeploymentStatusStore),
          id: this.id(),
          state: 'inactive',
          description: '',
          created_at: at,
        });
        other.updated_at = at;
      }
    }
    return status;
  }

  /** A commit the commits API can return; `date` is the committer date. */
  addCommit(
    owner: string,
    name: string,
    sha: string,
    fields: { date: string; message?: string; authorDate?: string; parents?: string[] },
  ): CommitStore {
    const c: CommitStore = {
      sha,
      message: fields.message ?? `commit ${sha.slice(0, 7)}`,
      date: fields.date,
      author: { name: 'Octo Cat', email: 'octocat@example.com', date: fields.authorDate ?? fields.date },
      parents: fields.parents ?? [],
    };
    this.repo(owner, name).commits.set(sha, c);
    return c;
  }

  deploymentObject(r: RepoStore, d: DeploymentStore) {
    const url = `${this.repoUrl(r)}/deployments/${d.id}`;
    return {
      url,
      id: d.id,
      node_id: `DE_${d.id}`,
      sha: d.sha,
      ref: d.ref,
      task: d.task,
      payload: d.payload,
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      creator: this.userObject(d.creator),
      created_at: d.created_at,
      updated_at: d.updated_at,
      statuses_url: `${url}/statuses`,
      repository_url: this.repoUrl(r),
      transient_environment: d.transient_environment,
      production_environment: d.production_environment,
    };
  }

  deploymentStatusObject(r: RepoStore, d: DeploymentStore, s: DeploymentStatusStore) {
    const deploymentUrl = `${this.repoUrl(r)}/deployments/${d.id}`;
    return {
      url: `${deploymentUrl}/statuses/${s.id}`,
      id: s.id,
      node_id: `DES_${s.id}`,
      state: s.state,
      creator: this.userObject(s.creator),
      description: s.description,
      environment: s.environment,
      target_url: s.log_url,
      created_at: s.created_at,
      updated_at: s.created_at,
      deployment_url: deploymentUrl,
      repository_url: this.repoUrl(r),
      // GitHub sends "" for URLs never set, which its own description (format: uri)
      // rejects: the optional ones are left out, target_url (required) stays.
      ...(s.environment_url ? { environment_url: s.environment_url } : {}),
      ...(s.log_url ? { log_url: s.log_url } : {}),
    };
  }

  commitObject(r: RepoStore, c: CommitStore) {
    const api = `${this.repoUrl(r)}/commits/${c.sha}`;
    const gitApi = `${this.repoUrl(r)}/git/commits/${c.sha}`;
    return {
      url: api,
      sha: c.sha,
      node_id: `C_${c.sha.slice(0, 12)}`,
      html_url: `${this.webUrl}/${r.owner}/${r.name}/commit/${c.sha}`,
      comments_url: `${api}/comments`,
      commit: {
        url: gitApi,
        author: c.author,
        committer: { name: 'GitHub', email: 'noreply@github.com', date: c.date },
        message: c.message,
        comment_count: 0,
        tree: { sha: 'f'.repeat(40), url: `${this.repoUrl(r)}/git/trees/${'f'.repeat(40)}` },
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      author: this.userObject({ login: 'octocat', id: 583231 }),
      committer: this.userObject({ login: 'web-flow', id: 19864447 }),
      parents: c.parents.map((p) => ({
        sha: p,
        url: `${this.repoUrl(r)}/commits/${p}`,
        html_url: `${this.webUrl}/${r.owner}/${r.name}/commit/${p}`,
      })),
      stats: { additions: 1, deletions: 0, total: 1 },
      files: [],
    };
  }

  comment(owner: string, name: string, issue: number, body: string, user: User = this.actor): CommentRecord {
    const r = this.repo(owner, name);
    const now = this.now();
    const c: CommentRecord = { id: this.id(), issue, body, user, created_at: now, updated_at: now };
    r.comments.set(c.id, c);
    return c;
  }

  commentsOn(owner: string, name: string, issue: number): CommentRecord[] {
    return [...this.repo(owner, name).comments.values()].filter((c) => c.issue === issue).sort((a, b) => a.id - b.id);
  }

  // ---- GitHub-shaped objects ----

  userObject(u: User) {
    const url = `${this.baseUrl}/users/${encodeURIComponent(u.login)}`;
    return {
      login: u.login,
      id: u.id,
      node_id: `U_${u.id}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      gravatar_id: '',
      url,
      html_url: `${this.webUrl}/${encodeURIComponent(u.login)}`,
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: u.login.endsWith('[bot]') ? 'Bot' : 'User',
      site_admin: false,
    };
  }

  labelObject(r: RepoStore, l: LabelRecord) {
    return {
      id: l.id,
      node_id: `LA_${l.id}`,
      url: `${this.baseUrl}/repos/${r.owner}/${r.name}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      description: l.description,
      color: l.color,
      default: false,
    };
  }

  repoUrl(r: RepoStore): string {
    return `${this.baseUrl}/repos/${r.owner}/${r.name}`;
  }

  issueObject(r: RepoStore, i: IssueRecord) {
    const url = `${this.repoUrl(r)}/issues/${i.number}`;
    const comments = [...r.comments.values()].filter((c) => c.issue === i.number).length;
    return {
      id: i.id,
      node_id: `I_${i.id}`,
      url,
      repository_url: this.repoUrl(r),
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${this.webUrl}/${r.owner}/${r.name}/${i.isPullRequest ? 'pull' : 'issues'}/${i.number}`,
      number: i.number,
      state: i.state,
      state_reason: i.state_reason,
      title: i.title,
      body: i.body,
      user: this.userObject(i.user),
      labels: i.labels.map((name) => this.labelObject(r, this.label(r, name))),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments,
      ...(i.isPullRequest
        ? {
            pull_request: {
              url: `${this.repoUrl(r)}/pulls/${i.number}`,
              html_url: `${this.webUrl}/${r.owner}/${r.name}/pull/${i.number}`,
              diff_url: `${this.webUrl}/${r.owner}/${r.name}/pull/${i.number}.diff`,
              patch_url: `${this.webUrl}/${r.owner}/${r.name}/pull/${i.number}.patch`,
              merged_at: i.merged_at ?? null,
            },
          }
        : {}),
      closed_at: i.closed_at,
      created_at: i.created_at,
      updated_at: i.updated_at,
      author_association: 'MEMBER',
    };
  }

  commentObject(r: RepoStore, c: CommentRecord) {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${this.repoUrl(r)}/issues/comments/${c.id}`,
      html_url: `${this.webUrl}/${r.owner}/${r.name}/issues/${c.issue}#issuecomment-${c.id}`,
      body: c.body,
      user: this.userObject(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      issue_url: `${this.repoUrl(r)}/issues/${c.issue}`,
      author_association: 'MEMBER',
    };
  }

  repositoryObject(r: RepoStore) {
    const api = this.repoUrl(r);
    const web = `${this.webUrl}/${r.owner}/${r.name}`;
    const now = this.now();
    const urls = Object.fromEntries(
      [
        ['archive_url', '/{archive_format}{/ref}'],
        ['assignees_url', '/assignees{/user}'],
        ['blobs_url', '/git/blobs{/sha}'],
        ['branches_url', '/branches{/branch}'],
        ['collaborators_url', '/collaborators{/collaborator}'],
        ['comments_url', '/comments{/number}'],
        ['commits_url', '/commits{/sha}'],
        ['compare_url', '/compare/{base}...{head}'],
        ['contents_url', '/contents/{+path}'],
        ['contributors_url', '/contributors'],
        ['deployments_url', '/deployments'],
        ['downloads_url', '/downloads'],
        ['events_url', '/events'],
        ['forks_url', '/forks'],
        ['git_commits_url', '/git/commits{/sha}'],
        ['git_refs_url', '/git/refs{/sha}'],
        ['git_tags_url', '/git/tags{/sha}'],
        ['hooks_url', '/hooks'],
        ['issue_comment_url', '/issues/comments{/number}'],
        ['issue_events_url', '/issues/events{/number}'],
        ['issues_url', '/issues{/number}'],
        ['keys_url', '/keys{/key_id}'],
        ['labels_url', '/labels{/name}'],
        ['languages_url', '/languages'],
        ['merges_url', '/merges'],
        ['milestones_url', '/milestones{/number}'],
        ['notifications_url', '/notifications{?since,all,participating}'],
        ['pulls_url', '/pulls{/number}'],
        ['releases_url', '/releases{/id}'],
        ['stargazers_url', '/stargazers'],
        ['statuses_url', '/statuses/{sha}'],
        ['subscribers_url', '/subscribers'],
        ['subscription_url', '/subscription'],
        ['tags_url', '/tags'],
        ['teams_url', '/teams'],
        ['trees_url', '/git/trees{/sha}'],
      ].map(([k, suffix]) => [k, `${api}${suffix}`]),
    );
    return {
      id: 1296269,
      node_id: 'R_1296269',
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      owner: this.userObject({ login: r.owner, id: 1 }),
      private: true,
      html_url: web,
      description: null,
      fork: false,
      url: api,
      ...urls,
      clone_url: `${web}.git`,
      git_url: `git://github.com/${r.owner}/${r.name}.git`,
      ssh_url: `git@github.com:${r.owner}/${r.name}.git`,
      svn_url: web,
      mirror_url: null,
      homepage: null,
      language: 'HCL',
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      size: 1,
      default_branch: 'main',
      open_issues: 0,
      open_issues_count: 0,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      archived: false,
      disabled: false,
      license: null,
      pushed_at: now,
      created_at: now,
      updated_at: now,
    };
  }

  pullRequestSimpleObject(r: RepoStore, i: IssueRecord) {
    const api = `${this.repoUrl(r)}/pulls/${i.number}`;
    const web = `${this.webUrl}/${r.owner}/${r.name}/pull/${i.number}`;
    const repository = this.repositoryObject(r);
    const user = this.userObject(i.user);
    const side = (s: { ref: string; sha: string }) => ({
      label: `${r.owner}:${s.ref}`,
      ref: s.ref,
      repo: repository,
      sha: s.sha,
      user,
    });
    const link = (href: string) => ({ href });
    return {
      url: api,
      id: i.id,
      node_id: `PR_${i.id}`,
      html_url: web,
      diff_url: `${web}.diff`,
      patch_url: `${web}.patch`,
      issue_url: `${this.repoUrl(r)}/issues/${i.number}`,
      commits_url: `${api}/commits`,
      review_comments_url: `${api}/comments`,
      review_comment_url: `${this.repoUrl(r)}/pulls/comments{/number}`,
      comments_url: `${this.repoUrl(r)}/issues/${i.number}/comments`,
      statuses_url: `${this.repoUrl(r)}/statuses/${i.head?.sha ?? ''}`,
      number: i.number,
      state: i.state,
      locked: false,
      title: i.title,
      user,
      body: i.body,
      labels: i.labels.map((name) => this.labelObject(r, this.label(r, name))),
      milestone: null,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      merged_at: i.merged_at ?? null,
      merge_commit_sha: i.merge_commit_sha ?? null,
      assignee: null,
      head: side(i.head ?? { ref: 'head', sha: '0'.repeat(40) }),
      base: side(i.base ?? { ref: 'main', sha: '0'.repeat(40) }),
      _links: {
        self: link(api),
        html: link(web),
        issue: link(`${this.repoUrl(r)}/issues/${i.number}`),
        comments: link(`${this.repoUrl(r)}/issues/${i.number}/comments`),
        review_comments: link(`${api}/comments`),
        review_comment: link(`${this.repoUrl(r)}/pulls/comments{/number}`),
        commits: link(`${api}/commits`),
        statuses: link(`${this.repoUrl(r)}/statuses/${i.head?.sha ?? ''}`),
      },
      author_association: 'MEMBER',
      auto_merge: null,
    };
  }
}

const notFound = (): GitHubResponse => ({
  status: 404,
  body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
});

/** Pages a list the way GitHub does (per_page, page) and sets a Link header for the next page. */
export function paged<T>(req: GitHubRequest, items: T[], baseUrl: string): GitHubResponse {
  const perPage = Math.min(100, Number(req.query.get('per_page') ?? 30));
  const page = Math.max(1, Number(req.query.get('page') ?? 1));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (page * perPage < items.length) {
    const next = new URLSearchParams(req.query);
    next.set('page', String(page + 1));
    next.set('per_page', String(perPage));
    headers.link = `<${baseUrl}${req.path}?${next.toString()}>; rel="next"`;
  }
  return { status: 200, body: slice, headers };
}

/** Issues, issue comments, labels on issues, and pull requests of a commit. */
export function issueHandlers(server: GitHubServer): Record<string, Handler> {
  return {
    'issues/list-for-repo': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const state = req.query.get('state') ?? 'open';
      const labels = (req.query.get('labels') ?? '')
        .split(',')
        .filter(Boolean)
        .map((l) => l.toLowerCase());
      const items = [...r.issues.values()]
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
        .sort((a, b) => b.number - a.number)
        .map((i) => store.issueObject(r, i));
      return paged(req, items, server.url);
    },
    'issues/get': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const issue = r.issues.get(Number(req.params.issue_number));
      return issue ? { status: 200, body: store.issueObject(r, issue) } : notFound();
    },
    'issues/create': (req, store) => {
      const b = req.body as { title: string | number; body?: string; labels?: Array<string | { name?: string }> };
      const labels = (b.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean);
      const issue = store.createIssue(req.owner, req.repo, { title: String(b.title), body: b.body ?? null, labels });
      const r = store.repo(req.owner, req.repo);
      return {
        status: 201,
        body: store.issueObject(r, issue),
        headers: { location: `${store.repoUrl(r)}/issues/${issue.number}` },
      };
    },
    'issues/update': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const issue = r.issues.get(Number(req.params.issue_number));
      if (!issue) return notFound();
      const b = req.body as {
        title?: string;
        body?: string | null;
        state?: 'open' | 'closed';
        state_reason?: string | null;
        labels?: Array<string | { name?: string }>;
      };
      if (b.title !== undefined) issue.title = String(b.title);
      if (b.body !== undefined) issue.body = b.body;
      if (b.labels !== undefined)
        issue.labels = b.labels
          .map((l) => (typeof l === 'string' ? l : (l.name ?? '')))
          .filter(Boolean)
          .map((l) => store.label(r, l).name);
      if (b.state !== undefined && b.state !== issue.state) {
        issue.state = b.state;
        issue.closed_at = b.state === 'closed' ? store.now() : null;
        issue.state_reason = b.state === 'closed' ? (b.state_reason ?? 'completed') : 'reopened';
      }
      issue.updated_at = store.now();
      return { status: 200, body: store.issueObject(r, issue) };
    },
    'issues/list-comments': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      if (!r.issues.has(Number(req.params.issue_number))) return notFound();
      const items = store
        .commentsOn(req.owner, req.repo, Number(req.params.issue_number))
        .map((c) => store.commentObject(r, c));
      return paged(req, items, server.url);
    },
    'issues/create-comment': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const number = Number(req.params.issue_number);
      if (!r.issues.has(number)) return notFound();
      const body = String((req.body as { body: string }).body);
      if (body.length > 65_536) {
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'IssueComment',
                code: 'custom',
                field: 'body',
                message: 'body is too long (maximum is 65536 characters)',
              },
            ],
            documentation_url: 'https://docs.github.com/rest',
          },
        };
      }
      const c = store.comment(req.owner, req.repo, number, body);
      return {
        status: 201,
        body: store.commentObject(r, c),
        headers: { location: `${store.repoUrl(r)}/issues/comments/${c.id}` },
      };
    },
    'issues/update-comment': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const c = r.comments.get(Number(req.params.comment_id));
      if (!c) return notFound();
      const body = String((req.body as { body: string }).body);
      if (body.length > 65_536) {
        return {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'IssueComment',
                code: 'custom',
                field: 'body',
                message: 'body is too long (maximum is 65536 characters)',
              },
            ],
            documentation_url: 'https://docs.github.com/rest',
          },
        };
      }
      c.body = body;
      c.updated_at = store.now();
      return { status: 200, body: store.commentObject(r, c) };
    },
    'issues/list-labels-on-issue': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const issue = r.issues.get(Number(req.params.issue_number));
      if (!issue) return notFound();
      return paged(
        req,
        issue.labels.map((n) => store.labelObject(r, store.label(r, n))),
        server.url,
      );
    },
    'repos/list-pull-requests-associated-with-commit': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const sha = req.params.commit_sha;
      const items = [...r.issues.values()]
        .filter((i) => i.isPullRequest && (i.head?.sha === sha || i.merge_commit_sha === sha))
        .map((i) => store.pullRequestSimpleObject(r, i));
      return paged(req, items, server.url);
    },
  };
}

const DOCS = 'https://docs.github.com/rest';
const invalid = (message: string, errors?: Array<Record<string, unknown>>): GitHubResponse => ({
  status: 422,
  body: { message, documentation_url: DOCS, ...(errors ? { errors } : {}) },
});

/**
 * Deployments, their statuses, and commits, with the refusals GitHub makes: an unknown
 * ref (422), status checks not all green when `required_contexts` is left out (409),
 * a branch merged with the default one unless `auto_merge: false` (202), a status
 * description over 140 characters (422).
 */
export function deploymentHandlers(server: GitHubServer): Record<string, Handler> {
  const resolveRef = (r: RepoStore, ref: string): string | undefined =>
    /^[0-9a-f]{40}$/.test(ref) ? ref : r.branches.get(ref);
  return {
    'repos/create-deployment': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const b = req.body as {
        ref: string;
        task?: string;
        auto_merge?: boolean;
        required_contexts?: string[];
        payload?: Record<string, unknown> | string;
        environment?: string;
        description?: string | null;
        transient_environment?: boolean;
        production_environment?: boolean;
      };
      const sha = resolveRef(r, b.ref);
      if (!sha) return invalid(`No ref found for: ${b.ref}`);
      if (b.required_contexts === undefined) {
        const states = r.commitStatuses.get(sha) ?? [];
        if (states.some((st) => st !== 'success')) {
          return {
            status: 409,
            body: { message: `Conflict: Commit status checks failed for ${b.ref}.`, documentation_url: DOCS },
          };
        }
      }
      if (b.auto_merge !== false && r.branches.has(b.ref) && b.ref !== 'main') {
        return { status: 202, body: { message: `Auto-merged main into ${b.ref} on deployment.` } };
      }
      const environment = b.environment ?? 'production';
      const d = store.createDeployment(req.owner, req.repo, {
        environment,
        sha,
        ref: b.ref,
        task: b.task ?? 'deploy',
        payload: b.payload ?? {},
        description: b.description ?? '',
        transient: b.transient_environment ?? false,
        production: b.production_environment ?? environment === 'production',
      });
      return {
        status: 201,
        body: store.deploymentObject(r, d),
        headers: { location: `${store.repoUrl(r)}/deployments/${d.id}` },
      };
    },
    'repos/list-deployments': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const filter = (name: string, value: (d: DeploymentStore) => string) => {
        const wanted = req.query.get(name);
        return (d: DeploymentStore) => wanted === null || wanted === 'none' || value(d) === wanted;
      };
      const checks = [
        filter('sha', (d) => d.sha),
        filter('ref', (d) => d.ref),
        filter('task', (d) => d.task),
        filter('environment', (d) => d.environment),
      ];
      const items = [...r.deployments.values()]
        .filter((d) => checks.every((c) => c(d)))
        .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id)
        .map((d) => store.deploymentObject(r, d));
      return paged(req, items, server.url);
    },
    'repos/get-deployment': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const d = r.deployments.get(Number(req.params.deployment_id));
      return d ? { status: 200, body: store.deploymentObject(r, d) } : notFound();
    },
    'repos/create-deployment-status': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const d = r.deployments.get(Number(req.params.deployment_id));
      if (!d) return notFound();
      const b = req.body as {
        state: DeploymentStatusStore['state'];
        target_url?: string;
        log_url?: string;
        description?: string;
        environment?: string;
        environment_url?: string;
        auto_inactive?: boolean;
      };
      if ((b.description ?? '').length > 140) {
        return invalid('Validation Failed', [
          {
            resource: 'DeploymentStatus',
            code: 'custom',
            field: 'description',
            message: 'description is too long (maximum is 140 characters)',
          },
        ]);
      }
      const s = store.addDeploymentStatus(req.owner, req.repo, d.id, {
        state: b.state,
        description: b.description ?? '',
        log_url: b.log_url ?? b.target_url ?? '',
        ...(b.environment_url !== undefined ? { environment_url: b.environment_url } : {}),
        ...(b.environment !== undefined ? { environment: b.environment } : {}),
        ...(b.auto_inactive !== undefined ? { auto_inactive: b.auto_inactive } : {}),
      });
      return {
        status: 201,
        body: store.deploymentStatusObject(r, d, s),
        headers: { location: `${store.repoUrl(r)}/deployments/${d.id}/statuses/${s.id}` },
      };
    },
    'repos/list-deployment-statuses': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const d = r.deployments.get(Number(req.params.deployment_id));
      if (!d) return notFound();
      const items = [...d.statuses].reverse().map((s) => store.deploymentStatusObject(r, d, s));
      return paged(req, items, server.url);
    },
    'repos/get-commit': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const sha = resolveRef(r, req.params.ref ?? '') ?? req.params.ref ?? '';
      const c = r.commits.get(sha);
      return c
        ? { status: 200, body: store.commitObject(r, c) }
        : invalid(`No commit found for SHA: ${req.params.ref}`);
    },
  };
}

// ---- workflow runs (reconcile asks whether a rollout's owner still runs) ----

/** A workflow run as tests seed it: `setWorkflowRun(store, 'acme', 'app', 4242, { status: 'completed' })`. */
export interface WorkflowRunStore {
  id: number;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | null;
  run_attempt: number;
  updated_at: string;
}

export function setWorkflowRun(
  store: GitHubStore,
  owner: string,
  repo: string,
  id: number,
  fields: Partial<Omit<WorkflowRunStore, 'id'>> = {},
): WorkflowRunStore {
  const r = store.repo(owner, repo);
  const runs =
    (r.extra.get('workflow-runs') as Map<number, WorkflowRunStore> | undefined) ?? new Map<number, WorkflowRunStore>();
  r.extra.set('workflow-runs', runs);
  const run: WorkflowRunStore = {
    id,
    status: 'in_progress',
    conclusion: null,
    run_attempt: 1,
    updated_at: store.now(),
    ...runs.get(id),
    ...fields,
  };
  runs.set(id, run);
  return run;
}

/** `actions/get-workflow-run`: a seeded run, in the shape GitHub answers (404 for one never seeded). */
export function workflowRunHandlers(): Record<string, Handler> {
  return {
    'actions/get-workflow-run': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const run = (r.extra.get('workflow-runs') as Map<number, WorkflowRunStore> | undefined)?.get(
        Number(req.params.run_id),
      );
      if (!run) return notFound();
      const api = `${store.repoUrl(r)}/actions/runs/${run.id}`;
      const repository = store.repositoryObject(r);
      const sha = 'a'.repeat(40);
      const person = { name: 'Octo Cat', email: 'octocat@example.com' };
      return {
        status: 200,
        body: {
          id: run.id,
          node_id: `WFR_${run.id}`,
          name: 'release',
          head_branch: 'main',
          head_sha: sha,
          path: '.github/workflows/release.yml',
          display_title: 'release',
          run_number: run.id % 1000,
          run_attempt: run.run_attempt,
          event: 'push',
          status: run.status,
          conclusion: run.status === 'completed' ? (run.conclusion ?? 'cancelled') : null,
          workflow_id: 1,
          url: api,
          html_url: `${store.webUrl}/${r.owner}/${r.name}/actions/runs/${run.id}`,
          pull_requests: [],
          created_at: run.updated_at,
          updated_at: run.updated_at,
          jobs_url: `${api}/jobs`,
          logs_url: `${api}/logs`,
          check_suite_url: `${store.repoUrl(r)}/check-suites/1`,
          artifacts_url: `${api}/artifacts`,
          cancel_url: `${api}/cancel`,
          rerun_url: `${api}/rerun`,
          workflow_url: `${store.repoUrl(r)}/actions/workflows/1`,
          head_commit: {
            id: sha,
            tree_id: 'f'.repeat(40),
            message: 'release',
            timestamp: run.updated_at,
            author: person,
            committer: person,
          },
          repository,
          head_repository: repository,
        },
      };
    },
  };
}

export interface GitHubServer {
  url: string;
  store: GitHubStore;
  token: string;
  calls: RecordedCall[];
  /** Everything that did not fit GitHub's OpenAPI description; tests expect it empty. */
  problems: string[];
  handle(operationId: string, handler: Handler): void;
  /** Calls of one operation so far. */
  callsOf(operationId: string): RecordedCall[];
  /** Environment for a Job: GITHUB_API_URL pointing here. */
  env(): Record<string, string>;
  /** Forgets calls, problems and stored data (between test cases). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the stand-in on loopback with the issue and deployment handlers installed. */
export async function startGitHubServer(options: { token?: string } = {}): Promise<GitHubServer> {
  const { routes } = openapi();
  const handlers = new Map<string, Handler>();
  const token = options.token ?? 'ghs_standInToken0123456789';
  const server: GitHubServer = {
    url: '',
    store: new GitHubStore(),
    token,
    calls: [],
    problems: [],
    handle: (operationId, handler) => {
      if (!routes.some((r) => r.operation.operationId === operationId))
        throw new Error(`GitHub's OpenAPI description has no operation ${operationId}`);
      handlers.set(operationId, handler);
    },
    callsOf: (operationId) => server.calls.filter((c) => c.operationId === operationId),
    env: () => ({ GITHUB_API_URL: server.url }),
    reset: () => {
      server.calls.length = 0;
      server.problems.length = 0;
      server.store = new GitHubStore();
      server.store.baseUrl = server.url;
    },
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  for (const [id, handler] of Object.entries({
    ...issueHandlers(server),
    ...deploymentHandlers(server),
    ...workflowRunHandlers(),
    ...commitStatusHandlers(server),
    ...releaseHandlers(server),
    ...approvalHandlers(server),
  }))
    server.handle(id, handler);

  const send = (res: ServerResponse, r: GitHubResponse) => {
    res.writeHead(r.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      ...(r.headers ?? {}),
    });
    res.end(r.body === undefined ? '' : JSON.stringify(r.body));
  };

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', server.url);
        const method = req.method ?? 'GET';
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        const record = (operationId: string | undefined, r: GitHubResponse) => {
          server.calls.push({ method, path: url.pathname, operationId, status: r.status, body, response: r.body });
          send(res, r);
        };
        if (text) {
          try {
            body = JSON.parse(text);
          } catch {
            server.problems.push(`${method} ${url.pathname}: the body is not JSON`);
            return record(undefined, { status: 400, body: { message: 'Problems parsing JSON' } });
          }
        }
        const matches = routes.filter((r) => r.method === method && r.regex.test(url.pathname));
        const route = matches.sort((a, b) => b.literalSegments - a.literalSegments)[0];
        if (!route) {
          server.problems.push(`${method} ${url.pathname}: no such route in GitHub's REST API`);
          return record(undefined, notFound());
        }
        const op = route.operation;
        const where = `${method} ${route.template} (${op.operationId})`;
        const auth = req.headers.authorization ?? '';
        if (auth !== `token ${token}` && auth !== `Bearer ${token}`) {
          return record(op.operationId, {
            status: 401,
            body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
          });
        }
        const m = route.regex.exec(url.pathname) as RegExpExecArray;
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] as string)));

        const declared = (op.parameters ?? []).map((p) => deref<Parameter>(p));
        for (const p of declared.filter((d) => d.in === 'path')) {
          const value = coerce(params[p.name] ?? '', p.schema);
          if (p.schema) {
            const v = validator(`${op.operationId}:path:${p.name}`, p.schema);
            if (!v(value))
              server.problems.push(`${where}: path parameter ${p.name}=${params[p.name]}: ${describeErrors(v)}`);
          }
        }
        const queryDeclared = new Map(declared.filter((d) => d.in === 'query').map((d) => [d.name, d]));
        for (const [name, value] of url.searchParams) {
          const p = queryDeclared.get(name);
          if (!p) {
            server.problems.push(`${where}: query parameter '${name}' is not part of this operation`);
            continue;
          }
          if (p.schema) {
            const v = validator(`${op.operationId}:query:${name}`, p.schema);
            if (!v(coerce(value, p.schema)))
              server.problems.push(`${where}: query ${name}=${value}: ${describeErrors(v)}`);
          }
        }
        for (const p of queryDeclared.values()) {
          if (p.required && !url.searchParams.has(p.name))
            server.problems.push(`${where}: required query parameter '${p.name}' is missing`);
        }
        const bodySchema = op.requestBody?.content?.['application/json']?.schema;
        if (bodySchema) {
          if (body === undefined && op.requestBody?.required)
            server.problems.push(`${where}: the request body is required`);
          if (body !== undefined) {
            const v = validator(`${op.operationId}:body`, bodySchema);
            if (!v(body)) server.problems.push(`${where}: request body: ${describeErrors(v)}`);
            const props = (deref<Schema>(bodySchema as Schema).properties ?? {}) as Record<string, unknown>;
            if (body && typeof body === 'object' && !Array.isArray(body) && Object.keys(props).length > 0) {
              for (const key of Object.keys(body))
                if (!(key in props))
                  server.problems.push(`${where}: request body field '${key}' is not part of this operation`);
            }
          }
        } else if (body !== undefined && method !== 'GET') {
          server.problems.push(`${where}: takes no request body`);
        }

        const handler = handlers.get(op.operationId);
        if (!handler) {
          server.problems.push(`${where}: the stand-in has no handler for this operation`);
          return record(op.operationId, notFound());
        }
        const response = await handler(
          {
            method,
            path: url.pathname,
            operationId: op.operationId,
            params,
            query: url.searchParams,
            body,
            owner: params.owner ?? '',
            repo: params.repo ?? '',
          },
          server.store,
        );
        const spec = op.responses[String(response.status)] ?? op.responses.default;
        if (!spec) {
          server.problems.push(`${where}: GitHub never answers this operation with HTTP ${response.status}`);
        } else {
          const schema = deref<{ content?: Record<string, { schema?: Schema }> }>(spec).content?.['application/json']
            ?.schema;
          if (schema && response.body !== undefined) {
            const v = validator(`${op.operationId}:response:${response.status}`, schema);
            if (!v(response.body)) server.problems.push(`${where}: response ${response.status}: ${describeErrors(v)}`);
          }
        }
        record(op.operationId, response);
      })().catch((err: unknown) => {
        server.problems.push(`stand-in failure: ${String(err)}`);
        send(res, { status: 500, body: { message: String(err) } });
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server.store.baseUrl = server.url;
  return server;
}

// ---- Commit statuses (the channel terraform-plan hands the reviewed plan-id to terraform-apply through) ----

export interface CommitStatusStore {
  id: number;
  sha: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description: string | null;
  target_url: string | null;
  creator: User;
  created_at: string;
}

/** Every status of a repository, oldest first (kept in `extra`; `commitStatuses` keeps the states create-deployment checks). */
export function commitStatusesOf(r: RepoStore): CommitStatusStore[] {
  let list = r.extra.get('commit-statuses') as CommitStatusStore[] | undefined;
  if (!list) {
    list = [];
    r.extra.set('commit-statuses', list);
  }
  return list;
}

/** Adds a status as `creator` would (a test seeds one written by someone else this way). */
export function addCommitStatus(
  store: GitHubStore,
  owner: string,
  name: string,
  fields: Omit<CommitStatusStore, 'id' | 'created_at' | 'creator'> & { creator?: User },
): CommitStatusStore {
  const r = store.repo(owner, name);
  const status: CommitStatusStore = {
    ...fields,
    id: store.id(),
    creator: fields.creator ?? store.actor,
    created_at: store.now(),
  };
  commitStatusesOf(r).push(status);
  r.commitStatuses.set(fields.sha, [...(r.commitStatuses.get(fields.sha) ?? []), fields.state]);
  return status;
}

function commitStatusObject(store: GitHubStore, s: CommitStatusStore) {
  return {
    url: `${store.baseUrl}/repos/statuses/${s.sha}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${s.creator.id}?v=4`,
    id: s.id,
    node_id: `SC_${s.id}`,
    state: s.state,
    description: s.description,
    target_url: s.target_url,
    context: s.context,
    created_at: s.created_at,
    updated_at: s.created_at,
    creator: store.userObject(s.creator),
  };
}

/** POST /repos/{owner}/{repo}/statuses/{sha} and GET /repos/{owner}/{repo}/commits/{ref}/statuses (newest first, as GitHub lists them). */
export function commitStatusHandlers(server: GitHubServer): Record<string, Handler> {
  return {
    'repos/create-commit-status': (req, store) => {
      const b = req.body as {
        state: CommitStatusStore['state'];
        context?: string;
        description?: string | null;
        target_url?: string | null;
      };
      const sha = req.params.sha ?? '';
      if (!/^[0-9a-f]{40}$/.test(sha)) return invalid(`No commit found for SHA: ${sha}`);
      if ((b.description ?? '').length > 140) {
        return invalid('Validation Failed', [
          {
            resource: 'Status',
            code: 'custom',
            field: 'description',
            message: 'description is too long (maximum is 140 characters)',
          },
        ]);
      }
      const s = addCommitStatus(store, req.owner, req.repo, {
        sha,
        state: b.state,
        context: b.context ?? 'default',
        description: b.description ?? null,
        target_url: b.target_url ?? null,
      });
      return {
        status: 201,
        body: commitStatusObject(store, s),
        headers: { location: `${store.baseUrl}/repos/${req.owner}/${req.repo}/statuses/${sha}` },
      };
    },
    'repos/list-commit-statuses-for-ref': (req, store) => {
      const r = store.repo(req.owner, req.repo);
      const ref = req.params.ref ?? '';
      const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : r.branches.get(ref);
      const items = commitStatusesOf(r)
        .filter((s) => s.sha === sha)
        .reverse()
        .map((s) => commitStatusObject(store, s));
      return paged(req, items, server.url);
    },
  };
}
