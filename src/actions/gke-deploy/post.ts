import { getState, info, setSecret, warning } from '@actions/core';
import type { ClusterTarget } from '../../gcp/gke-connection.js';
import type { StepContext } from '../../github/run.js';

/** What main saves before it changes anything, so the post step can finish an interrupted rollout. */
export const ROLLOUT_STATE = 'rollout';

export interface RolloutState {
  cluster: ClusterTarget;
  namespace: string;
  deployment: string;
  engine: string;
  /** The run and attempt that wrote the record; another run's rollout is left alone. */
  runId: string;
  keepPreviousMs: number;
  waitTimeoutMs: number;
}

/**
 * Runs after main however it ended (post-if: always()). When main was cancelled, killed
 * or failed mid-rollout, this run's rollout record is still on the Deployment: finish it
 * (an interrupted promotion completes, anything else returns all traffic to stable).
 */
export async function post(ctx: StepContext): Promise<void> {
  const text = getState(ROLLOUT_STATE);
  if (!text) return;
  const state = JSON.parse(text) as RolloutState;
  const { connectCluster, lazyGoogleTokens } = await import('../../gcp/gke-connection.js');
  const { KubeClient } = await import('../../k8s/client.js');
  const { recoveryTarget } = await import('../../k8s/targets.js');
  const { recoverInterrupted } = await import('../../delivery/engine.js');
  const { writeSummary } = await import('../../github/summary.js');
  const { formatDuration } = await import('../../util/duration.js');
  const { errorMessage } = await import('../../util/errors.js');
  const google = lazyGoogleTokens(setSecret);
  const connection = await connectCluster(state.cluster, {
    google,
    onToken: setSecret,
    signal: ctx.signal,
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
  const kube = new KubeClient(connection);
  const target = recoveryTarget(state.engine, {
    kube,
    namespace: state.namespace,
    deployment: state.deployment,
    waitTimeoutMs: state.waitTimeoutMs,
    keepPreviousMs: state.keepPreviousMs,
    log: info,
  });
  try {
    // The state is untrusted input: checked against the live objects before the post step acts on it.
    const { checkedState } = await import('../../k8s/record-check.js');
    const { DEPLOYMENTS, resource } = await import('../../k8s/resources.js');
    const d = await resource(kube, DEPLOYMENTS, state.namespace).find(state.deployment, ctx.signal);
    if (!d) return;
    await checkedState(kube, state.namespace, d, 'the post step', ctx.signal);
    const recovered = await recoverInterrupted(target, { runId: state.runId, signal: ctx.signal, log: info });
    if (!recovered) return;
    const message = `The main step left rollout ${recovered.record.id} unfinished; the post step ${recovered.action === 'promoted' ? 'completed its promotion' : 'returned all traffic to stable and removed the new version'} in ${formatDuration(recovered.durationMs)}.`;
    info(message);
    await writeSummary(`### ↩️ ${state.namespace}/${state.deployment}: cleaned up by the post step\n\n${message}\n`);
  } catch (err) {
    // An untrusted state: the error says what is wrong and how to clear it; the next run would refuse it the same way.
    if ((err as Error).name === 'UntrustedStateError') throw err;
    warning(
      `The post step could not finish the rollout of ${state.namespace}/${state.deployment}: ${errorMessage(err)}. The record stays on the Deployment: the next gke-deploy run or the rollback action finishes it.`,
    );
    throw err;
  } finally {
    kube.close();
  }
}
