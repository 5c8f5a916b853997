/**
 * The rollout record on an ECS service is untrusted input: anyone with ecs:TagResource on
 * the service can write it, and whatever it names is what a recovery puts traffic on or
 * deletes. So before anything acts on it, it is read here and checked against the live
 * service:
 *
 * - it parses (a `v1` line; another version's line is refused: a newer platform-actions wrote it);
 * - the engine is one this version knows and fits the service's deployment controller;
 * - the id is well formed;
 * - task sets (ecs-task-set): both sides are `ecs-svc/…` ids; the stable one exists in this
 *   service (unless the promotion that deletes it was under way); the new one, where it
 *   still exists, was created by this rollout (external id or deployment tag); each runs a
 *   task definition of a family the service runs, in the service's account and region;
 * - task definitions (ecs-rolling, ecs-native): `family:revision` (native: `@deployment-id`)
 *   or ARNs of the service's account and region, of a family the service runs.
 *
 * A record that fails is a RecordProblem (a UserError saying what is wrong and how to
 * inspect and remove the tag by hand); a tag that cannot be parsed at all is reported as
 * `garbled` so the caller can recover from the live state alone (never from the text).
 */
import type { ECSClient, Service, TaskSet } from '@aws-sdk/client-ecs';
import { decodeAbort } from '../delivery/abort.js';
import { decodeRecord, isRecordSafe } from '../delivery/record.js';
import type { RolloutRecord } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import {
  ABORT_TAG,
  DEPLOYMENT_TAG,
  describeRef,
  describeTaskSets,
  listTags,
  RECORD_TAG,
  tagValue,
  taskDefinitionName,
  taskSetId,
  type ServiceRef,
} from './ecs.js';
import { familyOf, parseTaskDefinitionRef, serviceLocation } from './task-definition-ref.js';

/** Engine names of the ECS targets (kept here as text: the targets import this module). */
const ENGINES: Record<string, 'EXTERNAL' | 'ECS'> = {
  'ecs-task-set': 'EXTERNAL',
  'ecs-rolling': 'ECS',
  'ecs-native': 'ECS',
};
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TASK_SET = /^ecs-svc\/\d{1,40}$/;
const DEPLOYMENT = /^[A-Za-z0-9_-]{1,128}$/;

/** A record on the service that must not be acted on; the message says what to do by hand. */
export class RecordProblem extends UserError {}

export type LoadedRecord =
  { kind: 'none' } | { kind: 'record'; record: RolloutRecord } | { kind: 'garbled'; text: string; problem: string };

function region(serviceArn: string): string {
  return serviceLocation(serviceArn).region;
}

