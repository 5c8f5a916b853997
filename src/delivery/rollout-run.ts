/**
 * One rollout's state while it runs, and what every part of the engine does with it: the
 * record (written one write at a time, each renewing the lease, and checked first against
 * the live one), the look again that makes the run yield when the rollout is no longer its
 * own, the heartbeat, the timeline and the result.
 */
import type { Analysis } from '../analysis/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { cleanupSignal, nowSeconds } from './cleanup.js';
import type { RolloutOptions } from './engine-options.js';
import { startHeartbeat } from './heartbeat.js';
import { lookAgain, Serial, YieldError } from './ownership.js';
import type { Timeline } from './rollout-timeline.js';
import type {
  RecoveryResult,
  RolloutPlan,
  RolloutRecord,
  RolloutResult,
  StepOutcome,
  Target,
  TimelineKind,
  Yielded,
} from './types.js';

export class RolloutRun {
  readonly target: Target;
  readonly plan: RolloutPlan;
  readonly analysis: Analysis | undefined;
  readonly deploymentId: string;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  readonly rollbackOnFailure: boolean;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  /** Every confirmed step so far. */
  readonly steps: StepOutcome[] = [];
  record: RolloutRecord;
  /** Someone else acting on the service stops the rollout through this signal. */
  readonly takeover = new AbortController();
  /** The job's signal and the takeover's: what every step of the run is interrupted by. */
  readonly signal: AbortSignal;
  readonly writes = new Serial();
  /** The weight this rollout last confirmed; undefined while a shift is under way (then traffic is not compared). */
  expected: number | undefined;
  yielded: Yielded | undefined;
  /** Whether the record has been read back since it was first written (a Deployment the manifests create has none until it exists). */
  recordKept = false;
  healthy = false;
  stepIndex = -1;
  heartbeat: { stop(): void } = { stop: () => undefined };

  constructor(
    readonly options: RolloutOptions,
    private readonly timeline: Timeline,
    readonly startedAt: number,
    readonly recovered: RecoveryResult | undefined,
  ) {
    this.target = options.target;
    this.plan = options.plan;
    this.analysis = options.analysis;
    this.deploymentId = options.deploymentId;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.rollbackOnFailure = options.rollbackOnFailure ?? true;
    this.heartbeatMs = options.heartbeatMs ?? Math.min(30_000, options.analysis?.intervalMs ?? 30_000);
    this.leaseMs = options.leaseMs ?? Math.max(120_000, 3 * this.heartbeatMs);
    this.record = {
      id: options.deploymentId,
      engine: this.target.engine,
      phase: 'starting',
      stable: '',
      canary: '',
      weight: 0,
      step: 0,
      at: nowSeconds(this.clock),
      ...(options.runId ? { run: options.runId } : {}),
      ...(options.githubDeployment !== undefined ? { githubDeployment: options.githubDeployment } : {}),
    };
    this.signal = options.signal ? AbortSignal.any([options.signal, this.takeover.signal]) : this.takeover.signal;
  }

  event(kind: TimelineKind, message: string, weight?: number): void {
    this.timeline.add(kind, message, weight);
  }

  result(status: RolloutResult['status'], reason: string, extra: Partial<RolloutResult> = {}): RolloutResult {
    return {
      status,
      reason,
      // A resumed rollout keeps the id it started with.
      deploymentId: this.options.resume ? this.record.id : this.deploymentId,
      engine: this.target.engine,
      strategy: this.plan.strategy,
      startedAt: this.startedAt,
      finishedAt: this.clock.now(),
      steps: this.steps,
      timeline: this.timeline.events,
      ...extra,
    };
  }

  /** Stops the rollout for `y` (the first reason found wins): aborts the takeover signal and throws. */
  stopFor(y: Yielded): never {
    this.yielded ??= y;
    this.takeover.abort(new YieldError(this.yielded));
    throw new YieldError(this.yielded);
  }

  /** Looks again: throws YieldError when the rollout is no longer this run's to drive. */
  async ensureOwned(s: AbortSignal = this.signal): Promise<void> {
    if (this.yielded) this.stopFor(this.yielded);
    const found = await lookAgain(this.target, this.record, this.expected, this.clock, s, this.recordKept);
    if (found) this.stopFor(found);
  }

  /** Writes `changes` into the record with a fresh lease, after looking again unless `check` is false. */
  write(changes: Partial<RolloutRecord>, s: AbortSignal = this.signal, check = true): Promise<void> {
    return this.writes.run(async () => {
      if (check) await this.ensureOwned(s);
      this.record = {
        ...this.record,
        ...changes,
        at: nowSeconds(this.clock),
        lease: nowSeconds(this.clock) + Math.ceil(this.leaseMs / 1000),
      };
      await this.target.saveRecord(this.record, s);
      if (!this.recordKept) this.recordKept = (await this.target.loadRecord(s))?.id === this.record.id;
    });
  }

  save(changes: Partial<RolloutRecord>, s: AbortSignal = this.signal): Promise<void> {
    return this.write(changes, s);
  }

  /** Renews the lease (and so looks again) every heartbeat until stopped or taken over. */
  startBeating(): void {
    this.heartbeat = startHeartbeat(this.heartbeatMs, this.clock, this.takeover.signal, async () => {
      try {
        await this.write({}, this.takeover.signal);
      } catch (err) {
        if (err instanceof YieldError || this.takeover.signal.aborted) return;
        this.log(
          `Could not renew the rollout's lease (${errorMessage(err)}); trying again in ${formatDuration(this.heartbeatMs)}.`,
        );
      }
    });
  }

  /** The signal of an undo: it outlives a cancelled job by the cancel grace, up to the rollback's deadline. */
  undoSignal(): ReturnType<typeof cleanupSignal> {
    return cleanupSignal(
      this.options.signal,
      this.options.rollbackTimeoutMs ?? 600_000,
      this.options.cancelGraceMs ?? 6_000,
      this.clock,
    );
  }
}
