/**
 * The contract of the rollout engine. A `Target` is one place a new version can be rolled
 * out to (ECS task sets behind ALB weights, an ECS service's rolling or native deployment,
 * a GKE Deployment pair behind HTTPRoute weights, ...); the engine drives every target the
 * same way: create the new side, wait until it is healthy, shift traffic step by step with
 * an analysis bake after each confirmed shift, then promote or roll back. Nothing here
 * knows a cloud.
 */
import type { BakeResult, Subjects } from '../analysis/types.js';

/** How traffic moves to the new version. */
export type Strategy = 'rolling' | 'blue-green' | 'canary' | 'linear';

/** One step of a plan: put `weight`% of traffic on the new version, then judge it for `bakeMs`. */
export interface Step {
  /** Percentage of traffic on the new version, 0–100. */
  weight: number;
  /** How long analysis judges this step after the weight is confirmed; 0 moves on at once. */
  bakeMs: number;
  /**
   * Hold the rollout here once the bake passed: the job ends with the canary at `weight`
   * (record phase `paused`) until a later job resumes it. Never on the last step.
   */
  pause?: boolean;
}

export interface RolloutPlan {
  strategy: Strategy;
  /** Increasing weights, the last one 100. */
  steps: Step[];
}

/** Traffic as read back from the load balancer / route after a shift. */
export interface Traffic {
  /** Percentage on the new version. */
  canary: number;
  /** Percentage on the stable version. */
  stable: number;
  /** What was read, for the log: e.g. "listener rule …: blue 50, green 50". */
  detail?: string;
}

/** Identifiers of the two sides, in the target's own terms (task set ids, Deployment names, task definitions). */
export interface Sides {
  stable: string;
  canary: string;
}

/**
 * Where an unfinished rollout stands. Written on the live resource before traffic is
 * touched and after every change, so that a `post:` step, the rollback action or the next
 * run can finish or undo it after the job died.
 *
 * - `starting`: the new side is being created; no traffic moved.
 * - `shifting`: traffic may be anywhere between 0 and `weight`% on the new side.
 * - `promoting`: every check passed; promotion was under way.
 * - `rolling-back`: a rollback was under way.
 * - `held`: the rollout failed with rollback-on-failure off; left for a human.
 * - `paused`: every step up to `step` passed and the plan pauses there; the canary is held
 *   at `weight` until a later job resumes it or `pauseUntil` passes (then it is rolled back).
 */
export type RolloutPhase = 'starting' | 'shifting' | 'promoting' | 'rolling-back' | 'held' | 'paused';

export interface RolloutRecord {
  /** The rollout's deployment id. */
  id: string;
  /** The target engine that wrote it, e.g. `ecs-task-set`. */
  engine: string;
  phase: RolloutPhase;
  /** Stable side's id; empty before it is known. */
  stable: string;
  /** New side's id; empty before it is known. */
  canary: string;
  /** Highest weight (%) the new side may have received. */
  weight: number;
  /** Index of the current step. */
  step: number;
  /** Last update, epoch seconds. */
  at: number;
  /** The GitHub run that wrote it, when known. */
  run?: string;
  /**
   * Until when (epoch seconds) the owner promises to renew the record: a live owner
   * rewrites it well before this passes, so a record whose lease has passed belongs to a
   * runner that died. Records of older versions have none.
   */
  lease?: number;
  /** Paused rollouts: until when (epoch seconds) a resume may come; after it the rollout is rolled back. */
  pauseUntil?: number;
  /** The GitHub Deployment (id) that records this rollout, so a resuming job finishes the same one. */
  githubDeployment?: number;
  /** A request that this rollout stop, read from beside the record (never part of it). */
  abort?: AbortRequest;
}

/**
 * Someone asks the rollout with `id` to stop: the rollback action, or an operator. Kept
 * beside the record (its own tag or annotation) so that the owner's own writes of the
 * record can never erase it.
 */
export interface AbortRequest {
  /** The rollout's deployment id the request is for. */
  id: string;
  /** Who asked, for the owner's message: "rollback action, run 5555.1 (octocat)". */
  by: string;
  /** When, epoch seconds. */
  at: number;
}

/** What a target sees of a rollout in flight, without changing anything. */
export interface Observation {
  /** Traffic as the load balancer / route holds it now; absent where the platform moves traffic itself. */
  traffic?: Traffic;
  /** False when the new side has nothing healthy that could serve traffic; absent when unknown. */
  canaryReady?: boolean;
  /** Why it is not ready, for the message. */
  reason?: string;
}

/**
 * One place a rollout happens. Every method that changes something must be idempotent and
 * safe to call again from a fresh process with only the record: the engine calls them
 * again after a crash.
 */
