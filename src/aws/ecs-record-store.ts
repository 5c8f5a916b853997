/**
 * The ECS record store: the rollout record in the service tag `platform-actions:rollout`
 * and the abort request in its own tag beside it (ecs.ts `serviceRecordStore`). What is
 * read back is checked against the live service before anything acts on it
 * (ecs-record-check.ts), except the very text this process wrote last.
 */
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import type { RecordStore } from '../delivery/record-store.js';
import type { AbortRequest, RolloutRecord } from '../delivery/types.js';
import { serviceRecordStore, type ServiceRef } from './ecs.js';
import { checkedRecord } from './ecs-record-check.js';

export interface EcsRecordContext {
  ecs: ECSClient;
  ref: ServiceRef;
  log: (line: string) => void;
  /** The service to check a loaded record against (the workload's, read as it reads it). */
  service(signal?: AbortSignal): Promise<Service>;
  /** The service's ARN, which carries the tags. */
  serviceArn(signal?: AbortSignal): Promise<string>;
  /** Told when a record was found: an unfinished rollout will be finished first, so what preflight saw will change. */
  onFound?(): void;
}

export class EcsServiceRecords implements RecordStore {
  /** The record text this process wrote last: read back, it needs no check against the service. */
  private written: string | undefined;

  constructor(private readonly context: EcsRecordContext) {}

  private async tags(signal?: AbortSignal) {
    return serviceRecordStore(this.context.ecs, await this.context.serviceArn(signal));
  }

  async loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    const { ecs, ref, log } = this.context;
    const service = await this.context.service(signal);
    const record = await checkedRecord(ecs, ref, service, log, signal, this.written);
    if (record) this.context.onFound?.();
    return record;
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    this.written = await (await this.tags(signal)).save(record, signal);
  }

  async loadAbort(signal?: AbortSignal): Promise<AbortRequest | undefined> {
    return (await this.tags(signal)).loadAbort(signal);
  }

  async requestAbort(request: AbortRequest, signal?: AbortSignal): Promise<void> {
    await (await this.tags(signal)).requestAbort(request, signal);
  }
}
