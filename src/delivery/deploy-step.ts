/**
 * The deploy step ecs-deploy and gke-deploy share, once the action has built its target:
 * the dry run's summary, leaving an unchanged service alone, the release-order guard, the
 * GitHub Deployment record, the rollout, its report file, outputs and summary, the
 * notifications, and the job's exit status. The action reads its settings, builds the
 * target (workload and traffic) and brings what only its platform does through the hooks
 * (pre-deploy, recovery of an unfinished rollout, smoke wiring, its own outputs and facts).
 * Nothing here knows a cloud.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info, setFailed } from '@actions/core';
import type { AnalysisSpec } from '../analysis/spec-types.js';
import type { Analysis } from '../analysis/types.js';
import { newDeploymentId, runAttemptId, runContext } from '../github/context.js';
import {
  finishRecord,
  recordUnchangedStep,
  resumeRecord,
  startRecord,
  type OpenDeployment,
  type RecordSettings,
} from '../github/deployment-record.js';
import { facts, heading } from '../github/markdown.js';
import { outputs } from '../github/outputs.js';
import { runStatusChecker, type RunStatusChecker } from '../github/runs.js';
import { writeSummary } from '../github/summary.js';
import type { Notifier } from '../notify/notifier.js';
import { about } from '../notify/subject.js';
import { errorMessage } from '../util/errors.js';
import { runRollout, type RolloutOptions } from './engine.js';
import { describePlan, planSegment } from './plan.js';
import { renderPausedMarkdown, renderRolloutMarkdown, rolloutReport } from './report.js';
import { rolloutNotification } from './rollout-notification.js';
import { checkTimeBudget, describeBudget, type TimeLimit } from './time-budget.js';
import type { RecoveryResult, RolloutPlan, RolloutRecord, RolloutResult, Target } from './types.js';

export type Row = [string, string];

/** The settings every deploy step has, by the names both actions read them into. */
export interface DeployStepSettings extends RecordSettings {
  dryRun: boolean;
  force: boolean;
  resume: boolean;
  rollbackOnFailure: boolean;
  pauseTimeoutMs: number;
}

/** Ids of this rollout: the one in the record (kept across a resume) and the run that drives it. */
export interface RolloutIds {
  deploymentId: string;
  runId: string;
}

/** The service already runs what the step would deploy: what to say and record. */
export interface Unchanged {
  reason: string;
  /** Brings the rest in line (the other objects of the manifests) and returns rows for the summary. */
  settle?: () => Promise<Row[]>;
  /** Sets the platform's own outputs (between `status` and `deployment-id`). */
  setOutputs: () => void;
  rows: Row[];
  /** The GitHub Deployment's last description. */
  finished: string;
}

/** What happened before the rollout itself and belongs in its result. */
export interface BeforeRollout {
  /** An unfinished rollout finished first. */
  recovered?: RecoveryResult;
  /** Put first on the timeline, as "Before this rollout: …". */
  note?: string;
}

/** How the rollout ended, in the platform's words. */
export interface Finished {
  /** The platform's fields of the report file, after the rollout report's own. */
  report: Record<string, unknown>;
  /** Sets the platform's own outputs (between `status` and `deployment-id`). */
  setOutputs: () => void;
  facts: Row[];
  /** Markdown between the facts and the changes (a preview's analysis). */
  blocks: string;
}

/** The rollout a step runs: the platform's target, its steps and how they are judged. */
export interface StepRollout {
  target: Target;
  plan: RolloutPlan;
  spec: AnalysisSpec | undefined;
  analysis: Analysis | undefined;
  /** A resume: the paused rollout it continues. */
  paused: RolloutRecord | undefined;
}

export interface DeployStep {
  action: 'ecs-deploy' | 'gke-deploy';
  platform: 'ecs' | 'gke';
  settings: DeployStepSettings;
  notes: Notifier;
  /** "web on prod (ECS)", "apps/web (GKE)": every summary's title. */
  title: string;
  /** The name the service goes by in notifications, the release order and the deployment payload. */
  service: string;
  /** What is deployed to, in the GitHub Deployment's description ("web", "apps/web"). */
  name: string;
  /** The environment named in notifications when `environment` is empty. */
  place: string;
  image: string;
  rollout: StepRollout;
  /** The job's cancellation. */
  signal: AbortSignal;
  /** The changes block every summary ends with. */
  changes: string;
}

