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
import {
  ListTaskDefinitionsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { errorMessage, UserError } from '../util/errors.js';
import {
  describeTaskDefinition,
  explainEcsError,
  listTags,
  tagValue,
  taskDefinitionArn,
  taskDefinitionName,
} from './ecs.js';

export const LAST_GOOD_TAG = 'platform-actions:last-good';
export const SERVED_TAG = 'platform-actions:served';
export const ROLLED_BACK_TAG = 'platform-actions:rolled-back';

/** Longest tag value ECS takes. */
const TAG_VALUE_MAX = 256;
const NAME = /^([A-Za-z0-9_-]{1,255}):([1-9]\d{0,8})$/;
const ARN = /^arn:([^:]+):ecs:([^:]+):(\d{12}):task-definition\/([A-Za-z0-9_-]{1,255}):([1-9]\d{0,8})$/;

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

/** A task definition named by ARN or `family:revision`, split; undefined when it is neither. */
export interface TaskDefinitionRef {
  family: string;
  revision: number;
  /** Only for an ARN. */
  account?: string;
  region?: string;
  partition?: string;
}

export function parseTaskDefinitionRef(text: string): TaskDefinitionRef | undefined {
  const arn = ARN.exec(text);
  if (arn)
    return {
      partition: arn[1] as string,
      region: arn[2] as string,
      account: arn[3] as string,
      family: arn[4] as string,
      revision: Number(arn[5]),
    };
  const name = NAME.exec(text);
  return name ? { family: name[1] as string, revision: Number(name[2]) } : undefined;
}

/** Account and region of an ECS service ARN (arn:aws:ecs:REGION:ACCOUNT:service/...). */
export function serviceLocation(serviceArn: string): { region: string; account: string } {
  const [, , , region = '', account = ''] = serviceArn.split(':');
  return { region, account };
}

/** The family of a task definition ARN or name. */
export function familyOf(arnOrName: string): string {
  return taskDefinitionName(arnOrName).split(':')[0] ?? '';
}

/** The list in the tag: valid entries newest first, and what was wrong with the others. */
export function parseHistory(text: string | undefined): { entries: string[]; problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  for (const word of (text ?? '').trim().split(/\s+/).filter(Boolean)) {
    if (!NAME.test(word)) problems.push(`'${word.slice(0, 80)}' is not family:revision`);
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
  if (!NAME.test(name)) return;
  try {
    const { entries } = await readHistory(ecs, serviceArn, familyOf(name), undefined, signal);
    const seed =
      entries.length === 0 && before && NAME.test(taskDefinitionName(before)) && taskDefinitionName(before) !== name
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
  if (!NAME.test(name)) return;
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

/** Tags of a task definition, undefined when it does not exist (any more). */
async function tagsOf(ecs: ECSClient, arn: string, signal?: AbortSignal): Promise<Map<string, string> | undefined> {
  try {
    const { tags } = await describeTaskDefinition(ecs, arn, signal);
    return new Map(tags.map((t) => [t.key ?? '', t.value ?? '']));
  } catch (err) {
    if (err instanceof UserError) return undefined;
    throw err;
  }
}

const when = (epoch: string | undefined) =>
  epoch && /^\d+$/.test(epoch) ? ` at ${new Date(Number(epoch) * 1000).toISOString()}` : '';

export interface Resolved {
  /** Full task definition ARN. */
  arn: string;
  /** One sentence for the log, the summary and the outcome: what it resolved to and why. */
  why: string;
}

/** ACTIVE revisions of a family, newest first by revision number (whatever order ECS lists them in). */
async function activeRevisions(
  ecs: ECSClient,
  family: string,
  signal?: AbortSignal,
): Promise<Array<{ arn: string; revision: number }>> {
  const out: Array<{ arn: string; revision: number }> = [];
  let nextToken: string | undefined;
  try {
    do {
      const res = await ecs.send(
        new ListTaskDefinitionsCommand({
          familyPrefix: family,
          status: 'ACTIVE',
          sort: 'DESC',
          maxResults: 100,
          ...(nextToken ? { nextToken } : {}),
        }),
        abort(signal),
      );
      for (const arn of res.taskDefinitionArns ?? []) {
        const ref = parseTaskDefinitionRef(arn);
        if (ref?.family === family) out.push({ arn, revision: ref.revision });
      }
      nextToken = res.nextToken;
    } while (nextToken && out.length < 1000);
  } catch (err) {
    throw explainEcsError(err, `Listing the revisions of task definition family ${family}`);
  }
  return out.sort((a, b) => b.revision - a.revision);
}

/**
 * What `to: previous` means for a service that runs `live`: the revision that last
 * completed a rollout before it (the last-good list), skipping any tagged rolled back.
 * Without a list (a service deployed before this was recorded): the newest ACTIVE revision
 * below the live one that is not tagged rolled back. With a list that has nothing before
 * the live revision: refused, naming what was rolled back, since going there is a decision.
 */
export async function resolvePrevious(
  ecs: ECSClient,
  service: Service,
  live: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<Resolved> {
  const serviceArn = service.serviceArn as string;
  const liveName = taskDefinitionName(live);
  const family = familyOf(liveName);
  const { entries, present } = await readHistory(ecs, serviceArn, family, log, signal);
  const skipped: string[] = [];

  if (entries.length > 0) {
    const at = entries.indexOf(liveName);
    const candidates = at >= 0 ? entries.slice(at + 1) : entries.filter((e) => e !== liveName);
    for (const name of candidates) {
      const arn = taskDefinitionArn(name, serviceArn);
      const tags = await tagsOf(ecs, arn, signal);
      if (!tags) {
        skipped.push(`${name} (no longer exists)`);
        continue;
      }
      if (tags.has(ROLLED_BACK_TAG)) {
        skipped.push(`${name} (rolled back${when(tags.get(ROLLED_BACK_TAG))})`);
        continue;
      }
      return {
        arn,
        why: `previous is ${name}: the revision that last completed a rollout before ${liveName}${at < 0 ? ` (${liveName} itself is not in the list: it was not deployed by a completed ecs-deploy rollout)` : ''}, from the service's ${LAST_GOOD_TAG} list${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}.`,
      };
    }
    // Nothing good before the live one: name what was rolled back since, so going there is an explicit choice.
    const newer: string[] = [];
    for (const r of (await activeRevisions(ecs, family, signal))
      .filter((r) => taskDefinitionName(r.arn) !== liveName)
      .slice(0, 10)) {
      const tags = await tagsOf(ecs, r.arn, signal);
      if (tags?.has(ROLLED_BACK_TAG))
        newer.push(`${taskDefinitionName(r.arn)} (rolled back${when(tags.get(ROLLED_BACK_TAG))})`);
    }
    throw new UserError(
      `to: previous has nothing to return to: the service's ${LAST_GOOD_TAG} list (${entries.join(', ')}) holds no revision that completed a rollout before the live ${liveName}${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}. ${newer.length ? `Rolled back on this service: ${newer.join(', ')}; returning to one of them is a new decision, not a rollback of the last change.` : ''}`.trim(),
      `To run a particular revision, give it explicitly (to: FAMILY:REVISION of one the service ran successfully before, e.g. ${newer[0]?.split(' ')[0] ?? `${family}:N`}), or deploy it again with ecs-deploy. Nothing was changed.`,
    );
  }

  // No history: the revision before, excluding what was rolled back.
  const revision = parseTaskDefinitionRef(liveName)?.revision ?? 0;
  for (const r of (await activeRevisions(ecs, family, signal)).filter((r) => r.revision < revision).slice(0, 25)) {
    const tags = await tagsOf(ecs, r.arn, signal);
    if (tags?.has(ROLLED_BACK_TAG)) {
      skipped.push(`${taskDefinitionName(r.arn)} (rolled back${when(tags.get(ROLLED_BACK_TAG))})`);
      continue;
    }
    return {
      arn: r.arn,
      why: `previous is ${taskDefinitionName(r.arn)}: the service has no ${LAST_GOOD_TAG} list${present ? ' that can be read' : ' (it was deployed before platform-actions recorded one)'}, so previous falls back to the newest ACTIVE revision below ${liveName} that was not rolled back${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}.`,
    };
  }
  throw new UserError(
    `Task definition family ${family} has no ACTIVE revision before ${liveName} that was not rolled back${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}, so there is no previous version to return to.`,
    'Give to: the task definition (family:revision) to return to. Nothing was changed.',
  );
}

/**
 * Checks an explicit `to:` before any change: the service's own family, in the service's
 * account and region, and (unless allowAny) a revision the service ran successfully
 * before: in the last-good list or tagged served by a promotion.
 */
export async function checkExplicitTarget(
  ecs: ECSClient,
  service: Service,
  live: string | undefined,
  to: string,
  allowAny: boolean,
  signal?: AbortSignal,
): Promise<Resolved> {
  const serviceArn = service.serviceArn as string;
  const ref = parseTaskDefinitionRef(to);
  if (!ref)
    throw new UserError(
      `to: '${to}' is not a task definition ARN or family:revision.`,
      'Give FAMILY:REVISION or a task definition ARN. Nothing was changed.',
    );
  const where = serviceLocation(serviceArn);
  if (ref.account && (ref.account !== where.account || ref.region !== where.region)) {
    throw new UserError(
      `to: ${to} is a task definition of account ${ref.account} in ${ref.region}, but service ${service.serviceName} runs in account ${where.account} in ${where.region}. The rollback action returns a service only to its own task definitions.`,
      `Give to: FAMILY:REVISION of the service's own family${live ? ` (${familyOf(live)})` : ''}. Nothing was changed.`,
    );
  }
  const family = live ? familyOf(live) : undefined;
  if (family && ref.family !== family && !allowAny) {
    throw new UserError(
      `to: ${to} is of task definition family ${ref.family}, but service ${service.serviceName} runs family ${family}. The rollback action returns a service only to a revision of its own family.`,
      `Give to: ${family}:REVISION (a revision the service ran before), or deploy the other task definition with ecs-deploy. Nothing was changed.`,
    );
  }
  const name = `${ref.family}:${ref.revision}`;
  const arn = taskDefinitionArn(name, serviceArn);
  const described = await describeTaskDefinition(ecs, ref.account ? to : name, signal);
  const tags = new Map(described.tags.map((t) => [t.key ?? '', t.value ?? '']));
  if (live && taskDefinitionName(live) === name)
    return { arn: described.taskDefinition.taskDefinitionArn ?? arn, why: `to: ${name} is what the service runs.` };
  if (allowAny) {
    return {
      arn: described.taskDefinition.taskDefinitionArn ?? arn,
      why: `to: ${name}, accepted without checking the service ran it before (allow-any-revision: true).`,
    };
  }
  const { entries } = await readHistory(ecs, serviceArn, family, undefined, signal);
  if (entries.includes(name) || tags.has(SERVED_TAG)) {
    const note = tags.has(ROLLED_BACK_TAG)
      ? ` It was rolled back${when(tags.get(ROLLED_BACK_TAG))}; returning to it is your explicit choice.`
      : '';
    return {
      arn: described.taskDefinition.taskDefinitionArn ?? arn,
      why: `to: ${name}, which completed a rollout on this service before (${entries.includes(name) ? `in its ${LAST_GOOD_TAG} list` : `tagged ${SERVED_TAG}${when(tags.get(SERVED_TAG))}`}).${note}`,
    };
  }
  throw new UserError(
    `to: ${name} is not a revision service ${service.serviceName} ran successfully before: it is neither in the service's ${LAST_GOOD_TAG} list (${entries.join(', ') || 'empty'}) nor tagged ${SERVED_TAG} by a promotion.`,
    `Give one of the revisions in that list, or set allow-any-revision: true in a workflow whose environment requires a reviewer (docs/actions/rollback.md). Nothing was changed.`,
  );
}