/** What to do about a record that is refused: inspect, check the traffic, remove the tag. Never "run the rollback action". */
export function recordRemedy(service: Service, what: 'refused' | 'garbled'): string {
  const arn = service.serviceArn ?? '';
  const r = region(arn);
  const external = service.deploymentController?.type === 'EXTERNAL';
  return [
    `Look at the tag: aws ecs list-tags-for-resource --region ${r} --resource-arn ${arn}.`,
    external
      ? `Check that the listener sends 100% to the primary task set's target group (aws ecs describe-task-sets --region ${r} --cluster ${service.clusterArn?.split('/').pop() ?? ''} --services ${service.serviceName}; aws elbv2 describe-listeners / describe-rules) and that no other task set is left over.`
      : `Check that the service runs the task definition you expect (aws ecs describe-services --region ${r} --cluster ${service.clusterArn?.split('/').pop() ?? ''} --services ${service.serviceName}).`,
    `Then remove the tag: aws ecs untag-resource --region ${r} --resource-arn ${arn} --tag-keys ${RECORD_TAG}.`,
    what === 'refused'
      ? 'If someone other than a deploy role wrote it, find out who (CloudTrail TagResource events) and apply the IAM condition in docs/actions/rollback.md.'
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Families of task definitions the service runs now: its own, its deployments', its task sets'. */
function serviceFamilies(service: Service, taskSets: TaskSet[]): Set<string> {
  const out = new Set<string>();
  for (const td of [
    service.taskDefinition,
    ...(service.deployments ?? []).map((d) => d.taskDefinition),
    ...taskSets.map((t) => t.taskDefinition),
  ]) {
    if (td) out.add(familyOf(td));
  }
  return out;
}

/** Why a task definition a record names does not belong to the service, or undefined when it does. */
function foreignTaskDefinition(text: string, service: Service, families: Set<string>): string | undefined {
  const ref = parseTaskDefinitionRef(text);
  if (!ref) return `'${text}' is not a task definition (family:revision or ARN)`;
  const where = serviceLocation(service.serviceArn ?? '');
  if (ref.account && (ref.account !== where.account || ref.region !== where.region))
    return `${text} is in account ${ref.account} (${ref.region}), not the service's ${where.account} (${where.region})`;
  if (families.size > 0 && !families.has(ref.family))
    return `${taskDefinitionName(text)} is of family ${ref.family}, which the service does not run (it runs ${[...families].join(', ')})`;
  return undefined;
}

/** Everything wrong with a parsed record for this service, or [] when it may be acted on. */
export async function recordProblems(
  ecs: ECSClient,
  ref: ServiceRef,
  service: Service,
  record: RolloutRecord,
  signal?: AbortSignal,
): Promise<string[]> {
  const problems: string[] = [];
  if (!ID.test(record.id) || !isRecordSafe(record.id)) problems.push(`its id '${record.id}' is not a deployment id`);
  const controller = ENGINES[record.engine];
  const live = service.deploymentController?.type ?? 'ECS';
  if (!controller) {
    problems.push(
      `engine '${record.engine}' is not one this version knows (${Object.keys(ENGINES).join(', ')}); a newer platform-actions may have written it`,
    );
    return problems;
  }
  if (controller !== live)
    problems.push(
      `engine ${record.engine} needs the ${controller} deployment controller, but the service uses ${live}`,
    );

  if (record.engine === 'ecs-task-set') {
    const taskSets = live === 'EXTERNAL' ? await describeTaskSets(ecs, ref, signal) : [];
    const families = serviceFamilies(service, taskSets);
    const byId = (id: string) => taskSets.find((t) => taskSetId(t.id ?? '') === id);
    for (const [side, id] of [
      ['stable', record.stable],
      ['new', record.canary],
    ] as const) {
      if (!id) continue;
      if (!TASK_SET.test(id)) {
        problems.push(`its ${side} side '${id}' is not a task set id (ecs-svc/…)`);
        continue;
      }
      const ts = byId(id);
      if (!ts) {
        // The promotion deletes the old task set, a rollback the new one: only then may a side be gone.
        if (side === 'stable' && record.phase !== 'promoting')
          problems.push(`its stable side ${id} is not a task set of this service`);
        continue;
      }
      const foreign = ts.taskDefinition
        ? foreignTaskDefinition(ts.taskDefinition, service, families)
        : 'it runs no task definition';
      if (foreign) problems.push(`its ${side} task set ${id} runs ${foreign}`);
      if (side === 'new' && ts.externalId !== record.id && tagValue(ts.tags, DEPLOYMENT_TAG) !== record.id) {
        problems.push(
          `its new task set ${id} was not created by rollout ${record.id} (external id ${ts.externalId || 'none'}, ${DEPLOYMENT_TAG} ${tagValue(ts.tags, DEPLOYMENT_TAG) ?? 'none'})`,
        );
      }
    }
    if (record.stable && record.stable === record.canary)
      problems.push('its stable and new sides are the same task set');
    return problems;
  }

  const families = serviceFamilies(service, []);
  for (const [side, text] of [
    ['stable', record.stable],
    ['new', record.canary],
  ] as const) {
    if (!text) continue;
    let td = text;
    if (record.engine === 'ecs-native' && side === 'new' && text.includes('@')) {
      const id = text.slice(text.lastIndexOf('@') + 1);
      td = text.slice(0, text.lastIndexOf('@'));
      if (!DEPLOYMENT.test(id))
        problems.push(`its new side names service deployment '${id}', which is not a deployment id`);
      if (!td) continue;
    }
    const foreign = foreignTaskDefinition(td, service, families);
    if (foreign) problems.push(`its ${side} side ${foreign}`);
  }
  return problems;
}

/**
 * Reads the record tag and classifies it; a record that parses is checked against the live
 * service, unless its text is `trusted` (what this process itself wrote last). An abort
 * request for the record's rollout, kept in its own tag, comes back on the record.
 */
export async function loadServiceRecord(
  ecs: ECSClient,
  ref: ServiceRef,
  service: Service,
  signal?: AbortSignal,
  trusted?: string,
): Promise<LoadedRecord> {
  const tags = await listTags(ecs, service.serviceArn as string, signal);
  const text = tagValue(tags, RECORD_TAG);
  if (!text?.trim()) return { kind: 'none' };
  const record = decodeRecord(text);
  const shown = JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
  if (!record) {
    const version = /^\s*(v\d+)\s/.exec(text)?.[1];
    if (version && version !== 'v1') {
      throw new RecordProblem(
        `The rollout record on ECS service ${describeRef(ref)} is a ${version} record (${shown}), which a newer platform-actions wrote; this version cannot tell what it describes, so it does not touch the service.`,
        `Run the deploy or rollback with the platform-actions version that wrote it. Otherwise: ${recordRemedy(service, 'garbled')}`,
      );
    }
    return {
      kind: 'garbled',
      text,
      problem: `The ${RECORD_TAG} tag on ECS service ${describeRef(ref)} holds ${shown}, which is not a rollout record; it is ignored, and nothing it says is acted on.`,
    };
  }
  const problems = text === trusted ? [] : await recordProblems(ecs, ref, service, record, signal);
  if (problems.length > 0) {
    throw new RecordProblem(
      `The rollout record on ECS service ${describeRef(ref)} (${shown}) does not match the service: ${problems.join('; ')}. It was not acted on and nothing was changed.`,
      recordRemedy(service, 'refused'),
    );
  }
  const abort = decodeAbort(tagValue(tags, ABORT_TAG));
  return { kind: 'record', record: abort?.id === record.id ? { ...record, abort } : record };
}

/**
 * What a target's loadRecord returns: the checked record, undefined when there is none or
 * it is garbled (reported to `log`; the caller recovers from the live state), or a thrown
 * RecordProblem.
 */
export async function checkedRecord(
  ecs: ECSClient,
  ref: ServiceRef,
  service: Service,
  log: (line: string) => void,
  signal?: AbortSignal,
  trusted?: string,
): Promise<RolloutRecord | undefined> {
  const loaded = await loadServiceRecord(ecs, ref, service, signal, trusted);
  if (loaded.kind === 'garbled') log(`Warning: ${loaded.problem} ${recordRemedy(service, 'garbled')}`);
  return loaded.kind === 'record' ? loaded.record : undefined;
}