export interface DeployHooks {
  /** The dry run's summary rows and its log line. */
  dryRun: { note: string; facts: Row[] };
  /** Asked after the dry run: nothing to roll out (and nothing unfinished)? */
  unchanged: () => Promise<Unchanged | undefined>;
  /** Before the GitHub Deployment opens: pre-deploy, the post step's state. */
  prepare: (ids: RolloutIds) => Promise<void>;
  /** Just before the rollout, where its failure is the step's: recovery, then the target's wiring (smoke, load). */
  beforeRollout: (ids: RolloutIds & { runs: RunStatusChecker | undefined }) => Promise<BeforeRollout>;
  /** A resume: checks the paused new version against what this job was given. */
  verifyResume?: (record: RolloutRecord) => Promise<void>;
  finished: (result: RolloutResult, ids: RolloutIds) => Promise<Finished>;
  pauseHelp: () => { resume: string; abort: string };
}

/**
 * Before any change: the part of the plan this job runs (a resume starts after its pause)
 * must fit the job's limits (the job's timeout, credentials that cannot renew).
 */
export function checkBudget(
  o: { plan: RolloutPlan; paused: RolloutRecord | undefined; waitTimeoutMs: number; spec: AnalysisSpec | undefined },
  limits: TimeLimit[],
): void {
  const budget = checkTimeBudget(
    {
      plan: planSegment(o.plan, o.paused ? o.paused.step + 1 : 0),
      waitTimeoutMs: o.waitTimeoutMs,
      ...(o.spec ? { analysis: o.spec } : {}),
    },
    limits,
  );
  info(describeBudget(budget, limits));
}

/** Runs the step from the dry run to the exit status. */
export async function runDeployStep(step: DeployStep, hooks: DeployHooks): Promise<void> {
  const s = step.settings;
  if (s.dryRun) {
    info(hooks.dryRun.note);
    await writeSummary(heading(`Dry run: ${step.title}`) + facts(hooks.dryRun.facts) + '\n' + step.changes);
    return;
  }
  const unchanged = await hooks.unchanged();
  if (unchanged) {
    await leaveUnchanged(step, unchanged);
    return;
  }

  // Never backwards by accident, and a promotion still holds now that the deploy starts.
  const subject = about({
    service: step.service,
    environment: s.environment ?? step.place,
    release: runContext().sha || 'unknown',
    image: step.image,
  });
  try {
    const { guardDeployStep } = await import('../release/release-order.js');
    await guardDeployStep(s, { service: step.service, image: step.image });
  } catch (err) {
    await step.notes.send({ event: 'held', ...subject, summary: `Not deployed: ${errorMessage(err)}`.slice(0, 1000) });
    throw err;
  }

  const run = runContext();
  const ids: RolloutIds = { deploymentId: step.rollout.paused?.id ?? newDeploymentId(run), runId: runAttemptId(run) };
  await hooks.prepare(ids);
  const tracked = await openRecord(step);
  const { paused, target, plan } = step.rollout;
  void step.notes.send({
    event: 'started',
    ...subject,
    summary: paused
      ? `Resuming the canary paused at ${paused.weight}%: ${describePlan(planSegment(plan, paused.step + 1))}.`
      : `Rolling out with ${target.engine}: ${describePlan(plan)}.`,
  });

  let result: RolloutResult;
  try {
    // Another run's record: GitHub says whether that run still drives it (its lease decides otherwise).
    const runs = await runStatusChecker(s.githubToken, info);
    const before = await hooks.beforeRollout({ ...ids, runs });
    result = await runRollout(rolloutOptions(step, hooks, { ...ids, runs, tracked }));
    result = withBefore(result, before);
  } catch (err) {
    const stopped = `${step.action} stopped: ${errorMessage(err)}`;
    await finishRecord(tracked, 'error', stopped);
    await step.notes.send({ event: 'failed', ...subject, summary: stopped.slice(0, 1000) });
    throw err;
  }

  const finished = await hooks.finished(result, ids);
  const reportPath = writeReport(step, ids.deploymentId, {
    ...rolloutReport(result, step.rollout.spec),
    ...finished.report,
  });
  outputs.set('status', result.status);
  finished.setOutputs();
  outputs.set('deployment-id', ids.deploymentId);
  outputs.set('duration-seconds', Math.round((result.finishedAt - result.startedAt) / 1000));
  outputs.set('analysis-report', reportPath);

  await writeSummary(
    renderRolloutMarkdown(result, {
      title: step.title,
      ...(step.rollout.spec ? { spec: step.rollout.spec } : {}),
      facts: [...finished.facts, ...deploymentRow(step, tracked?.id)],
    }) +
      '\n' +
      finished.blocks +
      step.changes +
      (result.paused ? '\n' + renderPausedMarkdown(result, hooks.pauseHelp()) : ''),
  );

  await finishRecord(tracked, result.status, recordDescription(result));
  await step.notes.send(rolloutNotification(result, subject));
  // A pause is a success of this job: every step so far passed, and the canary waits for its resume.
  if (result.status !== 'succeeded' && result.status !== 'paused') setFailed(result.reason);
  else info(result.reason);
}

