/**
 * The blue-green engine's target (`gke-blue-green`): the blue-green workload
 * (blue-green-workload.ts), the router its traffic mode names (`http-route` with an
 * HTTPRoute, `service-selector` without; layout-router.ts, routers.ts) and the record in
 * the stable Deployment's annotations (annotation-record-store.ts), composed by
 * src/delivery/compose.ts. A kept blue is retired by the workload and reverted through the
 * composed rollback (the router's one change back, then green removed).
 */
import { ComposedTarget } from '../delivery/compose.js';
import { BlueGreenWorkload, type BlueGreenOptions, type PreviewOutcome } from './blue-green-workload.js';
import type { LayoutRouter } from './layout-router.js';
import type { KeptBlue } from './rollout-state.js';
import type { SideBySideTarget, SmokeBackend } from './side-by-side.js';

export { BLUE_GREEN_ENGINE, type BlueGreenOptions, type PreviewOutcome } from './blue-green-workload.js';

export class KubeBlueGreenTarget extends ComposedTarget<BlueGreenWorkload, LayoutRouter> implements SideBySideTarget {
  constructor(options: BlueGreenOptions) {
    const workload = new BlueGreenWorkload(options);
    super({ workload, router: workload.router(), records: workload.records() });
  }

  /** Set by waitHealthy when a preview analysis ran. */
  get previewOutcome(): PreviewOutcome | undefined {
    return this.workload.previewOutcome;
  }

  /** Set by promote when blue was kept. */
  get kept(): KeptBlue | undefined {
    return this.workload.kept;
  }

  /** Runs once green is ready, before the preview analysis (gke-deploy's smoke checks); a throw makes green unhealthy. */
  get afterReady(): ((signal?: AbortSignal) => Promise<void>) | undefined {
    return this.workload.afterReady;
  }

  set afterReady(check: ((signal?: AbortSignal) => Promise<void>) | undefined) {
    this.workload.afterReady = check;
  }

  /** Where smoke checks and synthetic load reach green alone (its preview Service). */
  smokeBackend(signal?: AbortSignal): Promise<SmokeBackend | undefined> {
    return this.workload.smokeBackend(signal);
  }

  /** The blue side kept by an earlier promotion, if any. */
  keptBlue(signal?: AbortSignal): Promise<KeptBlue | undefined> {
    return this.workload.keptBlue(signal);
  }

  /** Retires a kept blue: the stable Deployment takes green's template, traffic returns to it, green goes. */
  retire(kept: KeptBlue, signal?: AbortSignal): Promise<void> {
    return this.workload.retire(kept, signal);
  }

  /** Switches back to a kept blue in one change, then removes green. */
  revert(kept: KeptBlue, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    return this.rollback(this.workload.keptRecord(kept, 'rolling-back'), signal, onRestored);
  }
}
