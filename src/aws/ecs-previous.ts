/**
 * What the rollback action returns to: `to: previous` resolved from the last-good list
 * and the rolled-back tags (ecs-last-good.ts), and an explicit `to:` checked against what
 * the service really ran.
 */
import { ListTaskDefinitionsCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { UserError } from '../util/errors.js';
import { describeTaskDefinition, explainEcsError, taskDefinitionArn, taskDefinitionName } from './ecs.js';
import { LAST_GOOD_TAG, readHistory, ROLLED_BACK_TAG, SERVED_TAG } from './ecs-last-good.js';
import { familyOf, parseTaskDefinitionRef, serviceLocation, type TaskDefinitionRef } from './task-definition-ref.js';

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

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

const nothingBeforeInList = (
  entries: string[],
  liveName: string,
  skipped: string[],
  newer: string[],
  family: string,
): UserError =>
  new UserError(
    `to: previous has nothing to return to: the service's ${LAST_GOOD_TAG} list (${entries.join(', ')}) holds no revision that completed a rollout before the live ${liveName}${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}. ${newer.length ? `Rolled back on this service: ${newer.join(', ')}; returning to one of them is a new decision, not a rollback of the last change.` : ''}`.trim(),
    `To run a particular revision, give it explicitly (to: FAMILY:REVISION of one the service ran successfully before, e.g. ${newer[0]?.split(' ')[0] ?? `${family}:N`}), or deploy it again with ecs-deploy. Nothing was changed.`,
  );

const noEarlierRevision = (family: string, liveName: string, skipped: string[]): UserError =>
  new UserError(
    `Task definition family ${family} has no ACTIVE revision before ${liveName} that was not rolled back${skipped.length ? ` (skipped ${skipped.join(', ')})` : ''}, so there is no previous version to return to.`,
    'Give to: the task definition (family:revision) to return to. Nothing was changed.',
  );

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
    throw nothingBeforeInList(entries, liveName, skipped, newer, family);
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
  throw noEarlierRevision(family, liveName, skipped);
}

const otherAccountOrRegion = (
  to: string,
  ref: TaskDefinitionRef,
  service: Service,
  where: { region: string; account: string },
  live: string | undefined,
): UserError =>
  new UserError(
    `to: ${to} is a task definition of account ${ref.account} in ${ref.region}, but service ${service.serviceName} runs in account ${where.account} in ${where.region}. The rollback action returns a service only to its own task definitions.`,
    `Give to: FAMILY:REVISION of the service's own family${live ? ` (${familyOf(live)})` : ''}. Nothing was changed.`,
  );

const otherFamily = (to: string, ref: TaskDefinitionRef, service: Service, family: string): UserError =>
  new UserError(
    `to: ${to} is of task definition family ${ref.family}, but service ${service.serviceName} runs family ${family}. The rollback action returns a service only to a revision of its own family.`,
    `Give to: ${family}:REVISION (a revision the service ran before), or deploy the other task definition with ecs-deploy. Nothing was changed.`,
  );

const neverRanSuccessfully = (name: string, service: Service, entries: string[]): UserError =>
  new UserError(
    `to: ${name} is not a revision service ${service.serviceName} ran successfully before: it is neither in the service's ${LAST_GOOD_TAG} list (${entries.join(', ') || 'empty'}) nor tagged ${SERVED_TAG} by a promotion.`,
    `Give one of the revisions in that list, or set allow-any-revision: true in a workflow whose environment requires a reviewer (docs/actions/rollback.md). Nothing was changed.`,
  );

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
    throw otherAccountOrRegion(to, ref, service, where, live);
  }
  const family = live ? familyOf(live) : undefined;
  if (family && ref.family !== family && !allowAny) {
    throw otherFamily(to, ref, service, family);
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
  throw neverRanSuccessfully(name, service, entries);
}
