/**
 * What every Kubernetes workload shares: the Deployment it rolls out, waiting for a
 * Deployment's rollout with progress in the log, scaling one, the diagnosis of a
 * Deployment whose pods do not become available, and the store of the rollout record in
 * an annotation on the stable Deployment (annotation-record-store.ts).
 */
import { systemClock, type Clock } from '../util/clock.js';
import { poll } from '../util/poll.js';
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource, type ResourceApi } from './resources.js';
import { diagnoseRollout, waitForRollout } from './rollout.js';
import { AnnotationRecordStore } from './annotation-record-store.js';
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

export abstract class KubeWorkloadBase {
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

  /** The store of this Deployment's rollout record (its annotations). */
  records(skipWhileMissing = false): AnnotationRecordStore {
    return new AnnotationRecordStore({
      kube: this.kube,
      namespace: this.namespace,
      deployment: this.name,
      ...(skipWhileMissing ? { skipWhileMissing } : {}),
    });
  }

  /** Sets a Deployment's replicas; false when it had them already. */
  async scale(name: string, replicas: number, signal?: AbortSignal): Promise<boolean> {
    const { changed } = await this.deployments.update(
      name,
      (live) => {
        if ((live.spec?.replicas ?? 1) === replicas) return undefined;
        live.spec = { ...(live.spec as NonNullable<Deployment['spec']>), replicas };
        return live;
      },
      { signal },
    );
    return changed;
  }

  /** Waits for a Deployment's rollout (ProgressDeadlineExceeded and the timeout fail with the pods' reasons). */
  async waitRollout(name: string, signal?: AbortSignal): Promise<Deployment> {
    return waitForRollout(this.kube, this.namespace, name, {
      timeoutMs: this.options.waitTimeoutMs,
      clock: this.clock,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      ...(signal ? { signal } : {}),
      onProgress: (message) => this.log(`  ${this.ref(name)}: ${message}`),
    });
  }

  /**
   * Waits until a Deployment runs exactly its replicas, all available: after a scale-down too,
   * which `kubectl rollout status` (and waitRollout) counts as done while the extra pods still run.
   */
  async waitReplicas(name: string, signal?: AbortSignal): Promise<Deployment> {
    await this.waitRollout(name, signal);
    return poll(
      async () => {
        const d = await this.deployments.get(name, signal);
        const want = d.spec?.replicas ?? 1;
        const st = d.status ?? {};
        const done =
          (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
          (st.replicas ?? 0) === want &&
          (st.availableReplicas ?? 0) === want;
        return done
          ? { done: true, value: d }
          : { done: false, status: `${st.replicas ?? 0} pods, ${st.availableReplicas ?? 0} available, ${want} wanted` };
      },
      {
        what: `${this.ref(name)} to run exactly its replicas`,
        timeoutMs: this.options.waitTimeoutMs,
        initialDelayMs: 250,
        maxDelayMs: 5000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
      },
    );
  }

  /** Why a Deployment's new pods are not available. */
  protected async diagnoseDeployment(name: string, signal?: AbortSignal): Promise<string[]> {
    const d = await resource(this.kube, DEPLOYMENTS, this.namespace).find(name, signal);
    if (!d) return [`${this.ref(name)} no longer exists`];
    return (await diagnoseRollout(this.kube, this.namespace, d, signal)).reasons;
  }
}
