/**
 * Who may change an environment, and in what order: every job that runs one of our actions
 * that change an environment (deploy, promote, rollback, terraform apply, reconcile) must
 * be in a concurrency group with `queue: max` (GitHub otherwise keeps one pending job per
 * group and cancels the older one when a newer one queues, silently dropping a pending
 * rollback or promote) and must not cancel the job in progress. The rollback job's group
 * must differ from the deploy jobs' (a rollback never waits behind a 30-minute bake).
 */

/** Our actions whose jobs change an environment. */
export const CHANGING_ACTIONS = [
  'ecs-deploy',
  'gke-deploy',
  'rollback',
  'promote',
  'terraform-apply',
  'reconcile',
] as const;

type Doc = Record<string, unknown>;
interface Job {
  concurrency?: unknown;
  steps?: Array<{ uses?: unknown }>;
}

/** The changing actions a job's steps use (by `…/actions/<name>@…`). */
export function changingActionsOf(job: Job, publishedAs: string): string[] {
  const found = new Set<string>();
  for (const step of job.steps ?? []) {
    if (typeof step?.uses !== 'string') continue;
    const m = /^(.+)\/actions\/([a-z0-9-]+)@/.exec(step.uses);
    if (m && m[1] === publishedAs && (CHANGING_ACTIONS as readonly string[]).includes(m[2] as string))
      found.add(m[2] as string);
  }
  return [...found];
}

/** The job's group text, when it has one. */
export function groupOf(job: Job): string | undefined {
  const c = job.concurrency;
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object' && typeof (c as { group?: unknown }).group === 'string')
    return (c as { group: string }).group;
  return undefined;
}

export function checkConcurrency(workflows: Map<string, Doc>, publishedAs: string): string[] {
  const problems: string[] = [];
  const groups = new Map<string, string[]>();
  for (const [file, doc] of workflows) {
    const jobs = (doc.jobs ?? {}) as Record<string, Job>;
    for (const [id, job] of Object.entries(jobs)) {
      const used = changingActionsOf(job, publishedAs);
      if (used.length === 0) continue;
      const where = `${file}: job ${id} (${used.join(', ')})`;
      const c = job.concurrency;
      const group = groupOf(job);
      if (!group) {
        problems.push(
          `${where} changes an environment but has no concurrency group: give it concurrency: { group: …, cancel-in-progress: false, queue: max }.`,
        );
        continue;
      }
      const settings = (typeof c === 'object' && c ? c : {}) as { queue?: unknown; 'cancel-in-progress'?: unknown };
      if (settings.queue !== 'max')
        problems.push(
          `${where} is in concurrency group ${group} without queue: max, so GitHub cancels a pending job of it when a newer one queues (a pending rollback or promote is dropped). Add queue: max.`,
        );
      if (settings['cancel-in-progress'] !== false)
        problems.push(
          `${where} does not set cancel-in-progress: false; a job that changes an environment is never cancelled by a newer one.`,
        );
      // A deploy job that also undoes its own release (the rollback action after a failed service) is a deploy job: it
      // only returns what it deployed itself. The rollback job is the one that uses rollback and no deploy action.
      const deploying = used.some((a) => a === 'ecs-deploy' || a === 'gke-deploy');
      for (const action of used)
        if (!(deploying && action === 'rollback')) groups.set(action, [...(groups.get(action) ?? []), group]);
    }
  }
  const rollback = groups.get('rollback') ?? [];
  const deploys = [...(groups.get('ecs-deploy') ?? []), ...(groups.get('gke-deploy') ?? [])];
  for (const g of rollback) {
    if (deploys.includes(g))
      problems.push(
        `The rollback job's concurrency group ${g} is also a deploy job's: a rollback would wait behind the deploy it should stop. Give rollback a group of its own.`,
      );
  }
  return problems;
}
