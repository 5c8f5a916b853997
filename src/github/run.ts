import { EOL } from 'node:os';
import { errorMessage, UserError } from '../util/errors.js';

/** What an entry point receives: a signal that aborts when the runner cancels the job. */
export interface StepContext {
  signal: AbortSignal;
}

export interface Entry<S> {
  /**
   * Reads and checks the inputs. Runs before anything heavy is loaded, so keep its
   * imports light (no @actions/core, no SDK): a bad input then fails in about the
   * time node itself takes to start.
   */
  settings: () => S;
  /** The step's work; load it with a dynamic import. */
  main: (settings: S, ctx: StepContext) => Promise<void>;
  /** The `post:` step; the same bundle serves both. */
  post?: (ctx: StepContext) => Promise<void>;
}

const POST_FLAG = 'isPost';

/** Raised into waits when the runner cancels the job. */
export class CancelledError extends Error {
  constructor(readonly signalName: string) {
    super(`The job was cancelled (${signalName}).`);
    this.name = 'CancelledError';
  }
}

/**
 * The one way an action starts and ends. Decides main or post, turns SIGINT/SIGTERM
 * (the runner's cancel) into an aborted signal, and turns every error into a failed
 * step with a readable message: user errors without a stack, anything else with its
 * stack in the debug log.
 */
export async function run<S>(entry: Entry<S>): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(new CancelledError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx = { signal: controller.signal };

  try {
    if (process.env[`STATE_${POST_FLAG}`] === 'true') {
      await entry.post?.(ctx);
    } else {
      const settings = entry.settings();
      if (entry.post) (await import('@actions/core')).saveState(POST_FLAG, 'true');
      await entry.main(settings, ctx);
    }
  } catch (err) {
    fail(failureMessage(err));
    if (!(err instanceof UserError) && err instanceof Error && err.stack) command('debug', err.stack);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * `core.setFailed` without loading @actions/core: exit code 1 and an error annotation.
 * Same wire format (workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
 */
function fail(message: string): void {
  process.exitCode = 1;
  command('error', message);
}

function command(name: string, message: string): void {
  const data = message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  process.stdout.write(`::${name}::${data}${EOL}`);
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
