import type { Subjects } from '../../src/analysis/types.js';
import { decodeRecord, encodeRecord } from '../../src/delivery/record.js';
import { composeTarget, type ComposedTarget } from '../../src/delivery/compose.js';
import type { RecordStore } from '../../src/delivery/record-store.js';
import type { TrafficRouter } from '../../src/delivery/router.js';
import { RouterRegistry } from '../../src/delivery/router-registry.js';
import type { AbortRequest, Observation, RolloutRecord, Sides, Target, Traffic } from '../../src/delivery/types.js';
import type { Workload } from '../../src/delivery/workload.js';
import type { Clock } from '../../src/util/clock.js';

/**
 * A rollout target in memory, for testing the engine: two sides and a weight, the record
 * kept as the encoded text a tag would hold, and a log of every call with the weight at
 * that moment. Failures are switched on by the test.
 */
export class MemoryTarget implements Target {
  readonly engine = 'memory';
  readonly description = 'the in-memory service web';
  /** Calls in order, e.g. "shift 50", "saveRecord shifting w=50". */
  readonly calls: string[] = [];
  /** Encoded record, as a tag would hold it. */
  tag: string | undefined;
  /** The abort request kept beside the record, as its own tag would hold it. */
  abortTag: AbortRequest | undefined;
  /** False makes observe() report the new side without capacity. */
  canaryReady = true;
  weight = 0;
  stable = 'v1';
  canary: string | undefined;
  /** Make these methods throw. */
  fail: Partial<
    Record<'preflight' | 'create' | 'waitHealthy' | 'shift' | 'promote' | 'rollback' | 'saveRecord', Error>
  > = {};
  /** Weights at which shift() throws once (e.g. a network error half way). */
  failShiftAt = new Set<number>();
  /** Per call, how long each operation takes on the clock. */
  latencyMs = 0;
  /** A promise each rollback() waits for before it changes anything (to hold it in flight). */
  rollbackGate: Promise<void> | undefined;

  constructor(private readonly clock: Clock) {}

  private async step(name: keyof MemoryTarget['fail'], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.latencyMs) await this.clock.sleep(this.latencyMs, signal);
    const err = this.fail[name];
    if (err) throw err;
  }

  get record(): RolloutRecord | undefined {
    const record = decodeRecord(this.tag);
    return record && this.abortTag ? { ...record, abort: this.abortTag } : record;
  }

  async loadAbort(): Promise<AbortRequest | undefined> {
    return this.abortTag;
  }

  async requestAbort(request: AbortRequest): Promise<void> {
    this.calls.push(`requestAbort ${request.id}`);
    this.abortTag = request;
  }

  async observe(): Promise<Observation> {
    return {
      traffic: { canary: this.weight, stable: 100 - this.weight },
      canaryReady: this.canaryReady,
      ...(this.canaryReady ? {} : { reason: 'no task of the new version is running' }),
    };
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    this.calls.push('preflight');
    await this.step('preflight', signal);
  }

  async loadRecord(): Promise<RolloutRecord | undefined> {
    this.calls.push('loadRecord');
    return this.record;
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    this.calls.push(record ? `saveRecord ${record.phase} w=${record.weight}` : 'saveRecord none');
    await this.step('saveRecord', signal);
    this.tag = record ? encodeRecord(record) : undefined;
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    this.calls.push(`create ${deploymentId}`);
    await this.step('create', signal);
    this.canary = 'v2';
    return { stable: this.stable, canary: this.canary };
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    this.calls.push('waitHealthy');
    await this.step('waitHealthy', signal);
  }

  async shift(weight: number, signal?: AbortSignal): Promise<Traffic> {
    this.calls.push(`shift ${weight}`);
    await this.step('shift', signal);
    if (this.failShiftAt.delete(weight)) throw new Error(`connection reset while shifting to ${weight}`);
    this.weight = weight;
    return {
      canary: weight,
      stable: 100 - weight,
      detail: `memory: ${this.stable} ${100 - weight}, ${this.canary} ${weight}`,
    };
  }

  subjects(): Subjects {
    return { canary: { side: 'canary' }, baseline: { side: 'stable' } };
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    this.calls.push(`promote ${record.canary}`);
    await this.step('promote', signal);
    this.weight = 100;
    this.stable = record.canary;
    this.canary = undefined;
  }

  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    this.calls.push(`rollback ${record.canary || '?'}`);
    if (this.rollbackGate) await this.rollbackGate;
    await this.step('rollback', signal);
    this.weight = 0;
    onRestored?.();
    this.canary = undefined;
  }

  /** Resume: takes up the recorded canary (a fresh process knows only the record). */
  async adopt(record: RolloutRecord): Promise<void> {
    this.calls.push(`adopt ${record.canary}`);
    this.canary = record.canary;
  }

  async diagnose(): Promise<string[]> {
    return ['task 1 stopped: Essential container in task exited'];
  }
}

