/**
 * The Kubernetes target that can finish or undo a recorded rollout, by the engine the
 * record names: what the post step, the next run and the rollback action use, from a
 * fresh process that has only the cluster (the record and the traffic layout are on the
 * stable Deployment).
 */
import type { Target } from '../delivery/types.js';
import { BLUE_GREEN_ENGINE, KubeBlueGreenTarget } from './blue-green-target.js';
import { CANARY_ENGINE, KubeCanaryTarget } from './canary-target.js';
import { KubeRollingTarget, ROLLING_ENGINE } from './rolling-target.js';
import type { KubeTargetOptions } from './target-base.js';

export const KUBE_ENGINES = [ROLLING_ENGINE, CANARY_ENGINE, BLUE_GREEN_ENGINE] as const;

export interface RecoveryTargetOptions extends KubeTargetOptions {
  /** blue-green: how long an interrupted promotion keeps blue (the post step passes the run's keep-previous). */
  keepPreviousMs?: number;
}

/** The target for a record written by `engine`; an unknown engine is an error (a newer version wrote it). */
export function recoveryTarget(engine: string, options: RecoveryTargetOptions): Target {
  switch (engine) {
    case ROLLING_ENGINE:
      return new KubeRollingTarget(options);
    case CANARY_ENGINE:
      return new KubeCanaryTarget(options);
    case BLUE_GREEN_ENGINE:
      return new KubeBlueGreenTarget({ ...options, keepPreviousMs: options.keepPreviousMs ?? 0 });
    default:
      throw new Error(
        `the rollout record names engine '${engine}', which this version does not know (known: ${KUBE_ENGINES.join(', ')})`,
      );
  }
}
