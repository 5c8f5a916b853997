/**
 * Last known good: which task definition revisions of an ECS service completed a rollout,
 * so that the rollback action's `to: previous` returns to what last ran well, never to a
 * revision that was rolled back, and an explicit `to:` can be checked against what the
 * service really ran.
 *
 * - The service tag `platform-actions:last-good` holds a short newest-first list of
 *   `family:revision` that completed a rollout on it (space separated, at most 256
 *   characters: the oldest fall off). Every engine's promotion pushes the promoted
 *   revision; the first push onto a service without a list also records the revision that
 *   served before (it ran the service until then). A rollback by the rollback action pops
 *   what it rolled back: the list then starts with what the service runs again.
 * - A promoted task definition (and that first predecessor) is tagged
 *   `platform-actions:served` with the time; a task definition whose rollout was rolled
 *   back, or that the rollback action rolled back, is tagged `platform-actions:rolled-back`.
 *
 * The list and the tags are untrusted input (anyone with ecs:TagResource can write them;
 * see docs/actions/rollback.md for the IAM condition that keeps them to the deploy roles):
 * entries are validated on read, entries of another family are ignored, and a rolled-back
 * tag always wins. Writes here are best effort: they happen after traffic moved, and a
 * failure is logged, never turned into a failed rollout.
 */
