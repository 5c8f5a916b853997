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
 *    version, or of revision `to`, as `kubectl rollout undo` does, and is waited for.
 *    "Previous" is the last other version that completed a rollout (last-good.ts), never
 *    one that was rolled back; `to` must name one that completed a rollout unless
 *    allow-any-revision is set.
 *
 * The state on the Deployment is checked against the live objects first (record-check.ts).
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
import {
  hashOfRevision,
  HISTORY_ANNOTATION,
  markRolledBack,
  previousGood,
  readHistory,
  standingOf,
} from './last-good.js';
import { checkedState } from './record-check.js';
import type { TrafficLayout } from './rollout-state.js';
import type { Deployment } from './types.js';
import { revisionOf, revisions, rollbackTo, waitForRollout, type Revision } from './rollout.js';
import { recoveryTarget } from './targets.js';

export interface KubeRollbackRequest extends RollbackOptions {
  kube: KubeClient;
  namespace: string;
  deployment: string;
  /** A revision to return to; undefined: the previous one. */
  to?: number | undefined;
  /** The HTTPRoute the caller expects the rollout to use (the record's layout names the one it used). */
  httpRoute?: string | undefined;
  /** `to` may name a revision that never completed a rollout, or was rolled back (allow-any-revision). */
  allowAnyRevision?: boolean | undefined;
}

const ledgerUnreadable = (
  ref: string,
  ledger: { ok: false; problem: string },
  name: string,
  namespace: string,
): UserError =>
  new UserError(
    `${ref}: ${ledger.problem}, so which revisions completed a rollout is not known and nothing was rolled back.`,
    `Look at it (kubectl get deployment ${name} -n ${namespace} -o jsonpath='{.metadata.annotations.platform-actions/revisions}'), remove it (kubectl annotate deployment ${name} -n ${namespace} ${HISTORY_ANNOTATION}-), and return to a revision by hand (kubectl rollout undo deployment/${name} -n ${namespace} --to-revision=N) or give to: with allow-any-revision: true.`,
  );

const routeMismatch = (request: KubeRollbackRequest, ref: string, layout: TrafficLayout): UserError =>
  new UserError(
    `http-route is ${request.httpRoute}, but the rollout recorded on ${ref} moved traffic with ${layout.route ? `HTTPRoute ${layout.route}` : `the ${layout.mode === 'replicas' ? 'replica ratio' : 'selector'} of Service ${layout.service}`}.`,
    'Leave http-route empty: the record says where the traffic is.',
  );

const noSuchRevision = (
  ref: string,
  request: KubeRollbackRequest,
  history: Revision[],
  name: string,
  namespace: string,
): UserError =>
  new UserError(
    `${ref} has no revision ${request.to} (its history: ${history.map((r) => r.revision).join(', ') || 'none'}).`,
    `Give one of those revisions (kubectl rollout history deployment/${name} -n ${namespace}), or previous.`,
  );

const revisionNotGood = (
  asked: Revision,
  ref: string,
  standing: 'rolled-back' | 'unrecorded',
  completed: number[],
): UserError =>
  new UserError(
    `Revision ${asked.revision} of ${ref} (${Object.values(asked.images).join(', ')}) ${standing === 'rolled-back' ? 'was rolled back' : 'is not recorded as having completed a rollout'}, so it is not returned to without allow-any-revision: true.`,
    `${completed.length ? `Revisions that completed a rollout: ${completed.join(', ')}; give one of those, or previous.` : 'Give previous.'} To return to revision ${asked.revision} anyway, set allow-any-revision: true, from a workflow whose environment has required reviewers.`,
  );

