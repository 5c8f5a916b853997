import {
  currentState,
  failureStatus,
  isHealthy,
  isRollback,
  liveDeployment,
  succeededAt,
  type DeploymentRecord,
  type DeploymentState,
  type DeploymentStatusRecord,
} from '../github/deployments.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';

/**
 * Whether a digest may move from one environment to the next, judged from the source
 * environment's deployment record alone:
 *
 * - it must have been deployed there (by platform-actions, by digest);
 * - its latest deployment there must have succeeded, not be marked failure / error
 *   since (a rollback marks what it undid), and not have been followed by a rollback;
 * - it must have been healthy there for `minSoakMs`: from the success of its latest
 *   deployment (or of an unbroken run of healthy deployments of the same digest just
 *   before it) until now, or until another deployment replaced it.
 *
 * Without a digest the candidate is what is live in the source: the healthy
 * deployment that succeeded last.
 */

export interface PromotionRequest {
  from: string;
  to: string;
  /** sha256:…; empty for what is live in the source. */
  digest?: string;
  /** payload.service; needed when the source runs several and no digest is given. */
  service?: string;
  minSoakMs: number;
  now: number;
}

export interface PromotionEvidence {
  digest: string;
  image: string;
  service: string | undefined;
  /** The latest deployment of the digest in the source. */
  source: DeploymentRecord;
  /** When it became healthy there (first success of the unbroken run). */
  healthySince: number;
  /** When another deployment replaced it there; undefined while it is still live. */
  replacedAt: number | undefined;
  replacedBy: DeploymentRecord | undefined;
  soakMs: number;
  /** Deployments of this digest in the source that the evidence spans. */
  deployments: DeploymentRecord[];
}

/** Loads statuses of deployments that were listed without them. */
export type StatusLoader = (deployments: DeploymentRecord[]) => Promise<void>;

const when = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', ' ')
    .replace('Z', ' UTC');
const short = (digest: string) => `${digest.slice(0, 19)}…`;
const serviceOf = (d: DeploymentRecord) => d.payload?.service ?? '';
const evidenceLink = (d: DeploymentRecord) => {
  const url = failureStatus(d)?.logUrl ?? d.statuses.at(-1)?.logUrl;
  return url ? ` (${url})` : '';
};

const severalServices = (req: PromotionRequest, services: string[]): UserError =>
  new UserError(
    `${req.from} runs several services (${services.map((s) => s || '(unnamed)').join(', ')}); which one's image should move to ${req.to}?`,
    'Set `service` to one of them, or give `image` by digest.',
  );

const nothingLive = (
  history: DeploymentRecord[],
  req: PromotionRequest,
  latest: DeploymentRecord | undefined,
): UserError =>
  new UserError(
    history.length === 0
      ? `Nothing has been deployed to ${req.from} by platform-actions${req.service ? ` for service ${req.service}` : ''}, so there is nothing to promote to ${req.to}.`
      : `Nothing is live and healthy in ${req.from}: none of its ${history.length} deployment(s) succeeded without failing since (latest: #${latest?.id}, ${latest ? currentState(latest) : ''}).`,
    `Deploy to ${req.from} first (ecs-deploy / gke-deploy with environment: ${req.from}), let it soak, then promote.`,
  );

const liveByTag = (req: PromotionRequest, live: DeploymentRecord): UserError =>
  new UserError(
    `What is live in ${req.from} (deployment #${live.id}, ${live.payload?.image}) was deployed by tag, not by digest; promote moves exact digests.`,
    "Deploy by digest (image-build's `image` output, repository@sha256:…) so that the same bytes move through every environment.",
  );

/**
 * The candidate when none was given: what is live and healthy in the source. Loads
 * statuses newest first, a few at a time, until a healthy deployment is among them.
 */
async function liveCandidate(
  history: DeploymentRecord[],
  req: PromotionRequest,
  load: StatusLoader,
): Promise<DeploymentRecord> {
  const services = [...new Set(history.map(serviceOf))];
  if (!req.service && services.length > 1) {
    throw severalServices(req, services);
  }
  let live: DeploymentRecord | undefined;
  for (let i = 0; i < history.length && !live; i += 5) {
    await load(history.slice(i, i + 5));
    live = liveDeployment(history.slice(0, i + 5));
  }
  if (!live) {
    const latest = history[0];
    throw nothingLive(history, req, latest);
  }
  if (!live.payload?.digest) {
    throw liveByTag(req, live);
  }
  return live;
}

const neverDeployed = (digest: string, req: PromotionRequest): UserError =>
  new UserError(
    `${short(digest)} was never deployed to ${req.from}${req.service ? ` (service ${req.service})` : ''}: it cannot move to ${req.to} without having run there.`,
    `Deploy it to ${req.from} first, or leave image empty to promote what is live in ${req.from}.`,
  );

