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
