import { getState, info, warning } from '@actions/core';
import type { StepContext } from '../../github/run.js';
import type { TrafficRoute } from '../../aws/elbv2.js';

/** What main saves before it changes anything, so the post step can finish an interrupted rollout. */
export const ROLLOUT_STATE = 'rollout';

export interface RolloutState {
  cluster: string;
  service: string;
  region: string;
  engine: string;
  /** The run and attempt that wrote the record; another run's rollout is left alone. */
  runId: string;
  route?: TrafficRoute;
  targetGroups?: string[];
}

/**
 * Runs after main however it ended (post-if: always()). When main was cancelled, killed
 * or failed mid-rollout, this run's rollout record is still on the service: finish it
 * (an interrupted promotion completes, anything else returns all traffic to stable).
 */
export async function post(ctx: StepContext): Promise<void> {
  const text = getState(ROLLOUT_STATE);
  if (!text) return;
  const state = JSON.parse(text) as RolloutState;
  const { ecsClient } = await import('../../aws/ecs.js');
  const { elbv2Client } = await import('../../aws/elbv2.js');
  const { recoverInterrupted } = await import('../../delivery/engine.js');
  const { writeSummary } = await import('../../github/summary.js');
  const { formatDuration } = await import('../../util/duration.js');
  const { errorMessage } = await import('../../util/errors.js');
  const aws = { region: state.region, maxAttempts: 5 };
  const ecs = ecsClient(aws);
  const { recoveryTarget } = await import('../../aws/ecs-targets.js');
  const target = recoveryTarget(state.engine, {
    ecs,
    elbv2: elbv2Client(aws),
    cluster: state.cluster,
    service: state.service,
    waitTimeoutMs: 15 * 60_000,
    log: info,
    ...(state.route ? { route: state.route } : {}),
    ...(state.targetGroups ? { targetGroups: state.targetGroups } : {}),
  });
  try {
    const recovered = await recoverInterrupted(target, { runId: state.runId, signal: ctx.signal, log: info });
    if (!recovered) return;
    const message = `The main step left rollout ${recovered.record.id} unfinished; the post step ${recovered.action === 'promoted' ? 'completed its promotion' : 'returned all traffic to stable and removed the new version'} in ${formatDuration(recovered.durationMs)}.`;
    info(message);
    await writeSummary(`### ↩️ ${state.service}: cleaned up by the post step\n\n${message}\n`);
  } catch (err) {
    const { RecordProblem } = await import('../../aws/ecs-record-check.js');
    // A record that does not belong to the service is not acted on by anyone: its message says what to do by hand.
    if (err instanceof RecordProblem) {
      warning(`The post step did not act on the rollout record of ${state.service}: ${err.describe()}`);
      return;
    }
    warning(
      `The post step could not finish the rollout of ${state.service}: ${errorMessage(err)}. The record stays on the service: the next ecs-deploy run or the rollback action finishes it.`,
    );
    throw err;
  }
}