/**
 * The service already runs what this step would deploy: say so, set the outputs, and
 * record the GitHub Deployment as successful (promote's queued deployment is taken over
 * and closed, and the environment's record stays true).
 */
async function leaveUnchanged(step: DeployStep, u: Unchanged): Promise<void> {
  const s = step.settings;
  info(u.reason);
  const rows = [...u.rows, ...(u.settle ? await u.settle() : [])];
  outputs.set('status', 'succeeded');
  u.setOutputs();
  outputs.set('deployment-id', '');
  outputs.set('duration-seconds', 0);
  outputs.set('analysis-report', '');
  const recorded = await recordUnchangedStep(s, {
    image: step.image,
    description: `${step.name} already runs ${step.image} (${s.environment})`,
    payload: { service: step.service, platform: step.platform, engine: step.rollout.target.engine },
    finished: u.finished,
  });
  if (recorded !== undefined) outputs.set('github-deployment-id', recorded);
  rows.push(...deploymentRow(step, recorded));
  await writeSummary(heading(`✅ ${step.title}: unchanged`) + `${u.reason}\n\n` + facts(rows));
}

/** Opens the GitHub Deployment, or takes up the one the paused rollout recorded. */
async function openRecord(step: DeployStep): Promise<OpenDeployment | undefined> {
  const { settings: s, image } = step;
  const { paused } = step.rollout;
  const track = {
    image,
    description: `Deploy ${image} to ${step.name} (${s.environment})`,
    payload: { service: step.service, platform: step.platform, engine: step.rollout.target.engine },
  };
  const tracked = paused
    ? await resumeRecord(s, paused.githubDeployment, {
        ...track,
        resuming: `Resuming the canary of ${image} at ${paused.weight}%`,
      })
    : await startRecord(s, track);
  if (tracked) {
    outputs.set('github-deployment-id', tracked.id);
    info(`Recording GitHub Deployment ${tracked.id} to ${s.environment}.`);
  }
  return tracked;
}

function rolloutOptions(
  step: DeployStep,
  hooks: DeployHooks,
  o: RolloutIds & { runs: RunStatusChecker | undefined; tracked: OpenDeployment | undefined },
): RolloutOptions {
  const s = step.settings;
  return {
    target: step.rollout.target,
    plan: step.rollout.plan,
    ...(step.rollout.analysis ? { analysis: step.rollout.analysis } : {}),
    deploymentId: o.deploymentId,
    rollbackOnFailure: s.rollbackOnFailure,
    runId: o.runId,
    signal: step.signal,
    log: info,
    ...(o.runs ? { ownerAlive: o.runs.ownerAlive } : {}),
    pauseTimeoutMs: s.pauseTimeoutMs,
    ...(o.tracked ? { githubDeployment: o.tracked.id } : {}),
    ...(s.resume && hooks.verifyResume ? { resume: { verify: hooks.verifyResume } } : {}),
  };
}

/** The rollout's result with what came before it: the recovery of an earlier rollout, a note first on the timeline. */
export function withBefore(result: RolloutResult, before: BeforeRollout): RolloutResult {
  const out = before.recovered ? { ...result, recovered: before.recovered } : result;
  if (before.note)
    out.timeline.unshift({ at: out.startedAt, kind: 'note', message: `Before this rollout: ${before.note}.` });
  return out;
}

/** The GitHub Deployment's description when the rollout ends or pauses. */
export function recordDescription(result: RolloutResult): string {
  return result.paused
    ? `Paused at ${result.paused.weight}% until ${new Date(result.paused.until).toISOString()}; waiting for a resume`
    : result.reason;
}

function deploymentRow(step: DeployStep, id: number | undefined): Row[] {
  return id === undefined ? [] : [['GitHub Deployment', `${id} (${step.settings.environment})`]];
}

/** The report file (analysis-report output): the runner's temp folder, one file per rollout. */
function writeReport(step: DeployStep, deploymentId: string, report: Record<string, unknown>): string {
  const dir = join(process.env.RUNNER_TEMP || tmpdir(), 'platform-actions');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${step.action}-${deploymentId}.json`);
  writeFileSync(path, JSON.stringify(report, null, 2));
  return path;
}