const nothingToReturnTo = (ref: string, now: Deployment, rolledBack: number[]): UserError =>
  new UserError(
    `${ref} runs revision ${revisionOf(now)}, and no other revision in its history completed a rollout${rolledBack.length ? ` (revision${rolledBack.length > 1 ? 's' : ''} ${rolledBack.join(', ')} ${rolledBack.length > 1 ? 'were' : 'was'} rolled back)` : ''}, so there is no previous version to return to.`,
    rolledBack.length
      ? `A rollback of a rollback is explicit: give to: ${rolledBack.at(-1)} with allow-any-revision: true (from a workflow whose environment has required reviewers), or deploy the version you want with gke-deploy.`
      : 'Deploy the version you want with gke-deploy.',
  );

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
  // The record, layout and kept blue are untrusted: checked against the live objects, or refused with nothing changed.
  const { record, kept, layout } = await checkedState(kube, namespace, d, 'the rollback action', signal);
  const history = await revisions(kube, namespace, d, signal);
  const ledger = readHistory(d);
  if (!ledger.ok && !record && !kept) {
    throw ledgerUnreadable(ref, ledger, name, namespace);
  }
  const good = ledger.ok ? ledger.history : undefined;
  if (request.httpRoute && layout && (record || kept) && layout.route !== request.httpRoute) {
    throw routeMismatch(request, ref, layout);
  }
  const asked = request.to !== undefined ? history.find((r) => r.revision === request.to) : undefined;
  if (request.to !== undefined && !asked) {
    throw noSuchRevision(ref, request, history, name, namespace);
  }
  const live = history.find((r) => r.revision === revisionOf(d));
  if (asked && asked.replicaSet !== live?.replicaSet && !request.allowAnyRevision) {
    const standing = standingOf(good, asked);
    if (standing !== 'completed') {
      const completed = history
        .filter((r) => standingOf(good, r) === 'completed' && r.replicaSet !== live?.replicaSet)
        .map((r) => r.revision);
      throw revisionNotGood(asked, ref, standing, completed);
    }
  }

  const timer = new RecoveryTimer(clock, name, request.beforeChange);
  let engine = record?.engine ?? (kept ? BLUE_GREEN_ENGINE : ROLLING_ENGINE);

  if (record) {
    log(`Found an unfinished ${describeRecord(record)}.`);
    await timer.begin();
    // The rollback action takes a rollout back, even one whose promotion was under way.
    const back: RolloutRecord = record.phase === 'promoting' ? { ...record, phase: 'rolling-back' } : record;
    const target = recoveryTarget(record.engine, common);
    await askToStop(target, record, {
      ...(request.by ? { by: request.by } : {}),
      clock,
      ...(signal ? { signal } : {}),
      log,
    });
    await recoverRollout(target, back, { clock, ...(signal ? { signal } : {}), log, onRestored: timer.restored });
    act(
      `Undid rollout ${record.id} (${record.engine}) from its record: all traffic back on ${record.stable || 'the stable version'}, ${record.canary || 'the new version'} removed.`,
    );
  } else if (kept) {
    log(
      `Blue of rollout ${kept.id} (ReplicaSet ${kept.blue}) is kept${kept.until * 1000 > clock.now() ? ` until ${new Date(kept.until * 1000).toISOString()}` : ''}: switching back to it.`,
    );
    await timer.begin();
    await new KubeBlueGreenTarget({ ...common, keepPreviousMs: 0 }).revert(kept, signal, timer.restored);
    act(`Switched all traffic back to blue (ReplicaSet ${kept.blue}) in one change and removed ${kept.green}.`);
  }

  // With nothing unfinished (or with `to`): an earlier revision's template.
  const now = await deployments.get(name, signal);
  const nowHistory = await revisions(kube, namespace, now, signal);
  const current = nowHistory.find((r) => r.revision === revisionOf(now));
  let target: Revision | undefined;
  if (request.to !== undefined) target = nowHistory.find((r) => r.replicaSet === asked?.replicaSet);
  else if (!record && !kept) {
    const previous = previousGood(good, nowHistory, current);
    if (!previous) {
      const rolledBack = nowHistory
        .filter((r) => r.replicaSet !== current?.replicaSet && standingOf(good, r) === 'rolled-back')
        .map((r) => r.revision);
      throw nothingToReturnTo(ref, now, rolledBack);
    }
    target = previous.revision;
    log(
      previous.standing === 'completed'
        ? `Previous: revision ${target.revision} (ReplicaSet ${target.replicaSet}) is the last other version that completed a rollout.`
        : `Previous: no other revision is recorded as having completed a rollout (it ran before platform-actions kept that record); revision ${target.revision} (ReplicaSet ${target.replicaSet}) is the newest earlier one that was not rolled back.`,
    );
  }
  if (target) {
    if (current?.replicaSet === target.replicaSet) {
      log(
        `${ref} already runs the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}): nothing to roll back.`,
      );
    } else {
      await timer.begin();
      log(`Putting the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}) back into ${ref}.`);
      if (current) await markRolledBack(kube, namespace, name, hashOfRevision(current), signal);
      await rollbackTo(kube, namespace, name, target, signal);
      await waitForRollout(kube, namespace, name, {
        timeoutMs: request.waitTimeoutMs,
        clock,
        ...(signal ? { signal } : {}),
        onProgress: (m) => log(`  ${ref}: ${m}`),
      });
      timer.restored();
      engine = ROLLING_ENGINE;
      act(
        `Put the template of revision ${target.revision} (ReplicaSet ${target.replicaSet}, ${Object.values(target.images).join(', ')}) back into ${ref} and waited until every replica ran it.`,
      );
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