/**
 * The same in-memory service split the way the platforms are (src/delivery/compose.ts): a
 * workload, a router built from `MEMORY_ROUTERS` by name, and a record store. Every part
 * logs its calls into the one `calls` list of the service.
 */
export interface MemoryService {
  stable: string;
  canary: string | undefined;
  /** The weights the traffic mechanism holds, by side id. */
  weights: Map<string, number>;
  calls: string[];
  tag: string | undefined;
  abortTag: AbortRequest | undefined;
}

/** What a memory router is built from (the analogue of a platform's clients and layout). */
export interface MemoryRouterContext {
  service: MemoryService;
}

/** Weights set on the service in one change and read back: the analogue of an ALB listener's forward. */
export class MemoryRouter implements TrafficRouter {
  readonly kind: string = 'memory';
  readonly drivesTraffic = true;
  constructor(protected readonly context: MemoryRouterContext) {}

  protected get service(): MemoryService {
    return this.context.service;
  }

  protected read(): Traffic {
    const s = this.service;
    const canary = s.canary ? (s.weights.get(s.canary) ?? 0) : 0;
    return { canary, stable: s.weights.get(s.stable) ?? 100 - canary, detail: `memory weights ${[...s.weights]}` };
  }

  async setWeight(weight: number): Promise<Traffic> {
    const s = this.service;
    s.calls.push(`router ${this.kind} ${weight}`);
    s.weights = new Map([[s.stable, 100 - weight]]);
    if (s.canary) s.weights.set(s.canary, weight);
    return this.read();
  }

  async readWeight(): Promise<Traffic | undefined> {
    return this.read();
  }

  async restoreStable(record: RolloutRecord): Promise<void> {
    const s = this.service;
    s.calls.push(`router ${this.kind} restore ${record.stable}`);
    s.weights = new Map([[record.stable || s.stable, 100]]);
  }
}

/** The memory platform's router registry: one line per router. */
export const MEMORY_ROUTERS = new RouterRegistry<MemoryRouterContext>('memory', {
  memory: (context) => new MemoryRouter(context),
});

export class MemoryWorkload implements Workload {
  readonly engine = 'memory';
  readonly description = 'the in-memory service web';
  constructor(private readonly service: MemoryService) {}

  async preflight(): Promise<void> {
    this.service.calls.push('preflight');
  }

  async create(deploymentId: string): Promise<Sides> {
    this.service.calls.push(`create ${deploymentId}`);
    this.service.canary = 'v2';
    return { stable: this.service.stable, canary: 'v2' };
  }

  async waitHealthy(): Promise<void> {
    this.service.calls.push('waitHealthy');
  }

  async readiness(): Promise<Omit<Observation, 'traffic'>> {
    return this.service.canary ? { canaryReady: true } : {};
  }

  subjects(): Subjects {
    return { canary: { side: 'canary' }, baseline: { side: 'stable' } };
  }

  async adopt(record: RolloutRecord): Promise<void> {
    this.service.canary = record.canary;
  }

  async promote(record: RolloutRecord): Promise<void> {
    this.service.calls.push(`promote ${record.canary}`);
    this.service.stable = record.canary;
    this.service.canary = undefined;
    this.service.weights = new Map([[record.canary, 100]]);
  }

  async locate(record: RolloutRecord): Promise<void> {
    this.service.calls.push(`locate ${record.canary}`);
  }

  async removeNewSide(record: RolloutRecord): Promise<void> {
    this.service.calls.push(`remove ${record.canary}`);
    this.service.canary = undefined;
  }
}

export class MemoryRecordStore implements RecordStore {
  constructor(private readonly service: MemoryService) {}

  async loadRecord(): Promise<RolloutRecord | undefined> {
    const record = decodeRecord(this.service.tag);
    return record && this.service.abortTag ? { ...record, abort: this.service.abortTag } : record;
  }

  async saveRecord(record: RolloutRecord | undefined): Promise<void> {
    this.service.calls.push(record ? `saveRecord ${record.phase} w=${record.weight}` : 'saveRecord none');
    this.service.tag = record ? encodeRecord(record) : undefined;
  }

  async loadAbort(): Promise<AbortRequest | undefined> {
    return this.service.abortTag;
  }

  async requestAbort(request: AbortRequest): Promise<void> {
    this.service.abortTag = request;
  }
}

/** A composed memory target whose router is the registry's `routerKind`. */
export function memoryTarget(routerKind = 'memory'): ComposedTarget<MemoryWorkload> & { service: MemoryService } {
  const service: MemoryService = {
    stable: 'v1',
    canary: undefined,
    weights: new Map([['v1', 100]]),
    calls: [],
    tag: undefined,
    abortTag: undefined,
  };
  const target = composeTarget({
    workload: new MemoryWorkload(service),
    router: MEMORY_ROUTERS.create(routerKind, { service }),
    records: new MemoryRecordStore(service),
  });
  return Object.assign(target, { service });
}
