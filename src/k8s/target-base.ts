/**
 * What every Kubernetes rollout target shares: the Deployment it rolls out, the rollout
 * record in an annotation on it, waiting for a Deployment's rollout with progress in the
 * log, and the diagnosis of a Deployment whose pods do not become available.
 */
import type { RolloutRecord } from '../delivery/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource, type ResourceApi } from './resources.js';
import { diagnoseRollout, waitForRollout } from './rollout.js';
import { annotateDeployment, recordOf, recordValue, ROLLOUT_ANNOTATION } from './rollout-state.js';
import type { Deployment } from './types.js';

export interface KubeTargetOptions {
  kube: KubeClient;
  namespace: string;
  /** The stable Deployment: the one users name, which keeps the record. */
  deployment: string;
  /** Longest wait for a Deployment's rollout (new pods available). */
  waitTimeoutMs: number;
  /** Longest wait for a traffic change to be confirmed (route accepted, selector read back). Default 2 minutes. */
  confirmTimeoutMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
}

export abstract class KubeTarget {
  protected readonly clock: Clock;
  protected readonly log: (line: string) => void;

  constructor(protected readonly options: KubeTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
  }

  protected get kube(): KubeClient {
    return this.options.kube;
  }

  protected get namespace(): string {
    return this.options.namespace;
  }

  protected get name(): string {
    return this.options.deployment;
  }

  protected get deployments(): ResourceApi<Deployment> {
    return resource(this.kube, DEPLOYMENTS, this.namespace);
  }

  /** "Deployment shop/web" */
  protected ref(name = this.name): string {
    return `Deployment ${this.namespace}/${name}`;
  }

  async loadRecord(signal?: AbortSignal): Promise<RolloutRecord | undefined> {
    return recordOf(await this.deployments.find(this.name, signal));
  }

  async saveRecord(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<void> {
    await annotateDeployment(this.kube, this.namespace, this.name, { [ROLLOUT_ANNOTATION]: recordValue(record) }, signal);
  }

  /** Waits for a Deployment's rollout (ProgressDeadlineExceeded and the timeout fail with the pods' reasons). */
  protected async waitRollout(name: string, signal?: AbortSignal): Promise<Deployment> {
    return waitForRollout(this.kube, this.namespace, name, {
      timeoutMs: this.options.waitTimeoutMs,
      clock: this.clock,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      ...(signal ? { signal } : {}),
      onProgress: (message) => this.log(`  ${this.ref(name)}: ${message}`),
    });
  }

  /** Why a Deployment's new pods are not available. */
  protected async diagnoseDeployment(name: string, signal?: AbortSignal): Promise<string[]> {
    const d = await resource(this.kube, DEPLOYMENTS, this.namespace).find(name, signal);
    if (!d) return [`${this.ref(name)} no longer exists`];
    return (await diagnoseRollout(this.kube, this.namespace, d, signal)).reasons;
  }
}
