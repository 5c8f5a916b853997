/**
 * Never backwards by accident: before a deploy step replaces what is live in an
 * environment, it checks that the release it brings is not older than the live one, and,
 * when promote queued the deployment, that promote's evidence still holds now that the
 * deploy starts (after any approval wait), not only when it was queued.
 *
 * "Older" is decided by the commits' ancestry through GitHub's compare API (the
 * candidate is behind the live commit), or, when GitHub does not know one of the commits
 * or they diverged, by the environment's deployment record: the candidate was deployed
 * here before the live release and not since. A candidate nobody can place is let through
 * with a note. The rollback action never comes here (going back is its job); a deploy
 * step may go back on purpose with `allow-downgrade: true`.
 */
import { httpStatus, type GitHub, type Repo } from '../github/client.js';
import type { RunContext } from '../github/context.js';
import { currentState, digestOf, isRollback, liveDeployment, type DeploymentRecord } from '../github/deployments.js';
import { listDeployments } from '../github/deployment-history.js';
import { runLogUrl, setDeploymentStatus } from '../github/deployment-tracking.js';
import type { RecordSettings } from '../github/deployment-record.js';
import { inputs } from '../github/inputs.js';
import { errorMessage, UserError } from '../util/errors.js';
import { formatTime, judgePromotion } from './promotion.js';

export type ReleaseOrder = 'first' | 'same' | 'newer' | 'older' | 'unknown';

export interface OrderJudgement {
  order: ReleaseOrder;
  /** How it was decided, for the log and the refusal. */
  how: string;
}

const short = (sha: string) => sha.slice(0, 7);

const compareFailed = (candidate: string, live: string, code: number | undefined, err: unknown): UserError =>
  new UserError(
    `Could not compare release ${short(candidate)} with the live ${short(live)} through GitHub (${code ? `HTTP ${code}: ` : ''}${errorMessage(err)}).`,
    'Give the job `permissions: contents: read`, or, to deploy without the check, set allow-downgrade: true.',
    { cause: err },
  );

/** Where `candidate` stands against `live` by ancestry, or undefined when GitHub cannot say (unknown commit, diverged). */
async function byAncestry(
  gh: GitHub,
  repo: Repo,
  live: string,
  candidate: string,
): Promise<OrderJudgement | undefined> {
  let status: string;
  let ahead: number;
  let behind: number;
  try {
    const { data } = await gh.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${live}...${candidate}`,
      per_page: 1,
    });
    ({ status, ahead_by: ahead, behind_by: behind } = data);
  } catch (err) {
    const code = httpStatus(err);
    if (code === 404 || code === 422) return undefined; // a commit GitHub does not know (force-pushed away, another repository)
    throw compareFailed(candidate, live, code, err);
  }
  if (status === 'identical') return { order: 'same', how: 'the same commit' };
  if (status === 'ahead') return { order: 'newer', how: `${ahead} commit(s) ahead of ${short(live)}` };
  if (status === 'behind') return { order: 'older', how: `${behind} commit(s) behind ${short(live)}` };
  return undefined;
}

/** Where `candidate` stands by the environment's record: deployed here before the live release and not since means older. */
function byRecord(
  history: readonly DeploymentRecord[],
  live: DeploymentRecord,
  candidate: string,
  digest: string | undefined,
): OrderJudgement {
  const earlier = history.filter(
    (d) =>
      d.id !== live.id &&
      !isRollback(d) &&
      (d.sha === candidate || (digest !== undefined && d.payload?.digest === digest)),
  );
  const before = earlier.filter((d) => d.createdAt < live.createdAt);
  if (before.length > 0 && before.length === earlier.length) {
    const last = before.reduce((a, b) => (a.createdAt > b.createdAt ? a : b));
    return {
      order: 'older',
      how: `it was deployed here on ${formatTime(last.createdAt)} (GitHub Deployment #${last.id}), before the live release (${formatTime(live.createdAt)})`,
    };
  }
  return {
    order: 'unknown',
    how: 'GitHub cannot place its commit against the live one and it was never deployed here before the live release',
  };
}

/** Where the candidate release stands against what is live (newest-first history of one service in one environment, statuses loaded). */
export async function judgeOrder(
  gh: GitHub,
  repo: Repo,
  history: readonly DeploymentRecord[],
  candidate: string,
  image: string,
): Promise<OrderJudgement & { live?: DeploymentRecord }> {
  const live = liveDeployment(history);
  if (!live) return { order: 'first', how: 'nothing of ours is live here yet' };
  if (live.sha === candidate) return { order: 'same', how: 'the live release comes from the same commit', live };
  const ancestry = await byAncestry(gh, repo, live.sha, candidate);
  return { ...(ancestry ?? byRecord(history, live, candidate, digestOf(image))), live };
}

export interface GuardRequest {
  environment: string;
  service: string;
  image: string;
  allowDowngrade: boolean;
  run: RunContext;
  now?: number;
}

export interface GuardResult {
  /** The commit of the release being deployed: promote's queued deployment's, or the run's. */
  candidate: string;
  judgement: OrderJudgement & { live?: DeploymentRecord };
  /** The promotion re-checked at deploy time, when promote queued this deployment. */
  promotion?: { from: string; queued: DeploymentRecord };
  notes: string[];
}

