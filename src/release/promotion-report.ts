import type { DeploymentRecord } from '../github/deployments.js';
import { succeededAt } from '../github/deployments.js';
import { code, escapeText, facts, heading } from '../github/markdown.js';
import { formatDuration } from '../util/duration.js';
import { formatTime, type PromotionEvidence } from './promotion.js';

export interface PromotionOutcome {
  from: string;
  to: string;
  image: string;
  evidence: PromotionEvidence;
  minSoakMs: number;
  /** The queued deployment in the target. */
  targetDeploymentId: number;
  /** What was live in the target before. */
  targetLive: DeploymentRecord | undefined;
  commitUrl: string | undefined;
}

const logLink = (d: DeploymentRecord) => {
  const url = d.statuses.find((s) => s.state === 'success')?.logUrl ?? d.statuses.at(-1)?.logUrl;
  return url ? ` ([log](${url}))` : '';
};

/** The job summary of a promotion: what moved, and the evidence it was allowed to. */
export function renderPromotion(o: PromotionOutcome): string {
  const e = o.evidence;
  const sinceText = formatTime(e.healthySince);
  const soak = e.replacedBy
    ? `${formatDuration(e.soakMs)} (until deployment #${e.replacedBy.id} replaced it on ${formatTime(e.replacedAt as number)})`
    : `${formatDuration(e.soakMs)} and counting (still live)`;
  const rows: Array<[string, string]> = [
    ['Image', code(o.image)],
    ['Digest', code(e.digest)],
    ...(e.service ? ([['Service', code(e.service)]] as Array<[string, string]>) : []),
    ['Commit', o.commitUrl ? `[${code(e.source.sha.slice(0, 12))}](${o.commitUrl})` : code(e.source.sha)],
    [
      `Evidence in ${escapeText(o.from)}`,
      `deployment #${e.source.id}${e.deployments.length > 1 ? ` (and ${e.deployments.length - 1} earlier of the same digest)` : ''}${logLink(e.source)}`,
    ],
    [`Live in ${escapeText(o.from)} since`, sinceText],
    ['Healthy for', `${soak}; min-soak ${formatDuration(o.minSoakMs)}`],
    [
      `Before in ${escapeText(o.to)}`,
      o.targetLive
        ? `${code(o.targetLive.payload?.image ?? o.targetLive.sha)} since ${formatTime(succeededAt(o.targetLive) as number)}`
        : 'nothing recorded',
    ],
    [`Deployment in ${escapeText(o.to)}`, `#${o.targetDeploymentId}, queued for the deploy step`],
  ];
  const same = o.targetLive?.payload?.digest === e.digest;
  return [
    heading(`Promoted from ${escapeText(o.from)} to ${escapeText(o.to)}`, 3),
    facts(rows),
    same ? `\n_This digest is already live in ${escapeText(o.to)}; the deploy step will roll it out again._\n` : '',
  ].join('\n');
}

/** The job summary when the promotion is refused: the reason and what to do. */
export function renderRefusal(from: string, to: string, message: string, hint: string | undefined): string {
  return [
    heading(`Promotion from ${escapeText(from)} to ${escapeText(to)} refused`, 3),
    escapeText(message),
    '',
    hint ? `**What to do:** ${escapeText(hint)}\n` : '',
  ].join('\n');
}
