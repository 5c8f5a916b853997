/**
 * Evidence of a rollout: the job summary (outcome, steps with confirmed weights and
 * verdicts, the timeline, each bake's analysis) and the JSON written to the
 * `analysis-report` file.
 */
import {
  analysisReport,
  renderAnalysisMarkdown,
  tallyRuns,
  VERDICT_ICON,
  type AnalysisReport,
} from '../analysis/report.js';
import type { AnalysisSpec } from '../analysis/spec-types.js';
import { code, escapeText, facts, table } from '../github/markdown.js';
import { formatDuration } from '../util/duration.js';
import { describeRecord } from './record.js';
import type { RolloutResult, RolloutStatus, StepOutcome } from './types.js';

export const STATUS_ICON: Record<RolloutStatus, string> = {
  succeeded: '✅',
  'rolled-back': '↩️',
  failed: '❌',
  paused: '⏸️',
};

export interface RolloutReport {
  version: 1;
  deploymentId: string;
  engine: string;
  strategy: string;
  status: RolloutStatus;
  reason: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  steps: Array<{
    weight: number;
    confirmed?: { canary: number; stable: number; at: string; detail?: string };
    analysis?: AnalysisReport;
  }>;
  timeline: Array<{ at: string; kind: string; message: string; weight?: number }>;
  failure?: {
    trigger: string;
    detectedAt: string;
    restoredAt?: string;
    recoverySeconds?: number;
    diagnosis?: string[];
  };
  recovered?: { id: string; action: string; durationSeconds: number };
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function rolloutReport(result: RolloutResult, spec?: AnalysisSpec): RolloutReport {
  return {
    version: 1,
    deploymentId: result.deploymentId,
    engine: result.engine,
    strategy: result.strategy,
    status: result.status,
    reason: result.reason,
    startedAt: iso(result.startedAt),
    finishedAt: iso(result.finishedAt),
    durationSeconds: seconds(result.finishedAt - result.startedAt),
    steps: result.steps.map((s) => ({
      weight: s.weight,
      ...(s.traffic && s.confirmedAt !== undefined
        ? {
            confirmed: {
              canary: s.traffic.canary,
              stable: s.traffic.stable,
              at: iso(s.confirmedAt),
              ...(s.traffic.detail ? { detail: s.traffic.detail } : {}),
            },
          }
        : {}),
      ...(s.bake ? { analysis: analysisReport(s.bake, spec) } : {}),
    })),
    timeline: result.timeline.map((e) => ({
      at: iso(e.at),
      kind: e.kind,
      message: e.message,
      ...(e.weight !== undefined ? { weight: e.weight } : {}),
    })),
    ...(result.failure
      ? {
          failure: {
            trigger: result.failure.trigger,
            detectedAt: iso(result.failure.detectedAt),
            ...(result.failure.restoredAt !== undefined ? { restoredAt: iso(result.failure.restoredAt) } : {}),
            ...(result.failure.recoveryMs !== undefined ? { recoverySeconds: seconds(result.failure.recoveryMs) } : {}),
            ...(result.failure.diagnosis ? { diagnosis: result.failure.diagnosis } : {}),
          },
        }
      : {}),
    ...(result.recovered
      ? {
          recovered: {
            id: result.recovered.record.id,
            action: result.recovered.action,
            durationSeconds: seconds(result.recovered.durationMs),
          },
        }
      : {}),
  };
}

function stepVerdict(step: StepOutcome): string {
  if (!step.bake) return step.traffic ? 'no bake' : '';
  const bake = step.bake;
  if (bake.backendFailure)
    return `${VERDICT_ICON.fail} fail: metrics backend (${escapeText(bake.backendFailure.sources.join(', '))}) failed in ${bake.backendFailure.consecutive} runs`;
  const tally = tallyRuns(bake.runs);
  const notes = [
    tally.withBackendError ? `${VERDICT_ICON.error} ${tally.withBackendError} with a backend error` : '',
    tally.inconclusive ? `${VERDICT_ICON.inconclusive} ${tally.inconclusive} too little data` : '',
  ].filter(Boolean);
  return `${VERDICT_ICON[bake.verdict]} ${bake.verdict}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

export interface RolloutMarkdownOptions {
  /** e.g. "open-webui on web (ECS)". */
  title: string;
  spec?: AnalysisSpec;
  /** Extra facts shown at the top, e.g. task definitions or images. */
  facts?: Array<[string, string]>;
}

/** The job summary of one rollout. */
export function renderRolloutMarkdown(result: RolloutResult, options: RolloutMarkdownOptions): string {
  const out: string[] = [
    `### ${STATUS_ICON[result.status]} ${escapeText(options.title)}: ${result.status}\n`,
    `${escapeText(result.reason)}\n`,
  ];
  const rows: Array<[string, string]> = [
    ['Engine', code(result.engine)],
    ['Strategy', result.strategy],
    ['Deployment', code(result.deploymentId)],
    ['Duration', formatDuration(result.finishedAt - result.startedAt)],
    ...(options.facts ?? []),
  ];
  if (result.failure?.recoveryMs !== undefined)
    rows.push([
      'Time to restore',
      `${formatDuration(result.failure.recoveryMs)} from detection to all traffic on stable`,
    ]);
  if (result.recovered)
    rows.push([
      'Cleaned up first',
      escapeText(`${describeRecord(result.recovered.record)}: ${result.recovered.action}`),
    ]);
  out.push(facts(rows));

