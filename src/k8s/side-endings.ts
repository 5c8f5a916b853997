/**
 * How a side-by-side rollout (canary, blue-green) ends, from the record and the traffic
 * layout on the stable Deployment alone:
 *
 * - promoted (`converge`): the stable Deployment gets the new template and is waited for,
 *   the pin comes off, traffic goes back to the stable Service (the route's stable weight
 *   as it was before), the side Deployment and Service are deleted;
 * - rolled back: `locate` reads the layout and, if a promotion had started, puts the old
 *   ReplicaSet's template back into the stable Deployment before any traffic moves; the
 *   router then sends all traffic to stable in one change, confirmed; `removeNewSide`
 *   removes the side, waits for its pods, and takes the pin off.
 */
import { UserError } from '../util/errors.js';
import { autoscalerFor, replicasToKeep, type Autoscaler } from './autoscaler.js';
import { setWeights, describeRuleWeights } from './httproute-router.js';
import { hashOfRevision, markGood, markRolledBack } from './last-good.js';
import { clone, SERVICES, resource, type ResourceApi } from './resources.js';
import type { KubeRouterContext } from './router-context.js';
import { revisions, rollbackTo, selectorString, type Revision } from './rollout.js';
import {
  currentRevision,
  removeSide,
  sidePodSelector,
  unpinService,
  withoutTrack,
  type Track,
} from './rollout-sides.js';
import {
  annotateDeployment,
  DEPLOYMENT_ID_ANNOTATION,
  KEPT_ANNOTATION,
  layoutOf,
  TRAFFIC_ANNOTATION,
  type TrafficLayout,
} from './rollout-state.js';
import { closeSmokeRoute } from './smoke-route.js';
import { KubeWorkloadBase, type KubeTargetOptions } from './target-base.js';
import type { Deployment, PodTemplateSpec, Service } from './types.js';
import type { RolloutRecord } from '../delivery/types.js';

export interface SideBySideOptions extends KubeTargetOptions {
  /** The new pod template; absent when the target only finishes or undoes a recorded rollout. */
  template?: PodTemplateSpec;
  /** The Deployment as the manifests give it: applied (with the new template) to the stable Deployment at promotion. */
  stableManifest?: Deployment;
  /** HTTPRoute splitting traffic, in the same namespace. */
  route?: string;
  /** The stable Service; default the Deployment's name. */
  service?: string;
}

const historyLost = (ref: string, current: string | undefined, stable: string): UserError =>
  new UserError(
    `${ref} runs ${current ?? 'an unknown ReplicaSet'} and ReplicaSet ${stable}, which ran before the rollout, is gone from its history.`,
    'Deploy the previous image again.',
  );

export abstract class SideEndings extends KubeWorkloadBase {
  protected abstract readonly track: Track;
  /** What the engine calls the side in messages: "canary", "green side". */
  protected abstract readonly sideWord: string;
  protected layout: TrafficLayout | undefined;
  protected stable: Deployment | undefined;
  /** The stable ReplicaSet when the rollout started. */
  protected stableRevision: Revision | undefined;
  /** The HPA scaling the stable Deployment; null once known to be none. */
  private hpa: Autoscaler | null | undefined;
  /** This rollback: the router already removed the side (its traffic left with its pods). */
  private sideRemoved = false;
  /** This rollback: the router scaled stable back up, to be waited for at the end. */
  private stableScaled = false;

  constructor(protected readonly side: SideBySideOptions) {
    super(side);
  }

  protected get serviceName(): string {
    return this.side.service ?? this.name;
  }

  protected abstract get sideName(): string;

  protected get services(): ResourceApi<Service> {
    return resource(this.kube, SERVICES, this.namespace);
  }

  /** The traffic layout this workload knows (after create, adopt or locate). */
  get trafficLayout(): TrafficLayout | undefined {
    return this.layout;
  }

  /** The HPA that scales the stable Deployment, if any (read once per process). */
  async autoscaler(signal?: AbortSignal): Promise<Autoscaler | undefined> {
    if (this.hpa === undefined) {
      this.hpa =
        (await autoscalerFor(this.kube, this.namespace, this.name, {
          ...(signal ? { signal } : {}),
          onUnknown: (why) => this.log(`Autoscaling unknown: ${why}; replica counts from before the rollout are used.`),
        })) ?? null;
    }
    return this.hpa ?? undefined;
  }