import { TagResourceCommand, UntagResourceCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { errorMessage } from '../util/errors.js';
import { listTags, tagValue, taskDefinitionArn, taskDefinitionName } from './ecs.js';
import { familyOf, TASK_DEFINITION_NAME } from './task-definition-ref.js';

export const LAST_GOOD_TAG = 'platform-actions:last-good';
export const SERVED_TAG = 'platform-actions:served';
export const ROLLED_BACK_TAG = 'platform-actions:rolled-back';

/** Longest tag value ECS takes. */
const TAG_VALUE_MAX = 256;

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
/** The list in the tag: valid entries newest first, and what was wrong with the others. */
export function parseHistory(text: string | undefined): { entries: string[]; problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  for (const word of (text ?? '').trim().split(/\s+/).filter(Boolean)) {
    if (!TASK_DEFINITION_NAME.test(word)) problems.push(`'${word.slice(0, 80)}' is not family:revision`);
    else if (!entries.includes(word)) entries.push(word);
  }
  return { entries, problems };
}

/** The tag value: as many of the newest entries as fit. */
export function encodeHistory(entries: string[]): string {
  let out = '';
  for (const e of entries) {
    const next = out ? `${out} ${e}` : e;
    if (next.length > TAG_VALUE_MAX) break;
    out = next;
  }
  return out;
}

async function tagTaskDefinition(ecs: ECSClient, arn: string, key: string, signal?: AbortSignal): Promise<void> {
  await ecs.send(
    new TagResourceCommand({ resourceArn: arn, tags: [{ key, value: String(Math.floor(Date.now() / 1000)) }] }),
    abort(signal),
  );
}

async function writeHistory(
  ecs: ECSClient,
  serviceArn: string,
  entries: string[],
  signal?: AbortSignal,
): Promise<void> {
  const value = encodeHistory(entries);
  if (value)
    await ecs.send(
      new TagResourceCommand({ resourceArn: serviceArn, tags: [{ key: LAST_GOOD_TAG, value }] }),
      abort(signal),
    );
  else await ecs.send(new UntagResourceCommand({ resourceArn: serviceArn, tagKeys: [LAST_GOOD_TAG] }), abort(signal));
}

/** The service's list, only entries of `family` (others are reported to `log` and ignored). */
export async function readHistory(
  ecs: ECSClient,
  serviceArn: string,
  family: string | undefined,
  log?: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ entries: string[]; present: boolean }> {
  const text = tagValue(await listTags(ecs, serviceArn, signal), LAST_GOOD_TAG);
  const { entries, problems } = parseHistory(text);
  const foreign = family ? entries.filter((e) => familyOf(e) !== family) : [];
  if (problems.length || foreign.length) {
    log?.(
      `The ${LAST_GOOD_TAG} tag of the service has entries that are ignored: ${[...problems, ...foreign.map((e) => `${e} is not of the service's family ${family}`)].join('; ')}.`,
    );
  }
  return { entries: entries.filter((e) => !foreign.includes(e)), present: Boolean(text?.trim()) };
}

/**
 * After a promotion: `promoted` completed a rollout on the service. Pushed onto the list
 * (with `before`, what served until now, when the service has no list yet) and tagged
 * served. Best effort: a failure is logged.
 */
export async function recordPromotion(
  ecs: ECSClient,
  serviceArn: string,
  promoted: string,
  before: string | undefined,
  log: (line: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<void> {
  const name = taskDefinitionName(promoted);
  if (!TASK_DEFINITION_NAME.test(name)) return;
  try {
    const { entries } = await readHistory(ecs, serviceArn, familyOf(name), undefined, signal);
    const seed =
      entries.length === 0 &&
      before &&
      TASK_DEFINITION_NAME.test(taskDefinitionName(before)) &&
      taskDefinitionName(before) !== name
        ? [taskDefinitionName(before)]
        : [];
    await writeHistory(ecs, serviceArn, [name, ...entries.filter((e) => e !== name), ...seed], signal);
    for (const td of [name, ...seed])
      await tagTaskDefinition(ecs, taskDefinitionArn(td, serviceArn), SERVED_TAG, signal);
    await ecs.send(
      new UntagResourceCommand({ resourceArn: taskDefinitionArn(name, serviceArn), tagKeys: [ROLLED_BACK_TAG] }),
      abort(signal),
    );
    log(`Recorded ${name} as the service's last known good revision (${LAST_GOOD_TAG}).`);
  } catch (err) {
    log(
      `Could not record ${name} as the last known good revision (${errorMessage(err)}); the rollback action's to: previous falls back to older information.`,
    );
  }
}

/** A rollout of `taskDefinition` was rolled back: tag it so `previous` never returns to it. Best effort. */
export async function markRolledBack(
  ecs: ECSClient,
  serviceArn: string,
  taskDefinition: string,
  log: (line: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<void> {
  const name = taskDefinitionName(taskDefinition.replace(/@.*$/, ''));
  if (!TASK_DEFINITION_NAME.test(name)) return;
  try {
    await tagTaskDefinition(ecs, taskDefinitionArn(name, serviceArn), ROLLED_BACK_TAG, signal);
    log(`Tagged ${name} ${ROLLED_BACK_TAG}: the rollback action's to: previous never returns to it.`);
  } catch (err) {
    log(`Could not tag ${name} as rolled back (${errorMessage(err)}).`);
  }
}

/**
 * After the rollback action returned the service from `from` to `to` (running as `copy`
 * when task sets registered it again): `from` is tagged rolled back, and the list drops
 * everything newer than `to` and names what runs now in its place. Best effort.
 */
export async function recordReturn(
  ecs: ECSClient,
  serviceArn: string,
  change: { from: string | undefined; to: string; copy?: string | undefined; explicit: boolean },
  log: (line: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<void> {
  const to = taskDefinitionName(change.to);
  const now = taskDefinitionName(change.copy ?? change.to);
  try {
    if (change.from && taskDefinitionName(change.from) !== to)
      await markRolledBack(ecs, serviceArn, change.from, log, signal);
    const { entries } = await readHistory(ecs, serviceArn, familyOf(now), undefined, signal);
    const at = entries.indexOf(to);
    const older = at >= 0 ? entries.slice(at + 1) : entries.filter((e) => e !== taskDefinitionName(change.from ?? ''));
    await writeHistory(ecs, serviceArn, [now, ...older.filter((e) => e !== now)], signal);
    await tagTaskDefinition(ecs, taskDefinitionArn(now, serviceArn), SERVED_TAG, signal);
    // An explicit return to a revision once rolled back is an operator's decision that it is good.
    if (change.explicit)
      await ecs.send(
        new UntagResourceCommand({ resourceArn: taskDefinitionArn(now, serviceArn), tagKeys: [ROLLED_BACK_TAG] }),
        abort(signal),
      );
  } catch (err) {
    log(`Could not update the service's ${LAST_GOOD_TAG} list (${errorMessage(err)}).`);
  }
}
