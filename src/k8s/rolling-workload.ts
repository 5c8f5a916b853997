/**
 * The rolling workload: the Deployment's own RollingUpdate. `create` puts the new pod
 * template in (or applies the manifests, which hold it); the new version is healthy when
 * the controller has seen the generation and every replica is updated and available, and
 * fails at once on ProgressDeadlineExceeded with the pods' waiting reasons and Warning
 * events. Rolling back puts the template of the ReplicaSet that ran before back into the
 * Deployment (as `kubectl rollout undo` does); Kubernetes moves the pods, and with them the
 * traffic, which the read-only `deployment-rollout` router waits for. There is no baseline.
 * rolling-target.ts composes the target.
 */
import type { Subjects } from '../analysis/types.js';
import type { RolloutRecord, Sides } from '../delivery/types.js';
import type { Workload } from '../delivery/workload.js';
import { UserError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { hashOfRevision, markGood, markRolledBack } from './last-good.js';
import { applyManifests, type Manifest } from './manifests.js';
import { clone } from './resources.js';
import { revisionOf, revisions, rollbackTo } from './rollout.js';
import { currentRevision } from './rollout-sides.js';
import { DEPLOYMENT_ID_ANNOTATION } from './rollout-state.js';
import type { KubeRouterContext } from './router-context.js';
import { KubeWorkloadBase, type KubeTargetOptions } from './target-base.js';
import type { Deployment, PodTemplateSpec } from './types.js';

export const ROLLING_ENGINE = 'gke-rolling';

export interface RollingTargetOptions extends KubeTargetOptions {
  /** The new pod template (the live one with the image put in); absent when only undoing. */
  template?: PodTemplateSpec;
  /** Manifests to apply instead (they hold the Deployment with the image put in). */
  manifests?: Manifest[];
  /** Service in front of the Deployment, for the analysis labels. */
  service?: string;
}

const pausedDeployment = (ref: string, name: string, namespace: string): UserError =>
  new UserError(
    `${ref} is paused, so a rolling update would never progress.`,
    `Resume it (kubectl rollout resume deployment/${name} -n ${namespace}), then deploy again.`,
  );

const nothingEarlier = (ref: string): UserError =>
  new UserError(
    `${ref} was created by this rollout, so there is no earlier version to return to; it is left as it is.`,
    'Fix what the pods report and deploy again, or delete the Deployment.',
  );

const stableGone = (stable: string, ref: string): UserError =>
  new UserError(
    `ReplicaSet ${stable}, which ran before this rollout, no longer exists in the history of ${ref}, so its template cannot be put back.`,
    'Deploy the previous image again (a revisionHistoryLimit of 0 keeps no history).',
  );

export class RollingWorkload extends KubeWorkloadBase implements Workload {
  readonly engine = ROLLING_ENGINE;
  readonly description: string;
  /** The Deployment's revision before this rollout (0 when it did not exist). */
  previousRevision = 0;
  /** Its revision once the new template was taken in. */
  newRevision = 0;

  constructor(private readonly rolling: RollingTargetOptions) {
    super(rolling);
    this.description = `Deployment ${rolling.namespace}/${rolling.deployment} (rolling update)`;
  }

  async preflight(signal?: AbortSignal): Promise<void> {
    const d = await this.deployments.find(this.name, signal);
    if (d?.spec?.paused) {
      throw pausedDeployment(this.ref(), this.name, this.namespace);
    }
    if (
      !d &&
      !this.rolling.manifests?.some((m) => m.kind.kind === 'Deployment' && m.object.metadata?.name === this.name)
    ) {
      throw new UserError(
        `${this.ref()} does not exist.`,
        'Check deployment and namespace, or pass manifests that create it.',
      );
    }
    this.previousRevision = d ? revisionOf(d) : 0;
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    const live = await this.deployments.find(this.name, signal);
    const before = live ? await currentRevision(this.kube, this.namespace, live, signal) : undefined;
    this.previousRevision = live ? revisionOf(live) : 0;
    const manifests = this.rolling.manifests;
    if (manifests?.length) {
      for (const m of manifests) {
        if (m.kind.kind === 'Deployment' && m.object.metadata?.name === this.name) {
          m.object.metadata.annotations = {
            ...(m.object.metadata.annotations ?? {}),
            [DEPLOYMENT_ID_ANNOTATION]: deploymentId,
          };
        }
      }
      const applied = await applyManifests(this.kube, manifests, { namespace: this.namespace, signal });
      this.log(
        `Applied ${applied.length} object(s) from the manifests: ${applied.map((a) => `${a.kind} ${a.name}`).join(', ')}.`,
      );
    } else {
      const template = this.rolling.template;
      if (!template) throw new Error('RollingWorkload.create needs a pod template or manifests');
      const { changed } = await this.deployments.update(
        this.name,
        (d) => {
          d.spec = { ...(d.spec as NonNullable<Deployment['spec']>), template: clone(template) };
          d.metadata = {
            ...d.metadata,
            annotations: { ...(d.metadata?.annotations ?? {}), [DEPLOYMENT_ID_ANNOTATION]: deploymentId },
          };
          return d;
        },
        { signal },
      );
      if (!changed) this.log(`${this.ref()} already had this deployment's template.`);
    }
    // The ReplicaSet of the new template, once the controller has taken the change in.
    const after = await poll(
      async () => {
        const d = await this.deployments.get(this.name, signal);
        const observed = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1);
        const rs = observed ? await currentRevision(this.kube, this.namespace, d, signal) : undefined;
        return rs
          ? { done: true, value: { d, rs } }
          : {
              done: false,
              status: observed
                ? 'no ReplicaSet for the new template yet'
                : `generation ${d.metadata?.generation} not observed yet`,
            };
      },
      {
        what: `the deployment controller to take in the new template of ${this.ref()}`,
        timeoutMs: Math.min(this.options.waitTimeoutMs, 120_000),
        initialDelayMs: 200,
        maxDelayMs: 2000,
        clock: this.clock,
        ...(signal ? { signal } : {}),
      },
    );
    this.newRevision = revisionOf(after.d);
    if (before && before.replicaSet === after.rs.replicaSet)
      this.log(
        `${this.ref()} already runs this pod template (ReplicaSet ${before.replicaSet}); nothing new rolls out.`,
      );
    else
      this.log(
        `${this.ref()} rolls out ReplicaSet ${after.rs.replicaSet} (revision ${this.newRevision})${before ? ` in place of ${before.replicaSet} (revision ${before.revision})` : ''}.`,
      );
    return { stable: before?.replicaSet ?? '', canary: after.rs.replicaSet };
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    await this.waitRollout(this.name, signal);
  }

  subjects(): Subjects {
    return {
      canary: {
        namespace: this.namespace,
        deployment: this.name,
        service: this.rolling.service ?? this.name,
        track: 'stable',
      },
    };
  }

  async promote(_record?: RolloutRecord, signal?: AbortSignal): Promise<void> {
    // The Deployment replaced every pod already; nothing is left to remove. Its template completed a rollout.
    if (await this.deployments.find(this.name, signal)) await markGood(this.kube, this.namespace, this.name, signal);
  }

  /**
   * The rollback's change: the template of the ReplicaSet that ran before put back (if the
   * Deployment does not run it already). The router then waits until Kubernetes has rolled
   * every pod back.
   */
  async undo(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const d = await this.deployments.find(this.name, signal);
    if (!d) throw new UserError(`${this.ref()} no longer exists, so there is nothing to roll back.`);
    if (!record.stable) {
      throw nothingEarlier(this.ref());
    }
    const history = await revisions(this.kube, this.namespace, d, signal);
    const back = history.find((r) => r.replicaSet === record.stable);
    if (!back) {
      throw stableGone(record.stable, this.ref());
    }
    const current = await currentRevision(this.kube, this.namespace, d, signal);
    if (current?.replicaSet !== back.replicaSet) {
      if (current) await markRolledBack(this.kube, this.namespace, this.name, hashOfRevision(current), signal);
      this.log(
        `Putting the template of ReplicaSet ${back.replicaSet} (revision ${back.revision}) back into ${this.ref()}.`,
      );
      await rollbackTo(this.kube, this.namespace, this.name, back, signal);
    }
  }

  /** Nothing is left beside the Deployment once it runs the old template again. */
  async removeNewSide(): Promise<void> {}

  /** What the read-only router is built from (router-context.ts): the Deployment and this undo. */
  routerContext(): KubeRouterContext {
    return {
      kube: this.kube,
      namespace: this.namespace,
      deployment: this.name,
      clock: this.clock,
      log: this.log,
      layout: () => undefined,
      route: () => undefined,
      sideName: () => this.name,
      sideServiceOf: (layout) => layout.service,
      ops: {
        scale: (name, replicas, signal) => this.scale(name, replicas, signal),
        waitRollout: (name, signal) => this.waitRollout(name, signal),
        waitReplicas: (name, signal) => this.waitReplicas(name, signal),
        autoscaler: async () => undefined,
      },
      undo: (record, signal) => this.undo(record, signal),
    };
  }

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    return this.diagnoseDeployment(this.name, signal);
  }
}