  /** The stable Deployment, read fresh, with its layout. */
  protected async readStable(signal?: AbortSignal): Promise<{ d: Deployment; layout: TrafficLayout | undefined }> {
    const d = await this.deployments.get(this.name, signal);
    this.stable = d;
    const layout = layoutOf(d) ?? this.layout;
    this.layout = layout;
    return { d, layout };
  }

  /** What the routers use of this workload (router-context.ts). */
  protected endingsContext(): Pick<KubeRouterContext, 'removeSide' | 'stableScaledUp'> {
    return {
      removeSide: async (record, signal) => {
        await this.removeSideOf(record, signal);
        this.sideRemoved = true;
      },
      stableScaledUp: () => {
        this.stableScaled = true;
      },
    };
  }

  /** The stable Deployment back on the ReplicaSet that ran before, if a promotion had changed it. */
  private async stableBack(
    record: RolloutRecord,
    d: Deployment,
    layout: TrafficLayout | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!record.stable) return;
    const current = await currentRevision(this.kube, this.namespace, d, signal);
    if (current?.replicaSet === record.stable) return;
    const back = (await revisions(this.kube, this.namespace, d, signal)).find((r) => r.replicaSet === record.stable);
    if (!back) throw historyLost(this.ref(), current?.replicaSet, record.stable);
    this.log(
      `A promotion had started: putting the template of ReplicaSet ${back.replicaSet} back into ${this.ref()} before traffic moves.`,
    );
    if (current) await markRolledBack(this.kube, this.namespace, this.name, hashOfRevision(current), signal);
    await rollbackTo(this.kube, this.namespace, this.name, back, signal);
    const hpa = await this.autoscaler(signal);
    if (hpa)
      this.log(`HorizontalPodAutoscaler ${hpa.name} scales ${this.ref()}: its ${d.spec?.replicas ?? 1} replicas stay.`);
    else if (layout) await this.scale(this.name, layout.replicas, signal);
    await this.waitRollout(this.name, signal);
  }

  /**
   * The rollback's first part: the layout from the stable Deployment, and the stable
   * template back if a promotion had changed it (before any traffic moves).
   */
  async locate(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    this.sideRemoved = false;
    this.stableScaled = false;
    const { d, layout } = await this.readStable(signal);
    await this.stableBack(record, d, layout, signal);
  }

  /** Deletes the side Deployment (waiting for its pods when they shared the stable Service or its pin). */
  private async removeSideOf(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const layout = this.layout;
    const sideName = layout?.side ?? record.canary ?? this.sideName;
    const podSelector = sidePodSelector(this.stable ?? {}, this.track);
    const waited = layout?.pinned !== undefined || layout?.mode === 'replicas';
    if (
      await removeSide(this.kube, this.namespace, sideName, podSelector, {
        timeoutMs: this.options.waitTimeoutMs,
        clock: this.clock,
        waitForPods: waited,
        ...(signal ? { signal } : {}),
      })
    ) {
      this.log(`Deleted ${this.ref(sideName)}${waited ? ' and waited until its pods were gone' : ''}.`);
    }
  }

  /** The rollback's last part, once all traffic is on stable: the side gone, the pin off, the layout cleared. */
  async removeNewSide(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    if (!this.sideRemoved) await this.removeSideOf(record, signal);
    await this.finish(this.layout, signal);
    if (this.stableScaled) await this.waitRollout(this.name, signal);
  }

  /** After either ending: a smoke rule left on the route removed, the pin off, the side Service and the annotations gone. */
  protected async finish(layout: TrafficLayout | undefined, signal?: AbortSignal): Promise<void> {
    if (layout?.route) await closeSmokeRoute(this.kube, this.namespace, layout.route, undefined, this.log, signal);
    if (layout && (await unpinService(this.kube, this.namespace, layout.service, signal)))
      this.log(`Service ${layout.service} selects by its own selector again.`);
    if (layout?.sideService && (await this.services.delete(layout.sideService, { signal })))
      this.log(`Deleted Service ${layout.sideService}.`);
    await annotateDeployment(
      this.kube,
      this.namespace,
      this.name,
      { [TRAFFIC_ANNOTATION]: null, [KEPT_ANNOTATION]: null },
      signal,
    );
  }

  /** The router context this workload gives its routers (side-by-side.ts). */
  protected abstract routerContext(): KubeRouterContext;

  /**
   * Promotion: the stable Deployment gets the side's template (and, from the manifests, the
   * rest of its spec) and its replicas back, and is waited for; then traffic returns to the
   * stable Service and the side is removed. Idempotent; a no-op once the side is gone.
   */
  protected async converge(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { d, layout } = await this.readStable(signal);
    const sideName = layout?.side ?? record.canary ?? this.sideName;
    const side = await this.deployments.find(sideName, signal);
    if (!side) {
      if (layout) await this.finish(layout, signal);
      this.log(`${this.ref(sideName)} is gone already: nothing left to promote.`);
      return;
    }
    const template = withoutTrack(side.spec?.template ?? {});
    const hpa = await this.autoscaler(signal);
    const replicas = replicasToKeep({
      hpa,
      before: layout?.replicas ?? d.spec?.replicas ?? 1,
      live: d,
      sideReplicas: side.spec?.replicas ?? 1,
    });
    if (hpa)
      this.log(
        `HorizontalPodAutoscaler ${hpa.name} scales ${this.ref()}: it keeps ${replicas} replicas (the ${d.spec?.replicas ?? 1} the HPA set${(side.spec?.replicas ?? 1) > (d.spec?.replicas ?? 1) ? `, raised to the ${side.spec?.replicas} of ${sideName}, which served until now` : ''}), not the ${layout?.replicas ?? '?'} from before the rollout${this.side.stableManifest?.spec?.replicas !== undefined ? ` nor the manifest's ${this.side.stableManifest.spec.replicas}` : ''}; the HPA goes on scaling it.`,
      );
    const manifest = this.side.stableManifest;
    if (manifest) {
      const desired = clone(manifest);
      desired.spec = {
        ...(desired.spec as NonNullable<Deployment['spec']>),
        template,
        replicas: hpa ? replicas : (desired.spec?.replicas ?? replicas),
      };
      desired.metadata = {
        ...desired.metadata,
        annotations: { ...(desired.metadata?.annotations ?? {}), [DEPLOYMENT_ID_ANNOTATION]: record.id },
      };
      await this.deployments.apply(desired, { signal });
    } else {
      await this.deployments.update(
        this.name,
        (live) => {
          live.spec = { ...(live.spec as NonNullable<Deployment['spec']>), template: clone(template), replicas };
          live.metadata = {
            ...live.metadata,
            annotations: { ...(live.metadata?.annotations ?? {}), [DEPLOYMENT_ID_ANNOTATION]: record.id },
          };
          return live;
        },
        { signal },
      );
    }
    this.log(`${this.ref()} takes the new pod template; waiting until all ${replicas} replicas run it.`);
    await this.waitRollout(this.name, signal);
    if (layout && (await unpinService(this.kube, this.namespace, layout.service, signal)))
      this.log(
        `Service ${layout.service} selects by its own selector again (the new stable pods and the ${this.sideWord}'s, the same version).`,
      );
    if (layout?.route) {
      const rules = await setWeights(
        this.routerContext(),
        { [layout.service]: layout.stableWeight || 100, ...(layout.sideService ? { [layout.sideService]: null } : {}) },
        signal,
      );
      this.log(`HTTPRoute ${layout.route}: ${describeRuleWeights(rules)} (confirmed).`);
    }
    await removeSide(this.kube, this.namespace, sideName, selectorString(side.spec?.selector), {
      timeoutMs: this.options.waitTimeoutMs,
      clock: this.clock,
      ...(signal ? { signal } : {}),
    });
    this.log(`Deleted ${this.ref(sideName)}.`);
    await this.finish(layout, signal);
    const good = await markGood(this.kube, this.namespace, this.name, signal);
    if (good)
      this.log(
        `${this.ref()}: template ${good} completed a rollout (the rollback action's \`to: previous\` can return to it).`,
      );
  }
}
