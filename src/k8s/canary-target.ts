/**
 * The canary engine's target (`gke-canary`): the canary workload (canary-workload.ts), the
 * router its traffic mode names (`http-route` with an HTTPRoute, `replica-ratio` without;
 * layout-router.ts, routers.ts) and the record in the stable Deployment's annotations
 * (annotation-record-store.ts), composed by src/delivery/compose.ts.
 */
import { ComposedTarget } from '../delivery/compose.js';
import { CanaryWorkload } from './canary-workload.js';
import type { LayoutRouter } from './layout-router.js';
import type { SideBySideOptions, SideBySideTarget, SmokeBackend } from './side-by-side.js';
import type { PodTemplateSpec } from './types.js';

export { CANARY_ENGINE } from './canary-workload.js';

export class KubeCanaryTarget extends ComposedTarget<CanaryWorkload, LayoutRouter> implements SideBySideTarget {
  constructor(options: SideBySideOptions) {
    const workload = new CanaryWorkload(options);
    super({ workload, router: workload.router(), records: workload.records() });
  }

  /** The paused canary's pod template (resume compares its images with the ones given). */
  canaryTemplate(signal?: AbortSignal): Promise<PodTemplateSpec | undefined> {
    return this.workload.canaryTemplate(signal);
  }

  /** Where smoke checks and synthetic load reach the canary alone (with an HTTPRoute). */
  smokeBackend(signal?: AbortSignal): Promise<SmokeBackend | undefined> {
    return this.workload.smokeBackend(signal);
  }
}
