/**
 * Rolling an ECS service back, whichever engine deployed it:
 *
 * 1. An unfinished rollout recorded on the service (a cancelled or killed ecs-deploy, or one
 *    held by rollback-on-failure false) is undone from its record by the engine that wrote
 *    it: task sets get all traffic back on the stable target group in one change and the
 *    new task set deleted; a native deployment is stopped with rollback; a rolling update
 *    goes back to the task definition before it. (A promotion the record says was under way
 *    is undone the same way while the old version is still there, and otherwise finished and
 *    then reverted.)
 * 2. Without a record, a native deployment in flight is stopped with rollback
 *    (StopServiceDeployment ROLLBACK).
 * 3. Otherwise the service is deployed again with the previous task definition (the last
 *    known good revision before the live one, see ecs-last-good.ts, or the old one of a
 *    rolling deployment still in flight), or with `to` (the service's own family, a
 *    revision it ran before unless allowAnyRevision): a rolling update, a native deployment
 *    whose pauses are all continued, or a task set switched to at once; and waited for.
 *    The revision rolled back is tagged so `previous` never returns to it.
 *
 * The record is checked against the live service first (ecs-record-check.ts): a record
 * that does not belong to the service is refused before any change; one that cannot be
 * parsed is ignored, and task sets it left behind are removed once all traffic is
 * confirmed on the primary (ecs-orphans.ts).
 */
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { askToStop, RecoveryTimer, type RollbackOptions, type RollbackOutcome } from '../delivery/rollback.js';
import { recoverRollout, runRollout } from '../delivery/engine.js';
import { describeRecord } from '../delivery/record.js';
import type { RolloutRecord } from '../delivery/types.js';
import { systemClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage, UserError } from '../util/errors.js';
import { cloudWatchClient } from './alarms.js';
import {
  describeRef,
  describeService,
  describeTaskDefinition,
  describeTaskSets,
  ecsClient,
  serviceRecordStore,
  taskDefinitionName,
  type ServiceRef,
} from './ecs.js';
import { recordReturn } from './ecs-last-good.js';
import { checkExplicitTarget, resolvePrevious } from './ecs-previous.js';
import { cleanUpOrphans, orphanTaskSets } from './ecs-orphans.js';
import { loadServiceRecord, recordRemedy } from './ecs-record-check.js';
import { chooseEngine } from './ecs-engine.js';
import { EcsNativeTarget, NATIVE_ENGINE } from './ecs-native-target.js';
import { EcsRollingTarget, ROLLING_ENGINE } from './ecs-rolling-target.js';
import { FORWARD, inFlightDeployments, ROLLING_BACK, serviceDeploymentId } from './ecs-service-deployments.js';
import { EcsTaskSetTarget, TASK_SET_ENGINE } from './ecs-task-set-target.js';
import { recoveryTarget } from './ecs-targets.js';
import { elbv2Client } from './elbv2.js';
import { primaryContainer, registrationInput } from './task-definition.js';

export interface EcsRollbackRequest extends ServiceRef, RollbackOptions {
  region: string;
  /** A task definition (ARN or family:revision) to return to; undefined: the previous one (the last known good before the live one). */
  to?: string | undefined;
  /** Accept a `to` the service never ran (another family, no record of it): for workflows behind a reviewed environment. */
  allowAnyRevision?: boolean;
  /** Deployment id for a task set made to return to an earlier task definition. */
  deploymentId: string;
  /** This run, written into a record the rollback itself writes. */
  runId?: string;
}

/** Attempts per AWS call (throttling and 5xx are retried with backoff). */
const MAX_ATTEMPTS = 5;

/** What the service runs: its task definition, or (EXTERNAL controller) its primary task set's. */
async function liveTaskDefinition(
  ecs: ECSClient,
  ref: ServiceRef,
  service: Service,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (service.deploymentController?.type === 'EXTERNAL') {
    return (await describeTaskSets(ecs, ref, signal)).find((t) => t.status === 'PRIMARY')?.taskDefinition;
  }
  return service.taskDefinition;
}

