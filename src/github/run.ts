import { debug, getState, saveState, setFailed } from '@actions/core';
import { errorMessage, UserError } from '../util/errors.js';

/** What an entry point receives: a signal that aborts when the runner cancels the job. */
export interface StepContext {
  signal: AbortSignal;
}

export interface Entry {
  main: (ctx: StepContext) => Promise<void>;
  /** Runs as the action's `post:` step; the same bundle serves both. */
  post?: (ctx: StepContext) => Promise<void>;
}

const POST_FLAG = 'isPost';

/**
 * The one way an action starts and ends. Decides main or post, turns SIGINT/SIGTERM
 * (the runner's cancel) into an aborted signal, and turns every error into a failed
 * step with a readable message: user errors without a stack, anything else with its
 * stack in the debug log.
 */
export async function run(entry: Entry): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(new CancelledError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const isPost = getState(POST_FLAG) === 'true';
  try {
    if (isPost) {
      await entry.post?.({ signal: controller.signal });
    } else {
      if (entry.post) saveState(POST_FLAG, 'true');
      await entry.main({ signal: controller.signal });
    }
  } catch (err) {
    setFailed(failureMessage(err));
    if (!(err instanceof UserError) && err instanceof Error && err.stack) debug(err.stack);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Raised into waits when the runner cancels the job. */
export class CancelledError extends Error {
  constructor(readonly signalName: string) {
    super(`The job was cancelled (${signalName}).`);
    this.name = 'CancelledError';
  }
}

/** The text of a failed step for any error. */
export function failureMessage(err: unknown): string {
  if (err instanceof UserError) return err.describe();
  if (err instanceof CancelledError) return err.message;
  const aws = err as { name?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  if (aws?.$metadata) {
    const status = aws.$metadata.httpStatusCode ? ` (HTTP ${aws.$metadata.httpStatusCode})` : '';
    const id = aws.$metadata.requestId ? `, request id ${aws.$metadata.requestId}` : '';
    return `AWS error ${aws.name}${status}${id}: ${errorMessage(err)}`;
  }
  return (
    `Unexpected error: ${errorMessage(err)}\n` +
    'This is probably a bug in platform-actions. Re-run the job with debug logging enabled ' +
    '(secret ACTIONS_STEP_DEBUG=true) and report the log.'
  );
}
