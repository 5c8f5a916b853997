/**
 * Where a rollout's record lives (an ECS service tag, an annotation on the stable
 * Deployment, memory in tests). The engine writes the record before it touches traffic and
 * after every change; the abort request is kept beside it so the owner's writes never erase
 * it. Everything read back is untrusted: a store checks what it returns against the live
 * service before anything acts on it.
 */
import type { AbortRequest, RolloutRecord } from './types.js';

export interface RecordStore {
  /** The record left on the resource, if any, checked against the live resource. */
  loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined>;
  /** Writes the record; undefined removes it. */
  saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void>;
  /** Asks the rollout `request.id` to stop, beside its record. */
  requestAbort?(request: AbortRequest, signal?: AbortSignal): Promise<void>;
  /** The abort request beside the record, if any (also when the record itself is gone). */
  loadAbort?(signal?: AbortSignal): Promise<AbortRequest | undefined>;
}
