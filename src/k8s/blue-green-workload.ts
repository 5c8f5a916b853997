/**
 * The blue-green workload: `<name>-green` with the new pod template at full size beside the
 * stable ("blue") Deployment, and a preview Service (`<service>-preview`) in front of it.
 *
 * 1. Green is waited for; if an analysis is given for the preview and the preview has
 *    traffic (the first run is not inconclusive), green is judged there before any
 *    production traffic reaches it, and a failure rolls back with nothing switched.
 * 2. The switch is one change, the router's: the HTTPRoute's weights (stable 0, preview
 *    100; `http-route`), or without a route the stable Service's selector moved from blue's
 *    pod-template-hash to green's (`service-selector`).
 * 3. After the bake, blue is kept, untouched and at full size, for instant revert: the
 *    Deployment's `platform-actions/blue-green` annotation says so and until when
 *    (`keep-previous`). Reverting (the rollback action) is the same one change back. Blue
 *    is retired (`retire`: the stable Deployment takes green's template, traffic returns
 *    to it, green goes) by the next gke-deploy run, or at once when keep-previous is 0.
 *
 * blue-green-target.ts composes the target.
 */
import type { Analysis, AnalysisRun, BakeResult, Subjects } from '../analysis/types.js';
import type { RolloutRecord, Sides } from '../delivery/types.js';
import type { Workload } from '../delivery/workload.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import {
  annotateDeployment,
  encodeKept,
  KEPT_ANNOTATION,
  keptOf,
  type KeptBlue,
  type TrafficLayout,
} from './rollout-state.js';
import { SideBySideWorkload, type SideBySideOptions } from './side-by-side.js';

export const BLUE_GREEN_ENGINE = 'gke-blue-green';

export interface BlueGreenOptions extends SideBySideOptions {
  /** How long blue stays for instant revert after the switch; 0 retires it at promotion. */
  keepPreviousMs: number;
  /** Judge green on the preview Service before the switch, when the preview has traffic. */
  preview?: { analysis: Analysis; durationMs: number };
}

/** What the preview analysis found. */
export interface PreviewOutcome {
  verdict: 'pass' | 'fail' | 'skipped';
  reason: string;
  bake?: BakeResult;
}

export class BlueGreenWorkload extends SideBySideWorkload implements Workload {
  readonly engine = BLUE_GREEN_ENGINE;
  readonly description: string;
  protected readonly track = 'green' as const;
  protected readonly sideWord = 'green side';
  /** Set by waitHealthy when a preview analysis ran. */
  previewOutcome: PreviewOutcome | undefined;
  /** Set by promote when blue was kept. */
  kept: KeptBlue | undefined;
  /** Runs once green is ready, before the preview analysis (gke-deploy's smoke checks); a throw makes green unhealthy. */
  afterReady: ((signal?: AbortSignal) => Promise<void>) | undefined;

  constructor(private readonly bg: BlueGreenOptions) {
    super(bg);
    this.description = bg.route
      ? `Deployment ${bg.namespace}/${bg.deployment}, blue-green behind HTTPRoute ${bg.route}`
      : `Deployment ${bg.namespace}/${bg.deployment}, blue-green by the selector of Service ${bg.service ?? bg.deployment}`;
  }

  protected get sideName(): string {
    return `${this.name}-green`;
  }

  protected get sideServiceName(): string {
    return `${this.serviceName}-preview`;
  }

  protected get mode(): TrafficLayout['mode'] {
    return this.layout?.mode ?? (this.side.route ? 'route' : 'selector');
  }

  protected initialReplicas(stableReplicas: number): number {
    return stableReplicas;
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    return this.createSide(deploymentId, signal);
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    await this.waitRollout(this.sideName, signal);
    await this.afterReady?.(signal);
    if (this.bg.preview) await this.judgePreview(this.bg.preview, signal);
  }

