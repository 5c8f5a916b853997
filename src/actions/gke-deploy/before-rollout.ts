/**
 * What gke-deploy does on the Deployment before its own rollout, once the GitHub
 * Deployment is open: finish an unfinished rollout (a killed job with no post step) with
 * the engine that wrote it, retire a blue kept by an earlier blue-green rollout, and apply
 * the manifests' other objects.
 */
import { info } from '@actions/core';
import type { BeforeRollout } from '../../delivery/deploy-step.js';
import { recoverRollout } from '../../delivery/engine.js';
import { describeRecord } from '../../delivery/record.js';
import { refuseLiveOwner } from '../../delivery/ownership.js';
import type { Target } from '../../delivery/types.js';
import type { RunStatusChecker } from '../../github/runs.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import type { KubeClient } from '../../k8s/client.js';
import { applyManifests } from '../../k8s/manifests.js';
import { checkedState, type CheckedState } from '../../k8s/record-check.js';
import { DEPLOYMENTS, resource } from '../../k8s/resources.js';
import { recoveryTarget } from '../../k8s/targets.js';
import { formatDuration } from '../../util/duration.js';
import type { Settings } from './settings.js';
import { commonOptions, type GkeStrategy } from './target.js';
import { otherManifests, type Source } from './template.js';

/** The rollout state on the Deployment now, checked (nothing when it is gone). */
export async function stateNow(kube: KubeClient, s: Settings, signal: AbortSignal): Promise<CheckedState> {
  const d = await resource(kube, DEPLOYMENTS, s.namespace).find(s.deployment, signal);
  return d
    ? checkedState(kube, s.namespace, d, 'gke-deploy', signal)
    : { record: undefined, layout: undefined, kept: undefined };
}

export interface Before {
  kube: KubeClient;
  target: Target;
  strategy: GkeStrategy;
  source: Source;
  runId: string;
  runs: RunStatusChecker | undefined;
  signal: AbortSignal;
}

/** Runs what comes before this rollout; returns the recovery and the retired blue for its result. */
export async function beforeRollout(s: Settings, o: Before): Promise<BeforeRollout> {
  const recovered = await finishUnfinished(s, o);
  const note = await retireKeptBlue(s, o);
  // Resume: the manifests were applied when the canary started; only the rollout goes on.
  if (o.strategy !== 'rolling' && o.source.manifests.length && !s.resume) await applyOthers(s, o);
  return { ...(recovered ? { recovered } : {}), ...(note ? { note } : {}) };
}

/** An unfinished rollout is finished first, by the engine that wrote it. */
async function finishUnfinished(s: Settings, o: Before) {
  const { kube, signal, runs } = o;
  const { record: found } = await stateNow(kube, s, signal);
  if (!found || s.resume) return undefined;
  // Never finish a rollout that another run is still driving (GitHub's word, else the record's lease).
  const why = await refuseLiveOwner(o.target.description, found, {
    now: Date.now(),
    runId: o.runId,
    ...(runs ? { ownerAlive: runs.ownerAlive } : {}),
    log: info,
  });
  info(`Found an unfinished ${describeRecord(found)}; ${why}. Finishing it before this rollout.`);
  const recovered = await recoverRollout(
    recoveryTarget(found.engine, { ...commonOptions(kube, s), keepPreviousMs: s.keepPreviousMs }),
    found,
    { signal, log: info },
  );
  info(`The earlier rollout ${found.id} was ${recovered.action} in ${formatDuration(recovered.durationMs)}.`);
  return recovered;
}

/** A blue kept by an earlier blue-green rollout: this deploy supersedes it. */
async function retireKeptBlue(s: Settings, o: Before): Promise<string | undefined> {
  const { kept } = await stateNow(o.kube, s, o.signal);
  if (!kept) return undefined;
  const until = new Date(kept.until * 1000).toISOString();
  info(
    `Rollout ${kept.id} kept blue (ReplicaSet ${kept.blue}) for instant revert until ${until}; this deploy supersedes it: retiring blue first.`,
  );
  const started = Date.now();
  await new KubeBlueGreenTarget({ ...commonOptions(o.kube, s), keepPreviousMs: 0 }).retire(kept, o.signal);
  const retired = `blue of rollout ${kept.id} (kept until ${until}) retired in ${formatDuration(Date.now() - started)}: ${s.deployment} took ${kept.green}'s template`;
  info(`Retired: ${retired}.`);
  return retired;
}

/** The manifests' other objects; the Deployment's goes to the new side now and to the Deployment at promotion. */
async function applyOthers(s: Settings, o: Before): Promise<void> {
  const others = otherManifests(o.source);
  if (!others.length) return;
  const applied = await applyManifests(o.kube, others, { namespace: s.namespace, signal: o.signal });
  const side = o.strategy === 'canary' ? 'canary' : 'green side';
  const later = o.source.manifest
    ? `; Deployment ${s.deployment}'s goes to the ${side} now and to ${s.deployment} at promotion`
    : '';
  info(
    `Applied ${applied.length} object(s) from the manifests: ${applied.map((a) => `${a.kind} ${a.name}`).join(', ')}${later}.`,
  );
}