  if (result.steps.length > 0) {
    const stepRows = result.steps.map((s) => [
      String(s.index + 1),
      `${s.weight}%`,
      s.traffic ? `${s.traffic.canary}% / ${s.traffic.stable}%` : '',
      s.confirmedAt !== undefined ? `+${formatDuration(s.confirmedAt - result.startedAt)}` : '',
      stepVerdict(s),
    ]);
    out.push(table(['step', 'weight', 'confirmed new / stable', 'confirmed at', 'analysis'], stepRows));
  }

  if (result.failure?.diagnosis?.length) {
    out.push('**Why the new version looked unhealthy**\n');
    out.push(result.failure.diagnosis.map((d) => `- ${escapeText(d)}`).join('\n') + '\n');
  }

  out.push('<details><summary>Timeline</summary>\n');
  out.push(
    table(
      ['at', 'event', 'new version'],
      result.timeline.map((e) => [
        `+${formatDuration(e.at - result.startedAt)}`,
        escapeText(e.message),
        e.weight !== undefined ? `${e.weight}%` : '',
      ]),
    ),
  );
  out.push('</details>\n');

  const baked = result.steps.filter((s) => s.bake);
  for (const step of baked) {
    // The spec is the same for every bake: show it once, under the last.
    const spec = step === baked[baked.length - 1] && options.spec ? { spec: options.spec } : {};
    out.push(
      renderAnalysisMarkdown(step.bake as NonNullable<StepOutcome['bake']>, {
        title: `Step ${step.index + 1} (${step.traffic?.canary ?? step.weight}%)`,
        ...spec,
      }),
    );
  }
  return out.join('\n');
}

/**
 * What a paused rollout's job summary says next: until when it holds, the step that resumes
 * it and the step that aborts it (YAML the user can paste), and who acts when nobody does.
 */
export function renderPausedMarkdown(result: RolloutResult, how: { resume: string; abort: string }): string {
  if (!result.paused) return '';
  const until = new Date(result.paused.until).toISOString();
  return [
    '#### ⏸️ Held for a resume\n',
    `${result.paused.weight}% of traffic stays on the new version until ${until}. Every check so far passed; the remaining steps run when a later job resumes it (best behind an environment whose reviewers approve the promotion).\n`,
    '**Resume** (the same image and steps):\n',
    '```yaml\n' + how.resume.trimEnd() + '\n```\n',
    '**Abort** (all traffic back on stable, the new version removed):\n',
    '```yaml\n' + how.abort.trimEnd() + '\n```\n',
    `Past ${until} nobody may resume it: the scheduled reconciler rolls it back (as does the rollback action at any time). A new ordinary deploy of this service is refused while it is paused.\n`,
  ].join('\n');
}
