/**
 * The emulated world the sandbox runs in, built from the test harnesses: moto behind the
 * AWS proxy (which checks AssumeRoleWithWebIdentity against IAM trust policies), the
 * OIDC issuer, the GitHub REST stand-in (every call checked against GitHub's OpenAPI
 * description), and a real registry. Also the repository being delivered (commits, a pull
 * request) and the runner: jobs, steps run as the runner runs them, secrets watched.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAwsProxy, type AwsProxy } from '../../test/support/aws-proxy.js';
import { workloadClients } from '../../test/support/ecs-workload.js';
import { startMoto, type MotoServer } from '../../test/support/global-setup.js';
import { startGitHubServer, type GitHubServer } from '../../test/support/github-server.js';
import { startOidcIssuer, type JobIdentity, type OidcIssuer } from '../../test/support/oidc-issuer.js';
import { startRegistry, type LocalRegistry } from '../../test/support/registry.js';
import { Job, type StepResult } from '../../test/support/runner.js';
import type { Timeline } from './timeline.js';

export const OWNER = 'acme';
export const REPO = 'webapp';
export const REGION = 'us-east-1';

/** A workflow run: the jobs of one run share its id, event and commit. */
export interface WorkflowRun {
  workflow: string;
  runId: string;
  event: string;
  sha: string;
  ref?: string;
}

export interface StepMeta {
  stage: string;
  title: string;
  environment?: string;
  release?: number;
}

export class SandboxError extends Error {}

export class World {
  readonly secrets = new Set<string>();
  private readonly results: Array<{ meta: StepMeta; step: StepResult }> = [];
  private readonly jobs: Job[] = [];
  private readonly scratchDirs: string[] = [];
  private runs = 1000;
  private commits = 0;
  private head: string | undefined;
  readonly clients: ReturnType<typeof workloadClients>;

  private constructor(
    readonly timeline: Timeline,
    readonly moto: MotoServer,
    readonly proxy: AwsProxy,
    readonly issuer: OidcIssuer,
    readonly github: GitHubServer,
    readonly registry: LocalRegistry,
  ) {
    this.clients = workloadClients(moto.endpoint);
    this.secrets.add(github.token);
  }

  static async start(timeline: Timeline): Promise<World> {
    const started: Array<{ stop?: () => Promise<void>; close?: () => Promise<void> }> = [];
    try {
      // Services report running tasks (moto starts none by itself).
      const moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' });
      started.push(moto);
      const [proxy, issuer, github, registry] = await Promise.all([
        startAwsProxy(moto.endpoint),
        startOidcIssuer({ owner: OWNER, repo: REPO }),
        startGitHubServer(),
        startRegistry(),
      ]);
      started.push(proxy, issuer, github, registry);
      return new World(timeline, moto, proxy, issuer, github, registry);
    } catch (err) {
      await Promise.all(started.map((s) => (s.stop ?? s.close)?.call(s).catch(() => undefined)));
      throw err;
    }
  }

  get repo() {
    return this.github.store.repo(OWNER, REPO);
  }

  /**
   * A commit pushed now (its committer date is what lead time is measured from): on main,
   * after the last one, unless a branch is named.
   */
  commit(message: string, options: { branch?: string; parents?: string[] } = {}): string {
    const sha = createHash('sha1').update(`${message}\n${Date.now()}\n${++this.commits}`).digest('hex');
    const parents = options.parents ?? (this.head ? [this.head] : []);
    this.github.store.addCommit(OWNER, REPO, sha, {
      date: this.github.store.now(),
      message,
      parents: options.branch ? [] : parents,
    });
    this.repo.branches.set(options.branch ?? 'main', sha);
    if (!options.branch) this.head = sha;
    return sha;
  }

  /** A new workflow run of `workflow` on `sha`. */
  run(workflow: string, event: string, sha: string, ref = 'refs/heads/main'): WorkflowRun {
    return { workflow, runId: String(++this.runs), event, sha, ref };
  }

  /**
   * A job of a run on a fresh runner. `environment`: the job is bound to that GitHub
   * Environment, so its OIDC token says so. `aws`: the AWS CLI/SDK environment points at
   * the proxy (credentials come from aws-auth, or `env` for Terraform).
   */
  job(run: WorkflowRun, name: string, options: { environment?: string; env?: Record<string, string> } = {}): Job {
    const identity: Partial<JobIdentity> = {
      sha: run.sha,
      ref: run.ref ?? 'refs/heads/main',
      eventName: run.event,
      workflow: run.workflow,
      runId: run.runId,
      environment: options.environment,
    };
    const oidc = this.issuer.runnerEnv(identity);
    // The runner's token for the OIDC endpoint is a secret of the job like any other.
    this.secrets.add(oidc.ACTIONS_ID_TOKEN_REQUEST_TOKEN as string);
    const job = new Job({
      ...this.github.env(),
      ...oidc,
      GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
      GITHUB_REPOSITORY_OWNER: OWNER,
      GITHUB_SHA: run.sha,
      GITHUB_REF: run.ref ?? 'refs/heads/main',
      GITHUB_RUN_ID: run.runId,
      GITHUB_RUN_NUMBER: String(Number(run.runId) - 1000),
      GITHUB_WORKFLOW: run.workflow,
      GITHUB_JOB: name,
      GITHUB_EVENT_NAME: run.event,
      AWS_ENDPOINT_URL: this.proxy.url,
      ...options.env,
    });
    this.jobs.push(job);
    return job;
  }

