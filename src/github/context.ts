/**
 * The facts about the current run that actions label things with, read from the
 * runner's environment (the same variables `@actions/github`'s context reads).
 */
export interface RunContext {
  repository: string;
  runId: string;
  runAttempt: string;
  workflow: string;
  job: string;
  actor: string;
  ref: string;
  sha: string;
  serverUrl: string;
  eventName: string;
}

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  return {
    repository: env.GITHUB_REPOSITORY ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    workflow: env.GITHUB_WORKFLOW ?? '',
    job: env.GITHUB_JOB ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    ref: env.GITHUB_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    eventName: env.GITHUB_EVENT_NAME ?? '',
  };
}

/** Link to the run, for summaries and comments. */
export function runUrl(ctx: RunContext): string {
  return `${ctx.serverUrl}/${ctx.repository}/actions/runs/${ctx.runId}`;
}

/** This run and attempt, as rollout records name it: `4242.1`. Empty outside a runner. */
export function runAttemptId(ctx: RunContext): string {
  return ctx.runId ? `${ctx.runId}.${ctx.runAttempt}` : '';
}

/**
 * A new rollout's deployment id: the run and attempt plus a time stamp, so two services
 * rolled out by one job get different ids (`4242.1-mio3k2x`). Only characters a resource
 * tag can hold.
 */
export function newDeploymentId(ctx: RunContext, now = Date.now()): string {
  return `${ctx.runId ? runAttemptId(ctx) : 'local'}-${now.toString(36)}`;
}
