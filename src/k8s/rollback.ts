/**
 * Rolling a Kubernetes Deployment back, whichever gke-deploy engine deployed it:
 *
 * 1. An unfinished rollout recorded on the Deployment (a cancelled or killed gke-deploy, a
 *    failed rollback, or one held by rollback-on-failure false) is undone from its record
 *    by the engine that wrote it: canary and blue-green put all traffic on stable in one
 *    change and remove the new side; rolling puts the old ReplicaSet's template back. A
 *    promotion that was under way is taken back too (the stable Deployment gets its old
 *    template again first).
 * 2. A blue kept by a promoted blue-green rollout is switched back to in one change (route
 *    weights or Service selector), and green removed.
 * 3. Otherwise (or with `to`), the Deployment gets the pod template of the previous
 *    revision, or of revision `to`, as `kubectl rollout undo` does, and is waited for.
 */
import { askToStop, RecoveryTimer, type RollbackOptions, type RollbackOutcome } from '../delivery/rollback.js';
import { recoverRollout } from '../delivery/engine.js';
import { describeRecord } from '../delivery/record.js';
import type { RolloutRecord } from '../delivery/types.js';
import { systemClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { BLUE_GREEN_ENGINE, KubeBlueGreenTarget } from './blue-green-target.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource } from './resources.js';
import { ROLLING_ENGINE } from './rolling-target.js';
import { previousRevision, revisionOf, revisions, rollbackTo, waitForRollout } from './rollout.js';
import { currentRevision } from './rollout-sides.js';
import { keptOf, layoutOf, recordOf } from './rollout-state.js';
import { recoveryTarget } from './targets.js';

export interface KubeRollbackRequest extends RollbackOptions {
  kube: KubeClient;
  namespace: string;
  deployment: string;
  /** A revision to return to; undefined: the previous one. */
  to?: number | undefined;
  /** The HTTPRoute the caller expects the rollout to use (the record's layout names the one it used). */
  httpRoute?: string | undefined;
}

export async function rollbackKubeDeployment(request: KubeRollbackRequest): Promise<RollbackOutcome> {
  const { kube, namespace, deployment: name, signal } = request;
  const clock = request.clock ?? systemClock;
  const log = (line: string) => request.log?.(line);
  const actions: string[] = [];
  const act = (line: string) => {
    actions.push(line);
    log(line);
  };
  const deployments = resource(kube, DEPLOYMENTS, namespace);
  const ref = `Deployment ${namespace}/${name}`;
  const where = `${namespace}/${name} (GKE)`;
  const common = { kube, namespace, deployment: name, waitTimeoutMs: request.waitTimeoutMs, clock, log };

  // Everything is read and checked before the first change.
  const d = await deployments.get(name, signal);
  const from = String(revisionOf(d));
  const record = recordOf(d);
  const kept = keptOf(d);
  const history = await revisions(kube, namespace, d, signal);
  const layout = layoutOf(d);
  if (request.httpRoute && layout && (record || kept) && layout.route !== request.httpRoute) {
    throw new UserError(
      `http-route is ${request.httpRoute}, but the rollout recorded on ${ref} moved traffic with ${layout.route ? `HTTPRoute ${layout.route}` : `the ${layout.mode === 'replicas' ? 'replica ratio' : 'selector'} of Service ${layout.service}`}.`,
      'Leave http-route empty: the record says where the traffic is.',
    );
  }
  if (request.to !== undefined && !history.some((r) => r.revision === request.to)) {
    throw new UserError(
      `${ref} has no revision ${request.to} (its history: ${history.map((r) => r.revision).join(', ') || 'none'}).`,
      `Give one of those revisions (kubectl rollout history deployment/${name} -n ${namespace}), or previous.`,
    );
  }

  const timer = new RecoveryTimer(clock, name, request.beforeChange);
  let engine = record?.engine ?? (kept ? BLUE_GREEN_ENGINE : ROLLING_ENGINE);

  if (record) {
    log(`Found an unfinished ${describeRecord(record)}.`);
    await timer.begin();
    // The rollback action takes a rollout back, even one whose promotion was under way.
    const back: RolloutRecord = record.phase === 'promoting' ? { ...record, phase: 'rolling-back' } : record;
    const target = recoveryTarget(record.engine, common);
    await askToStop(target, record, { ...(request.by ? { by: request.by } : {}), clock, ...(signal ? { signal } : {}), log });
    await recoverRollout(target, back, { clock, ...(signal ? { signal } : {}), log, onRestored: timer.restored });
    act(`Undid rollout ${record.id} (${record.engine}) from its record: all traffic back on ${record.stable || 'the stable version'}, ${record.canary || 'the new version'} removed.`);
  } else if (kept) {
    log(`Blue of rollout ${kept.id} (ReplicaSet ${kept.blue}) is kept${kept.until * 1000 > clock.now() ? ` until ${new Date(kept.until * 1000).toISOString()}` : ''}: switching back to it.`);
    await timer.begin();
    await new KubeBlueGreenTarget({ ...common, keepPreviousMs: 0 }).revert(kept, signal, timer.restored);
    act(`Switched all traffic back to blue (ReplicaSet ${kept.blue}) in one change and removed ${kept.green}.`);
  }

  // With nothing unfinished (or with `to`): an earlier revision's template.
  const now = await deployments.get(name, signal);
  const target = request.to !== undefined ? (await revisions(kube, namespace, now, signal)).find((r) => r.revision === request.to) : !record && !kept ? await previousRevision(kube, namespace, now, signal) : undefined;
  if (request.to === undefined && !record && !kept && !target) {
    throw new UserError(`${ref} has no revision before ${revisionOf(now)} in its history, so there is nothing to roll back to.`, 'Deploy the previous image again with gke-deploy.');
  }
  if (target) {
    const current = await currentRevision(kube, namespace, now, signal);
    if (current?.replicaSet === target.replicaSet) {
      log(`${ref} already runs the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}): nothing to roll back.`);
    } else {
      await timer.begin();
      log(`Putting the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}) back into ${ref}.`);
      await rollbackTo(kube, namespace, name, target, signal);
      await waitForRollout(kube, namespace, name, { timeoutMs: request.waitTimeoutMs, clock, ...(signal ? { signal } : {}), onProgress: (m) => log(`  ${ref}: ${m}`) });
      timer.restored();
      engine = ROLLING_ENGINE;
      act(`Put the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}, ${Object.values(target.images).join(', ')}) back into ${ref} and waited until every replica ran it.`);
    }
  }

  const after = await deployments.get(name, signal);
  const rolledBackTo = String(revisionOf(after));
  const image = after.spec?.template.spec?.containers[0]?.image;
  const outcome = { rolledBackTo, from, actions, service: name, where, engine, ...(image ? { image } : {}) };
  if (!timer.changed) return { status: 'nothing-to-do', recoveryMs: 0, ...outcome };
  const recoveryMs = timer.recoveryMs();
  log(`${ref} is back on revision ${rolledBackTo} ${formatDuration(recoveryMs)} after the first change.`);
  return { status: 'rolled-back', recoveryMs, ...outcome };
}