  /** A folder outside any job (an administrator's checkout), removed when the world stops. */
  scratch(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), `pa-sandbox-${name}-`));
    this.scratchDirs.push(dir);
    return dir;
  }

  /**
   * Runs one step of a job and records it. A step whose exit status is not the expected
   * one stops the sandbox with its log.
   */
  async step(
    job: Job,
    action: string,
    inputs: Record<string, string>,
    meta: StepMeta,
    options: {
      expect?: 'success' | 'failure';
      facts?: (step: StepResult) => string[];
      post?: StepResult;
      killAt?: RegExp;
    } = {},
  ): Promise<StepResult> {
    const startedAt = this.timeline.now();
    const step = options.post
      ? await job.post(options.post)
      : options.killAt
        ? await killed(job, action, inputs, options.killAt)
        : await job.run(action, { inputs });
    this.results.push({ meta, step });
    this.collectSecrets(step);
    const expect = options.expect ?? 'success';
    const ok = step.exitCode === 0;
    let facts: string[];
    try {
      facts = options.facts ? options.facts(step) : [];
    } catch (err) {
      facts = [`(could not read the step's outputs: ${(err as Error).message})`];
    }
    if (!ok && step.failure) facts.unshift(step.failure.split('\n')[0] as string);
    this.timeline.add(
      {
        kind: 'action',
        ...meta,
        title: options.post ? `${meta.title} (post)` : meta.title,
        startedAt,
        durationMs: this.timeline.now() - startedAt,
        ok,
        facts,
      },
      step.summary,
    );
    if (ok !== (expect === 'success')) {
      throw new SandboxError(
        `${meta.title}${meta.environment ? ` in ${meta.environment}` : ''} ${ok ? 'succeeded, but the sandbox expected it to fail' : `failed (exit ${step.exitCode})`}.\n` +
          `${step.failure ?? ''}\n--- its log (last 60 lines) ---\n${step.log.split('\n').slice(-60).join('\n')}`,
      );
    }
    return step;
  }

  /** Something the emulated world did (not an action): timed and recorded like a step. */
  async act<T>(meta: StepMeta, what: () => Promise<T>, facts: (value: T) => string[] = () => []): Promise<T> {
    const startedAt = this.timeline.now();
    const value = await what();
    this.timeline.add({
      kind: 'world',
      ...meta,
      startedAt,
      durationMs: this.timeline.now() - startedAt,
      ok: true,
      facts: facts(value),
    });
    return value;
  }

  private collectSecrets(step: StepResult): void {
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      const value = step.exported[key];
      if (value) this.secrets.add(value);
    }
    for (const key of ['aws-access-key-id', 'aws-secret-access-key', 'aws-session-token']) {
      const value = step.outputs[key];
      if (value) this.secrets.add(value);
    }
  }

  /**
   * Every place a secret must not be: each step's log before it masked the value (the
   * runner's `leaks()`), every job summary, and what the stand-in stored (comments,
   * issues, deployment payloads and statuses).
   */
  leaks(): string[] {
    const secrets = [...this.secrets].filter((s) => s.length >= 8);
    const found: string[] = [];
    for (const { meta, step } of this.results) {
      const where = `${step.action}${step.phase === 'post' ? ' (post)' : ''}: ${meta.title}${meta.environment ? ` [${meta.environment}]` : ''}`;
      for (const line of step.leaks(secrets)) found.push(`${where}: ${line}`);
      for (const secret of secrets)
        if (step.summary.includes(secret)) found.push(`${where}: the job summary shows a secret`);
    }
    const stored = JSON.stringify({
      issues: [...this.repo.issues.values()],
      comments: [...this.repo.comments.values()],
      deployments: [...this.repo.deployments.values()],
    });
    for (const secret of secrets)
      if (stored.includes(secret)) found.push('the GitHub stand-in stored a secret (issue, comment or deployment)');
    return found;
  }

  async stop(): Promise<void> {
    this.clients.destroy();
    await Promise.allSettled([this.proxy.close(), this.issuer.close(), this.github.close(), this.registry.stop()]);
    await this.moto.stop();
    for (const dir of [...this.jobs.map((j) => j.dir), ...this.scratchDirs])
      rmSync(dir, { recursive: true, force: true });
  }
}

/** The runner dies (SIGKILL: no post step, nothing more of the job) once a log line matches. */
async function killed(job: Job, action: string, inputs: Record<string, string>, at: RegExp): Promise<StepResult> {
  const running = job.start(action, { inputs });
  await running.waitForLog(at, 180_000);
  running.kill('SIGKILL');
  return running.done;
}

/** Raised for a prerequisite the machine lacks. */
export class MissingPrerequisites extends SandboxError {
  constructor(readonly problems: string[]) {
    super(`The sandbox cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
