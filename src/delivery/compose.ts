/**
 * The engine's `Target` put together from its three collaborators: the workload (the two
 * sides' lifecycle), the traffic router (weights) and the record store. The engine still
 * drives one `Target`; what each call does, and in what order, is fixed here once for every
 * platform:
 *
 * - shift: the router sets the weight and confirms it by reading it back;
 * - observe: the router's weights, then the workload's readiness;
 * - rollback: the workload locates the recorded sides, the router puts all traffic on
 *   stable in one change and confirms it, `onRestored` runs, then the workload removes the
 *   new side. Each piece is idempotent, so the engine retries the whole until it holds.
 *   Where the platform moves traffic back itself, the workload's own `rollback` does it all.
 */
import type { Subjects } from '../analysis/types.js';
import type { RecordStore } from './record-store.js';
import type { TrafficRouter } from './router.js';
import type { AbortRequest, Observation, RolloutRecord, Sides, Target, Traffic } from './types.js';
import type { Workload } from './workload.js';

export interface TargetParts<W extends Workload = Workload, R extends TrafficRouter = TrafficRouter> {
  workload: W;
  router: R;
  records: RecordStore;
}

export class ComposedTarget<W extends Workload = Workload, R extends TrafficRouter = TrafficRouter> implements Target {
  readonly workload: W;
  readonly router: R;
  readonly records: RecordStore;
  requestAbort?: (request: AbortRequest, signal?: AbortSignal) => Promise<void>;
  loadAbort?: (signal?: AbortSignal) => Promise<AbortRequest | undefined>;
  observe?: (signal?: AbortSignal) => Promise<Observation>;
  adopt?: (record: RolloutRecord, signal?: AbortSignal) => Promise<void>;
  holdPause?: (signal?: AbortSignal) => Promise<number | undefined>;
  describePromotion?: (record: RolloutRecord) => string;
  diagnose?: (signal?: AbortSignal) => Promise<string[]>;

  constructor(parts: TargetParts<W, R>) {
    const { workload, router, records } = parts;
    this.workload = workload;
    this.router = router;
    this.records = records;
    // Optional capabilities exist on the target only where a part has them: the engine asks `if (target.adopt)`.
    if (records.requestAbort) this.requestAbort = (request, signal) => records.requestAbort!(request, signal);
    if (records.loadAbort) this.loadAbort = (signal) => records.loadAbort!(signal);
    if (router.readWeight || workload.readiness) this.observe = (signal) => this.look(signal);
    if (workload.adopt) this.adopt = (record, signal) => workload.adopt!(record, signal);
    if (workload.holdPause) this.holdPause = (signal) => workload.holdPause!(signal);
    if (workload.describePromotion) this.describePromotion = (record) => workload.describePromotion!(record);
    if (workload.diagnose) this.diagnose = (signal) => workload.diagnose!(signal);
  }

  get engine(): string {
    return this.workload.engine;
  }

  get description(): string {
    return this.workload.description;
  }

  preflight(signal?: AbortSignal): Promise<void> {
    return this.workload.preflight(signal);
  }

  loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    return this.records.loadRecord(signal);
  }

  saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    return this.records.saveRecord(record, signal);
  }

  create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    return this.workload.create(deploymentId, signal);
  }

  waitHealthy(signal?: AbortSignal): Promise<void> {
    return this.workload.waitHealthy(signal);
  }

  shift(weight: number, signal?: AbortSignal): Promise<Traffic> {
    return this.router.setWeight(weight, signal);
  }

  subjects(): Subjects {
    return this.workload.subjects();
  }

  promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    return this.workload.promote(record, signal);
  }

  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    // The platform moves traffic back itself (a read-only router): the workload undoes the whole.
    if (this.workload.rollback) return this.workload.rollback(record, signal, onRestored);
    await this.workload.locate?.(record, signal);
    // One change: every request goes to stable, confirmed before anything is removed.
    await this.router.restoreStable(record, signal);
    onRestored?.();
    await this.workload.removeNewSide(record, signal);
  }

  /** The router's weights (when it can tell), then whether the new side could take traffic. */
  private async look(signal?: AbortSignal): Promise<Observation> {
    const traffic = await this.router.readWeight?.(signal);
    if (this.router.readWeight && traffic === undefined) return {};
    const ready = (await this.workload.readiness?.(signal)) ?? {};
    return { ...(traffic ? { traffic } : {}), ...ready };
  }
}

/** The engine's `Target` for a workload, the router that moves its traffic and the store of its record. */
export function composeTarget<W extends Workload, R extends TrafficRouter>(
  parts: TargetParts<W, R>,
): ComposedTarget<W, R> {
  return new ComposedTarget(parts);
}