export interface Target {
  /** Short engine name for logs, outputs and the record, e.g. `ecs-task-set`, `gke-canary`. */
  readonly engine: string;
  /** One line: what is rolled out where, e.g. "ECS service web/open-webui, task sets behind listener rule …". */
  readonly description: string;
  /**
   * Checks everything that can be checked before any change (resources exist, the
   * listener forwards to the expected target groups, ...). Throws a UserError otherwise.
   */
  preflight(signal?: AbortSignal): Promise<void>;
  /** The record left on the resource, if any. */
  loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined>;
  /** Writes the record; undefined removes it. */
  saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void>;
  /**
   * Asks the rollout `request.id` to stop, beside its record (see AbortRequest). The owner
   * notices at its next check and yields without touching traffic.
   */
  requestAbort?(request: AbortRequest, signal?: AbortSignal): Promise<void>;
  /** The abort request beside the record, if any (also when the record itself is gone). */
  loadAbort?(signal?: AbortSignal): Promise<AbortRequest | undefined>;
  /**
   * Reads the live traffic and the new side's capacity, changing nothing: the engine checks
   * before every shift and while it bakes that traffic is still where it put it, and never
   * sends traffic to a side that cannot serve it.
   */
  observe?(signal?: AbortSignal): Promise<Observation>;
  /**
   * Creates the new side with no production traffic (for rolling updates: starts the
   * update) and returns both sides' ids. `deploymentId` lets the target tag what it
   * creates, so a rollback can find it even if the record was never written.
   */
  create(deploymentId: string, signal?: AbortSignal): Promise<Sides>;
  /** Waits until the new side is healthy; throws with the reason when it cannot become so. */
  waitHealthy(signal?: AbortSignal): Promise<void>;
  /**
   * Moves traffic so the new side gets `weight`% and resolves once that is confirmed by
   * reading it back (or, for platform-driven rollouts, once the platform reached it).
   */
  shift(weight: number, signal?: AbortSignal): Promise<Traffic>;
  /** Metric labels of each side, for the analysis. */
  subjects(): Subjects;
  /**
   * Takes up a paused rollout from its record and the live state, in a fresh process that
   * did not create it (resume): learns both sides and where traffic goes, so that observe,
   * shift, subjects, promote and rollback act on the recorded rollout. Changes nothing;
   * throws a UserError when the live state does not fit the record.
   */
  adopt?(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Called when a pause step's checks passed, before the record says paused: makes sure the
   * platform itself holds the canary there (an ECS native deployment waiting at its PAUSE
   * hook). Resolves to when (epoch ms) the platform stops holding it on its own, if it does:
   * the pause's deadline is then no later.
   */
  holdPause?(signal?: AbortSignal): Promise<number | undefined>;
  /** Makes the new side the only one. Finishes an interrupted promotion from its record. */
  promote(record: RolloutRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Puts all traffic on the stable side in one change, confirms it, calls `onRestored`,
   * then removes the new side. Works from the record alone and is idempotent.
   */
  rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void>;
  /** What the promotion left, for the log and timeline, when it is more than "the new side takes all traffic, the old one removed" (e.g. a blue kept for revert). */
  describePromotion?(record: RolloutRecord): string;
  /** Why the new side is unhealthy (stopped tasks, events, pod waiting reasons), for the failure report. */
  diagnose?(signal?: AbortSignal): Promise<string[]>;
}

/** `paused`: every step so far passed and the plan holds the canary for a later job to resume. */
export type RolloutStatus = 'succeeded' | 'rolled-back' | 'failed' | 'paused';

/** Why a rollout stopped driving traffic because someone else acted. */
export interface Yielded {
  /** aborted: asked to stop; gone: the record was removed; taken: another rollout's record; traffic: weights changed by hand. */
  kind: 'aborted' | 'gone' | 'taken' | 'traffic';
  /** One sentence: who changed what. */
  message: string;
  /** When it was noticed, epoch ms. */
  at: number;
}

export type TimelineKind =
  | 'recover'
  | 'start'
  | 'created'
  | 'healthy'
  | 'shift'
  | 'analysis'
  | 'promote'
  | 'rollback'
  | 'restored'
  | 'error'
  | 'note';

export interface TimelineEvent {
  /** Epoch milliseconds. */
  at: number;
  kind: TimelineKind;
  message: string;
  /** Confirmed weight on the new side after this event, where it changed. */
  weight?: number;
}

export interface StepOutcome {
  index: number;
  /** The weight the plan asked for. */
  weight: number;
  /** What was read back. */
  traffic?: Traffic;
  /** When the weight was confirmed (epoch ms): the bake's clock starts here. */
  confirmedAt?: number;
  bake?: BakeResult;
}

/** What made a rollout roll back or fail. */
export type FailureTrigger = 'analysis' | 'unhealthy' | 'error' | 'cancelled' | 'yielded';

export interface RolloutResult {
  status: RolloutStatus;
  /** One paragraph for the log, the summary and the step's failure message. */
  reason: string;
  deploymentId: string;
  engine: string;
  strategy: Strategy;
  startedAt: number;
  finishedAt: number;
  steps: StepOutcome[];
  timeline: TimelineEvent[];
  /** An unfinished rollout found at the start and cleaned up first. */
  recovered?: RecoveryResult;
  /** Paused: until when (epoch ms) a later job may resume it, and the step it resumes at (0-based). */
  paused?: { until: number; nextStep: number; weight: number };
  /** Resumed: the paused record this run took over. */
  resumedFrom?: RolloutRecord;
  /** Someone else acted on the service during the rollout, and the engine stopped without touching traffic. */
  yielded?: Yielded;
  failure?: {
    trigger: FailureTrigger;
    /** When the problem was detected (epoch ms). */
    detectedAt: number;
    /** When all traffic was confirmed back on stable (epoch ms), if it was. */
    restoredAt?: number;
    /** restoredAt − detectedAt. */
    recoveryMs?: number;
    /** Why the new side was unhealthy, from the target. */
    diagnosis?: string[];
  };
}

/** What recovering an unfinished rollout did. */
export interface RecoveryResult {
  record: RolloutRecord;
  action: 'rolled-back' | 'promoted';
  durationMs: number;
}