/** Promote's deployment queued for this run, service and digest, not yet taken over. */
function queuedPromotion(
  history: readonly DeploymentRecord[],
  run: RunContext,
  digest: string | undefined,
): DeploymentRecord | undefined {
  if (!digest || !run.runId) return undefined;
  return history.find(
    (d) => currentState(d) === 'queued' && d.payload?.digest === digest && d.payload?.promotion?.run_id === run.runId,
  );
}

const judgedWhenQueued = (req: GuardRequest, from: string, queued: DeploymentRecord, err: UserError): UserError =>
  new UserError(
    `The promotion of ${req.service} from ${from} to ${req.environment} was judged when it was queued (${formatTime(queued.createdAt)}), but no longer holds now that the deploy starts: ${err.message} Nothing was changed in ${req.environment}.`,
    err.hint,
  );

const olderRelease = (
  what: string,
  candidate: string,
  req: GuardRequest,
  judgement: OrderJudgement & { live?: DeploymentRecord },
  live: DeploymentRecord | undefined,
): UserError =>
  new UserError(
    `Refusing to replace ${what} with the older release ${short(candidate)} (${req.image}): ${judgement.how}. Nothing was changed.`,
    `To go back on purpose, use the rollback action or workflow, or set allow-downgrade: true on this step. To go forward, deploy a release newer than ${short(live?.sha ?? '')}.`,
  );

/**
 * Re-checks promote's evidence and the release order. Throws a UserError (nothing changed)
 * when the promotion no longer holds, or when the release is older than the live one and
 * `allowDowngrade` is off.
 */
export async function guardRelease(gh: GitHub, repo: Repo, req: GuardRequest): Promise<GuardResult> {
  const history = await listDeployments(gh, repo, { environment: req.environment, service: req.service, limit: 30 });
  const digest = digestOf(req.image);
  const notes: string[] = [];
  const queued = queuedPromotion(history, req.run, digest);
  let promotion: GuardResult['promotion'];
  if (queued && digest) {
    const from = queued.payload?.promotion?.from_environment ?? '';
    const source = await listDeployments(gh, repo, { environment: from, service: req.service, statuses: false });
    try {
      await judgePromotion(
        source,
        { from, to: req.environment, digest, service: req.service, minSoakMs: 0, now: req.now ?? Date.now() },
        async (ds) => {
          const { loadStatuses } = await import('../github/deployment-history.js');
          await loadStatuses(gh, repo, ds);
        },
      );
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      const logUrl = runLogUrl(req.run);
      await setDeploymentStatus(
        gh,
        repo,
        queued.id,
        'failure',
        `Not deployed: the promotion's evidence no longer holds at deploy time`,
        logUrl ? { logUrl } : {},
      ).catch(() => undefined);
      throw judgedWhenQueued(req, from, queued, err);
    }
    promotion = { from, queued };
    notes.push(`Promotion from ${from} re-checked at deploy time: ${digest.slice(0, 19)}… is still healthy there.`);
  }
  const candidate = queued?.sha ?? req.run.sha;
  const judgement = await judgeOrder(gh, repo, history, candidate, req.image);
  const live = judgement.live;
  if (judgement.order === 'older') {
    const what = `${req.service}'s live release ${short(live?.sha ?? '')} (${live?.payload?.image ?? 'unknown image'}, GitHub Deployment #${live?.id}) in ${req.environment}`;
    if (!req.allowDowngrade) {
      throw olderRelease(what, candidate, req, judgement, live);
    }
    notes.push(`allow-downgrade: replacing ${what} with the older release ${short(candidate)}: ${judgement.how}.`);
  } else if (judgement.order === 'unknown') {
    notes.push(
      `Release ${short(candidate)} could not be placed against the live ${short(live?.sha ?? '')}: ${judgement.how}; deploying it.`,
    );
  } else {
    notes.push(`Release ${short(candidate)}: ${judgement.how}.`);
  }
  return { candidate, judgement, ...(promotion ? { promotion } : {}), notes };
}

/**
 * The deploy step's side (ecs-deploy, gke-deploy), before it changes anything: reads
 * `allow-downgrade`, and runs the guard when the step records GitHub Deployments (without
 * environment and github-token there is no record to judge by, and it says so).
 */
export async function guardDeployStep(s: RecordSettings, target: { service: string; image: string }): Promise<void> {
  const allowDowngrade = inputs.boolean('allow-downgrade', false);
  const { info, warning } = await import('@actions/core');
  if (!s.environment || !s.githubToken) {
    info(
      'No environment / github-token: the release order is not checked (there is no deployment record to check it against).',
    );
    return;
  }
  const { currentRepo, githubClient } = await import('../github/client.js');
  const { runContext } = await import('../github/context.js');
  const result = await guardRelease(githubClient(s.githubToken), currentRepo(), {
    environment: s.environment,
    service: target.service,
    image: target.image,
    allowDowngrade,
    run: runContext(),
  });
  for (const note of result.notes) (note.startsWith('allow-downgrade') ? warning : info)(note);
}