const failedInSource = (
  digest: string,
  req: PromotionRequest,
  latest: DeploymentRecord,
  failed: DeploymentStatusRecord,
): UserError =>
  new UserError(
    `${short(digest)} failed in ${req.from}: deployment #${latest.id} is '${failed.state}' since ${when(failed.at)}${failed.description ? ` (${failed.description})` : ''}${evidenceLink(latest)}.`,
    `Fix forward: build a new image, deploy it to ${req.from} and promote that one.`,
  );

const rolledBackInSource = (digest: string, req: PromotionRequest, next: DeploymentRecord): UserError =>
  new UserError(
    `${short(digest)} was rolled back in ${req.from}: deployment #${next.id} returned it to ${next.payload?.image ?? 'an earlier image'} on ${when(next.createdAt)}.`,
    `Fix forward: build a new image, deploy it to ${req.from} and promote that one.`,
  );

const notSettled = (
  open: boolean,
  digest: string,
  req: PromotionRequest,
  latest: DeploymentRecord,
  state: DeploymentState,
): UserError =>
  new UserError(
    open
      ? `${short(digest)} is still being deployed to ${req.from} (deployment #${latest.id} is '${state}' since ${when(latest.statuses.at(-1)?.at ?? latest.createdAt)}).`
      : `${short(digest)} never succeeded in ${req.from} (deployment #${latest.id} is '${state}').`,
    open
      ? `Wait for that rollout to finish and soak, then promote.`
      : `Deploy it to ${req.from} again and let it succeed, or promote what is live there.`,
  );

const soakTooShort = (
  replacedBy: DeploymentRecord | undefined,
  digest: string,
  req: PromotionRequest,
  soakMs: number,
  since: number,
): UserError =>
  new UserError(
    replacedBy
      ? `${short(digest)} was healthy in ${req.from} for only ${formatDuration(soakMs)} (from ${when(since)} until deployment #${replacedBy.id} replaced it); min-soak is ${formatDuration(req.minSoakMs)}.`
      : `${short(digest)} has been healthy in ${req.from} for ${formatDuration(soakMs)} (since ${when(since)}); min-soak is ${formatDuration(req.minSoakMs)}.`,
    replacedBy
      ? 'Promote a digest that soaked long enough, or lower min-soak.'
      : `Re-run after ${when(since + req.minSoakMs)}, or lower min-soak.`,
  );

export async function judgePromotion(
  history: DeploymentRecord[],
  req: PromotionRequest,
  load: StatusLoader,
): Promise<PromotionEvidence> {
  if (req.from === req.to)
    throw new UserError(
      `from-environment and to-environment are both '${req.from}'.`,
      'Promote from one environment to another, e.g. staging → production.',
    );
  const scoped = req.service ? history.filter((d) => serviceOf(d) === req.service) : history;
  const newestFirst = [...scoped].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  const digest = req.digest ?? (await liveCandidate(newestFirst, req, load)).payload?.digest;
  if (!digest) throw new Error('unreachable: a live candidate always has a digest');

  const ofDigest = newestFirst.filter((d) => d.payload?.digest === digest);
  const latest = ofDigest[0];
  if (!latest) {
    throw neverDeployed(digest, req);
  }
  // The service's own timeline from here on: what came before and after this digest.
  const timeline = newestFirst.filter((d) => serviceOf(d) === serviceOf(latest)).reverse();
  const at = timeline.indexOf(latest);
  const later = timeline.slice(at + 1);
  await load([latest, ...later.slice(0, 1)]);

  const failed = failureStatus(latest);
  if (failed) {
    throw failedInSource(digest, req, latest, failed);
  }
  const next = later[0];
  if (next && isRollback(next) && next.payload?.digest !== digest) {
    throw rolledBackInSource(digest, req, next);
  }
  const success = succeededAt(latest);
  if (success === undefined) {
    const state = currentState(latest);
    const open = state === 'queued' || state === 'pending' || state === 'in_progress';
    throw notSettled(open, digest, req, latest, state);
  }

  // Soak: back over an unbroken run of healthy deployments of the same digest...
  let since = success;
  const span = [latest];
  for (let i = at - 1; i >= 0; i--) {
    const prev = timeline[i] as DeploymentRecord;
    if (prev.payload?.digest !== digest) break;
    await load([prev]);
    if (!isHealthy(prev)) break;
    since = succeededAt(prev) as number;
    span.unshift(prev);
  }
  // ...and forward until another deployment succeeded in its place.
  let replacedBy: DeploymentRecord | undefined;
  for (const d of later) {
    await load([d]);
    if (succeededAt(d) !== undefined) {
      replacedBy = d;
      break;
    }
  }
  const replacedAt = replacedBy ? succeededAt(replacedBy) : undefined;
  const soakMs = Math.max(0, (replacedAt ?? req.now) - since);
  if (soakMs < req.minSoakMs) {
    throw soakTooShort(replacedBy, digest, req, soakMs, since);
  }
  return {
    digest,
    image: latest.payload?.image ?? digest,
    service: latest.payload?.service,
    source: latest,
    healthySince: since,
    replacedAt,
    replacedBy,
    soakMs,
    deployments: span,
  };
}

export { when as formatTime };