  private async judgePreview(preview: NonNullable<BlueGreenOptions['preview']>, signal?: AbortSignal): Promise<void> {
    const { analysis } = preview;
    const subjects: Subjects = { canary: this.labels('green') };
    const since = this.clock.now();
    this.log(
      `Judging the green side on Service ${this.sideServiceName} before the switch: a first look after ${formatDuration(analysis.intervalMs)} tells whether the preview has traffic.`,
    );
    await this.clock.sleep(analysis.intervalMs, signal);
    const first: AnalysisRun = await analysis.run(
      subjects,
      { start: new Date(since), end: new Date(this.clock.now()) },
      signal,
    );
    const reasons = (run: AnalysisRun) => run.checks.map((c) => c.reason).join('; ');
    if (first.verdict === 'inconclusive') {
      this.previewOutcome = {
        verdict: 'skipped',
        reason: `The preview had too little to judge (${reasons(first)}); green is judged after the switch, with blue still there.`,
        bake: { verdict: 'inconclusive', reason: reasons(first), runs: [first] },
      };
      this.log(this.previewOutcome.reason);
      return;
    }
    // The first run counts; the rest of step-duration (if any) is baked on.
    const remaining = preview.durationMs - (this.clock.now() - since);
    const bake: BakeResult =
      remaining >= 1000
        ? await analysis.bake({
            subjects,
            durationMs: remaining,
            since: new Date(since),
            clock: this.clock,
            ...(signal ? { signal } : {}),
          })
        : {
            verdict: first.verdict === 'error' ? 'inconclusive' : first.verdict,
            reason:
              first.verdict === 'pass'
                ? `1 run: ${reasons(first)}`
                : `The run failed: ${first.checks
                    .filter((c) => c.verdict !== 'pass')
                    .map((c) => c.reason)
                    .join('; ')}`,
            runs: [],
          };
    const all: BakeResult = { ...bake, runs: [first, ...bake.runs] };
    if (bake.verdict === 'pass') {
      this.previewOutcome = {
        verdict: 'pass',
        reason: `The green side passed on the preview: ${bake.reason}`,
        bake: all,
      };
      this.log(this.previewOutcome.reason);
      return;
    }
    this.previewOutcome = {
      verdict: 'fail',
      reason: `The green side ${bake.verdict === 'fail' ? 'failed' : 'was inconclusive'} on the preview Service ${this.sideServiceName}, before any production traffic reached it: ${bake.reason}`,
      bake: all,
    };
    throw new UserError(this.previewOutcome.reason);
  }

  protected sideServiceOf(layout: TrafficLayout): string {
    return `${layout.service}-preview`;
  }

  /** One switch, all at once: any other weight is a programming error. */
  protected override async beforeWeight(weight: number): Promise<void> {
    if (weight !== 100) throw new Error(`blue-green switches all traffic at once; step ${weight}% is not possible`);
  }

  subjects(): Subjects {
    return { canary: this.labels('green'), baseline: this.labels('stable') };
  }

  /** Keeps blue for instant revert (the annotation says until when), or retires it now when keep-previous is 0. */
  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    if (this.bg.keepPreviousMs <= 0) {
      await this.converge(record, signal);
      return;
    }
    const kept: KeptBlue = {
      id: record.id,
      blue: record.stable,
      green: record.canary || this.sideName,
      until: Math.ceil((this.clock.now() + this.bg.keepPreviousMs) / 1000),
    };
    await annotateDeployment(this.kube, this.namespace, this.name, { [KEPT_ANNOTATION]: encodeKept(kept) }, signal);
    this.kept = kept;
    this.log(
      `Blue (ReplicaSet ${kept.blue} of ${this.ref()}) stays at full size, without traffic, for instant revert until ${new Date(kept.until * 1000).toISOString()} (keep-previous ${formatDuration(this.bg.keepPreviousMs)}); the next gke-deploy run retires it, the rollback action switches back to it.`,
    );
  }

  describePromotion(record: RolloutRecord): string {
    return this.kept
      ? `Promoted: ${this.kept.green} takes all traffic; blue (ReplicaSet ${this.kept.blue}) stays, without traffic, for instant revert until ${new Date(this.kept.until * 1000).toISOString()}.`
      : `Promoted: ${this.ref()} runs the new template and takes all traffic; ${record.canary} and blue (ReplicaSet ${record.stable}) removed.`;
  }

  /** The blue side kept by an earlier promotion, if any. */
  async keptBlue(signal?: AbortSignal): Promise<KeptBlue | undefined> {
    return keptOf(await this.deployments.find(this.name, signal));
  }

  /** The record of a kept blue's rollout, for its retirement or revert. */
  keptRecord(kept: KeptBlue, phase: RolloutRecord['phase']): RolloutRecord {
    return {
      id: kept.id,
      engine: this.engine,
      phase,
      stable: kept.blue,
      canary: kept.green,
      weight: 100,
      step: 0,
      at: kept.until,
    };
  }

  /** Retires a kept blue: the stable Deployment takes green's template, traffic returns to it, green goes. */
  async retire(kept: KeptBlue, signal?: AbortSignal): Promise<void> {
    await this.converge(this.keptRecord(kept, 'promoting'), signal);
  }
}