export async function rollbackEcsService(request: EcsRollbackRequest): Promise<RollbackOutcome> {
  const { signal } = request;
  const clock = request.clock ?? systemClock;
  const ref: ServiceRef = { cluster: request.cluster, service: request.service };
  const actions: string[] = [];
  const log = (line: string) => request.log?.(line);
  const act = (line: string) => {
    actions.push(line);
    log(line);
  };
  const aws = { region: request.region, maxAttempts: MAX_ATTEMPTS };
  const ecs = ecsClient(aws);
  const elbv2 = elbv2Client(aws);
  const cloudwatch = cloudWatchClient(aws);

  // Everything is read and checked before the first change.
  const service = await describeService(ecs, ref, signal);
  const name = service.serviceName ?? describeRef(ref);
  const where = `${name} on ${request.cluster.split('/').pop()} (ECS)`;
  const engine = chooseEngine(service, 'auto', ref).engine;
  // The record is untrusted: checked against the live service (a forged one is refused here, before any change).
  const loaded = await loadServiceRecord(ecs, ref, service, signal);
  const record = loaded.kind === 'record' ? loaded.record : undefined;
  const from = await liveTaskDefinition(ecs, ref, service, signal);
  // An explicit to: must be the service's own, and one it ran before (unless allow-any-revision).
  const explicit = request.to
    ? await checkExplicitTarget(ecs, service, from, request.to, request.allowAnyRevision ?? false, signal)
    : undefined;
  if (explicit) log(explicit.why);
  const to = explicit?.arn;
  // A garbled record with task sets it left behind: recovered from the live state, never from the text.
  const orphans =
    loaded.kind === 'garbled' && engine === TASK_SET_ENGINE
      ? orphanTaskSets(await describeTaskSets(ecs, ref, signal))
      : [];
  if (loaded.kind === 'garbled')
    log(`Warning: ${loaded.problem}${orphans.length ? '' : ` ${recordRemedy(service, 'garbled')}`}`);
  // A deployment ECS already takes back is waited for; one going forward is stopped with rollback.
  const inFlight =
    !record && engine === NATIVE_ENGINE
      ? (await inFlightDeployments(ecs, ref, signal)).filter(
          (d) => d.status && (FORWARD.includes(d.status) || ROLLING_BACK.includes(d.status)),
        )
      : [];
  const common = { ecs, elbv2, cloudwatch, ...ref, waitTimeoutMs: request.waitTimeoutMs, log };

  const timer = new RecoveryTimer(clock, name, request.beforeChange);
  let usedEngine = record?.engine ?? engine;

  if (orphans.length > 0) {
    await timer.begin();
    const cleaned = await cleanUpOrphans({ ...ref, ecs, elbv2, clock, log, ...(signal ? { signal } : {}) });
    timer.restored();
    await serviceRecordStore(ecs, service.serviceArn as string).save(undefined, signal);
    act(
      `Undid a rollout whose record was unreadable, from the live state: ${cleaned.restored ? 'put all traffic back on the primary task set' : 'confirmed all traffic on the primary task set'}${cleaned.detail ? ` (${cleaned.detail})` : ''}, deleted the task set(s) it left (${cleaned.deleted.join(', ')}) and removed the unreadable record.`,
    );
  } else if (record) {
    log(`Found an unfinished ${describeRecord(record)}.`);
    await timer.begin();
    const target = recoveryTarget(record.engine, common);
    await askToStop(target, record, {
      ...(request.by ? { by: request.by } : {}),
      clock,
      ...(signal ? { signal } : {}),
      log,
    });
    // The rollback action takes a rollout back, even one whose promotion was under way.
    const back: RolloutRecord = record.phase === 'promoting' ? { ...record, phase: 'rolling-back' } : record;
    try {
      await recoverRollout(target, back, { clock, ...(signal ? { signal } : {}), log, onRestored: timer.restored });
      act(
        `Undid rollout ${record.id} (${record.engine}) from its record: all traffic back on ${record.stable || 'the stable version'}, ${record.canary || 'the new version'} removed.`,
      );
    } catch (err) {
      if (record.phase !== 'promoting' || !(err instanceof UserError)) throw err;
      // The old version is gone already: finish the promotion, then deploy the old version again below.
      log(
        `The promotion of ${record.canary} had gone too far to take back (${err.describe()}); finishing it, then deploying ${record.stable} again.`,
      );
      await recoverRollout(target, record, { clock, ...(signal ? { signal } : {}), log });
      timer.forgetRestore();
    }
  } else if (inFlight.length > 0) {
    const d = inFlight[0];
    const id = serviceDeploymentId(d?.serviceDeploymentArn ?? '');
    await timer.begin();
    const target = new EcsNativeTarget(common);
    const synthetic: RolloutRecord = {
      id: `rollback-${id}`,
      engine: NATIVE_ENGINE,
      phase: 'rolling-back',
      stable: '',
      canary: `@${id}`,
      weight: 0,
      step: 0,
      at: Math.floor(clock.now() / 1000),
    };
    await target.rollback(synthetic, signal, timer.restored);
    act(
      d?.status && ROLLING_BACK.includes(d.status)
        ? `ECS was already rolling service deployment ${id} back (${d.status}); waited until it had returned all traffic to the revision before it.`
        : `Stopped ECS service deployment ${id} (${d?.status}) with rollback: ECS returned all traffic to the revision before it.`,
    );
  }

  // What runs now, and whether it is what we return to.
  const now = await describeService(ecs, ref, signal);
  const live = await liveTaskDefinition(ecs, ref, now, signal);
  let wanted = to;
  if (!wanted && !record && inFlight.length === 0 && orphans.length === 0) {
    // Nothing was unfinished: the last known good version before the live one.
    const old =
      engine === ROLLING_ENGINE
        ? (now.deployments ?? []).find((d) => d.status === 'ACTIVE' && d.taskDefinition !== live)?.taskDefinition
        : undefined;
    if (!live)
      throw new UserError(`ECS service ${describeRef(ref)} runs no task definition, so there is nothing to roll back.`);
    if (old) {
      wanted = old;
      act(
        `to: previous is ${taskDefinitionName(old)}: the rolling deployment from it to ${taskDefinitionName(live)} was still in flight.`,
      );
    } else {
      const previous = await resolvePrevious(ecs, now, live, log, signal);
      wanted = previous.arn;
      act(`to: ${previous.why}`);
    }
  }
  if (record?.phase === 'promoting' && !timer.isRestored && !wanted && record.stable) {
    wanted = (await describeTaskDefinition(ecs, record.stable, signal)).taskDefinition.taskDefinitionArn;
  }

  let rolledBackTo = live ?? '';
  const returnedTo = wanted ?? '';
  if (wanted && wanted !== live) {
    await timer.begin();
    if (engine === ROLLING_ENGINE) {
      const target = new EcsRollingTarget(common);
      const record: RolloutRecord = {
        id: request.deploymentId,
        engine: ROLLING_ENGINE,
        phase: 'rolling-back',
        stable: wanted,
        canary: live ?? '',
        weight: 100,
        step: 0,
        at: Math.floor(clock.now() / 1000),
      };
      await target.rollback(record, signal, timer.restored);
      act(
        `Updated the service back to ${taskDefinitionName(wanted)} (a rolling update) and waited until ECS had replaced every task.`,
      );
    } else if (engine === NATIVE_ENGINE) {
      await new EcsNativeTarget(common).revert(wanted, signal, timer.restored);
      act(
        `Deployed ${taskDefinitionName(wanted)} again with the service's ${now.deploymentConfiguration?.strategy} strategy, every pause continued, until ECS reported it SUCCESSFUL.`,
      );
    } else {
      // Task sets: a new task set of the old task definition, all traffic on it at once.
      const described = await describeTaskDefinition(ecs, wanted, signal);
      const td = registrationInput(described.taskDefinition);
      const target = new EcsTaskSetTarget({ ...common, taskDefinition: td });
      const result = await runRollout({
        target,
        plan: { strategy: 'blue-green', steps: [{ weight: 100, bakeMs: 0 }] },
        deploymentId: request.deploymentId,
        ...(request.runId ? { runId: request.runId } : {}),
        clock,
        ...(signal ? { signal } : {}),
        log,
        onEvent: (e) => {
          if (e.kind === 'shift' && e.weight === 100) timer.restored();
        },
      });
      if (result.status !== 'succeeded')
        throw new UserError(`Returning ${describeRef(ref)} to ${taskDefinitionName(wanted)} failed: ${result.reason}`);
      const copy = target.registeredTaskDefinitionArn as string;
      act(
        `Switched all traffic at once to a new task set of ${taskDefinitionName(copy)} (the task definition of ${taskDefinitionName(wanted)}, registered again) and deleted the task set of ${taskDefinitionName(live ?? '?')}.`,
      );
      wanted = copy;
    }
    usedEngine = engine;
    // What ran is rolled back; the list of what completed a rollout now starts with what runs again.
    await recordReturn(
      ecs,
      now.serviceArn as string,
      {
        from: live,
        to: returnedTo,
        copy: wanted !== returnedTo ? wanted : undefined,
        explicit: explicit !== undefined,
      },
      log,
      signal,
    );
    rolledBackTo = wanted;
  } else if (wanted && !timer.changed) {
    log(`${describeRef(ref)} already runs ${taskDefinitionName(wanted)}: nothing to roll back.`);
  }
  if (!rolledBackTo && live) rolledBackTo = live;
  const after = !timer.changed
    ? rolledBackTo
    : ((await liveTaskDefinition(ecs, ref, await describeService(ecs, ref, signal), signal)) ?? rolledBackTo);

  let image: string | undefined;
  try {
    const td = (await describeTaskDefinition(ecs, after, signal)).taskDefinition;
    const container = service.loadBalancers?.[0]?.containerName;
    image = primaryContainer(registrationInput(td), container)?.image;
  } catch (err) {
    log(`Could not read the image of ${taskDefinitionName(after)}: ${errorMessage(err)}`);
  }
  ecs.destroy();
  elbv2.destroy();
  cloudwatch.destroy();

  if (!timer.changed) {
    return {
      status: 'nothing-to-do',
      rolledBackTo: after,
      ...(from ? { from } : {}),
      recoveryMs: 0,
      actions,
      service: name,
      where,
      engine: usedEngine,
      ...(image ? { image } : {}),
    };
  }
  const recoveryMs = timer.recoveryMs();
  log(`Back on ${taskDefinitionName(after)} ${formatDuration(recoveryMs)} after the first change.`);
  return {
    status: 'rolled-back',
    rolledBackTo: after,
    ...(from ? { from } : {}),
    recoveryMs,
    actions,
    service: name,
    where,
    engine: usedEngine,
    ...(image ? { image } : {}),
  };
}
