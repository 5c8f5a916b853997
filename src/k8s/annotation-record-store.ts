/**
 * The Kubernetes record store: the rollout record in the `platform-actions/rollout`
 * annotation of the stable Deployment and the abort request in its own annotation beside
 * it (rollout-state.ts), written with metadata-only merge patches so the Deployment's spec
 * is never touched. What is read back goes through `recordOf` / `abortOf`, which refuse
 * anything malformed.
 */
import { encodeAbort } from '../delivery/abort.js';
import type { RecordStore } from '../delivery/record-store.js';
import type { AbortRequest, RolloutRecord } from '../delivery/types.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource } from './resources.js';
import {
  ABORT_ANNOTATION,
  abortOf,
  annotateDeployment,
  recordOf,
  recordValue,
  ROLLOUT_ANNOTATION,
} from './rollout-state.js';

export interface AnnotationRecordContext {
  kube: KubeClient;
  namespace: string;
  /** The stable Deployment, which keeps the record. */
  deployment: string;
  /** Writes nothing while the Deployment does not exist (a rolling rollout whose manifests create it). */
  skipWhileMissing?: boolean;
}

export class AnnotationRecordStore implements RecordStore {
  constructor(private readonly context: AnnotationRecordContext) {}

  private find(signal?: AbortSignal) {
    const { kube, namespace, deployment } = this.context;
    return resource(kube, DEPLOYMENTS, namespace).find(deployment, signal);
  }

  private async annotate(annotations: Record<string, string | null>, signal?: AbortSignal): Promise<void> {
    const { kube, namespace, deployment } = this.context;
    await annotateDeployment(kube, namespace, deployment, annotations, signal);
  }

  async loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    return recordOf(await this.find(signal));
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    if (this.context.skipWhileMissing && !(await this.find(signal))) return;
    await this.annotate({ [ROLLOUT_ANNOTATION]: recordValue(record) }, signal);
  }

  async loadAbort(signal?: AbortSignal): Promise<AbortRequest | undefined> {
    return abortOf(await this.find(signal));
  }

  async requestAbort(request: AbortRequest, signal?: AbortSignal): Promise<void> {
    await this.annotate({ [ABORT_ANNOTATION]: encodeAbort(request) }, signal);
  }
}
