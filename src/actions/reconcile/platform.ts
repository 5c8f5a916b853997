import type { Found } from '../../delivery/reconcile.js';
import type { Analysis, Subjects } from '../../analysis/types.js';
import type { Target } from '../../delivery/types.js';

/** One service or Deployment with something for the reconciler, whichever platform. */
export interface Item {
  /** `cluster/service` or `namespace/deployment`. */
  where: string;
  /** As GitHub Deployment payloads name it. */
  service: string;
  found: Found;
  target?: Target;
  retire?: (signal?: AbortSignal) => Promise<void>;
  subjects?: () => Promise<Subjects>;
  /** The analysis that judges this item's paused canary, if any applies. */
  analysis: () => Analysis | undefined;
}

export interface PlatformScan {
  items: Item[];
  /** Services or Deployments looked at. */
  seen: number;
  /** Cloud API calls the scan made. */
  calls: number;
  close(): void;
}
