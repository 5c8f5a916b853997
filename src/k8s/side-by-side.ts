/**
 * What the canary and blue-green engines share: a second Deployment beside the stable one
 * (`<name>-canary` / `<name>-green`) with the new pod template, its own Service for the
 * route or the preview, the stable Service pinned to the stable pods while the two run side
 * by side, the layout annotation that lets a fresh process undo it all, and the two ways
 * it ends:
 *
 * - promoted (`converge`): the stable Deployment gets the new template and is waited for,
 *   the pin comes off, traffic goes back to the stable Service (the route's stable weight
 *   as it was before), the side Deployment and Service are deleted;
 * - rolled back (`restore`): first, if a promotion had started, the stable Deployment gets
 *   its old ReplicaSet's template back; then all traffic to stable in one change, confirmed;
 *   then the side removed, its pods waited for, and the pin taken off.
 */
import type { SubjectLabels } from '../analysis/types.js';
import type { Observation, RolloutRecord, Traffic } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { autoscalerFor, replicasToKeep, type Autoscaler } from './autoscaler.js';
import { readWeights, setRouteWeights, type RuleWeights } from './http-route.js';
import { hashOfRevision, markGood, markRolledBack } from './last-good.js';
import { clone, HTTPROUTES, resource, SERVICES, type ResourceApi } from './resources.js';
import { revisions, rollbackTo, selectorString, type Revision } from './rollout.js';
import {
  assertSelects,
  assertSettled,
  currentRevision,
  hashOf,
  pinService,
  removeSide,
  sideDeployment,
  sidePodSelector,
  sideService,
  unpinService,
  withoutTrack,
  type Track,
} from './rollout-sides.js';
import {
  annotateDeployment,
  DEPLOYMENT_ID_ANNOTATION,
  encodeLayout,
  KEPT_ANNOTATION,
  layoutOf,
  OWNER_LABEL,
  TRAFFIC_ANNOTATION,
  type TrafficLayout,
} from './rollout-state.js';
import { closeSmokeRoute } from './smoke-route.js';
import { KubeTarget, type KubeTargetOptions } from './target-base.js';
import type { Deployment, HTTPRoute, PodTemplateSpec, Service } from './types.js';

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

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** "web 90, web-canary 10 (and 5 to other backends)" */
export function describeRuleWeights(rules: RuleWeights[]): string {
  const first = rules[0];
  if (!first) return 'no rule routes to our Services';
  const ours = Object.entries(first.weights)
    .map(([s, w]) => `${s} ${w}`)
    .join(', ');
  return `${ours}${first.others ? ` (and ${first.others} to other backends)` : ''}${rules.length > 1 ? ` in each of ${rules.length} rules` : ''}`;
}

export abstract class SideBySideTarget extends KubeTarget {
  protected abstract readonly track: Track;
  /** What the engine calls the side in messages: "canary", "green". */
  protected abstract readonly sideWord: string;
  protected layout: TrafficLayout | undefined;
  protected stable: Deployment | undefined;
  /** The stable ReplicaSet when the rollout started. */
  protected stableRevision: Revision | undefined;
  /** The HPA scaling the stable Deployment; null once known to be none. */
  private hpa: Autoscaler | null | undefined;

  constructor(protected readonly side: SideBySideOptions) {
    super(side);
  }

  protected get serviceName(): string {
    return this.side.service ?? this.name;
  }

  protected abstract get sideName(): string;
  protected abstract get sideServiceName(): string;
  /** The traffic mode this run uses (preflight). */
  protected abstract get mode(): TrafficLayout['mode'];
  /** Replicas the side starts with. */
  protected abstract initialReplicas(stableReplicas: number): number;

  protected get services(): ResourceApi<Service> {
    return resource(this.kube, SERVICES, this.namespace);
  }

  protected get routes(): ResourceApi<HTTPRoute> {
    return resource(this.kube, HTTPROUTES, this.namespace);
  }

  /** Checks the stable side, the Service and the route; nothing is changed. */
  async preflight(signal?: AbortSignal): Promise<void> {
    const d = await this.deployments.get(this.name, signal);
    const template = this.side.template;
    if (template) {
      const labels = template.metadata?.labels ?? {};
      const missing = Object.entries(d.spec?.selector?.matchLabels ?? {}).filter(([k, v]) => labels[k] !== v);
      if (missing.length) {
        throw new UserError(
          `The new pod template lacks labels the selector of ${this.ref()} needs: ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}.`,
          "A Deployment's selector cannot change; keep those labels on the pod template.",
        );
      }
    }
    const needsService = this.mode !== 'replicas' || this.side.service !== undefined;
    const svc = await this.services.find(this.serviceName, signal);
    if (!svc && needsService) {
      throw new UserError(
        `Service ${this.namespace}/${this.serviceName} does not exist; the ${this.sideWord} rollout needs the Service in front of ${this.ref()}.`,
        'Give service: the Service the HTTPRoute (or the clients) send the traffic to, or pass manifests that create it.',
      );
    }
    if (!svc) {
      this.log(
        `There is no Service ${this.serviceName}: the canary's pods take traffic from whatever selects the stable pods' labels as soon as they are ready.`,
      );
    } else {
      assertSelects(svc, template ?? d.spec?.template ?? {}, `${this.ref()}'s new pod template`);
    }
    if (this.mode !== 'replicas') {
      if (!DNS_LABEL.test(this.sideServiceName)) {
        throw new UserError(
          `The ${this.sideWord} Service would be named ${this.sideServiceName}, which is not a valid Service name (at most 63 lowercase letters, digits and hyphens).`,
          'Give service: a shorter Service name.',
        );
      }
      const foreign = await this.services.find(this.sideServiceName, signal);
      if (foreign && foreign.metadata?.labels?.[OWNER_LABEL] !== this.name) {
        throw new UserError(
          `Service ${this.namespace}/${this.sideServiceName} exists and was not made by platform-actions for ${this.ref()}.`,
          'Rename or delete it, or give service: another name.',
        );
      }
    }
    if (this.side.route) {
      const route = await this.routes.get(this.side.route, signal);
      const rules = readWeights(route, [this.serviceName]);
      if (rules.length === 0) {
        throw new UserError(
          `HTTPRoute ${this.namespace}/${this.side.route} has no rule with a backendRef to Service ${this.serviceName}.`,
          `Point a rule of the route at Service ${this.serviceName}, or give service: the Service its rules route to.`,
        );
      }
      const mixed = rules.filter((r) => r.others > 0);
      if (mixed.length)
        this.log(
          `HTTPRoute ${this.side.route}: ${mixed.length} rule(s) also route to other backends; their weights are left as they are, ours share 100 beside them during the rollout.`,
        );
    }
    const hpa = await this.autoscaler(signal);
    if (hpa && this.mode === 'replicas' && template) {
      throw new UserError(
        `HorizontalPodAutoscaler ${hpa.name} scales ${this.ref()}, and a canary without an http-route splits traffic by setting ${this.name}'s replica count, which the HPA would keep undoing.`,
        `Give http-route (an HTTPRoute splits traffic by weight and leaves ${this.name}'s replicas to the HPA), or deploy with strategy blue-green or rolling.`,
      );
    }
    if (hpa)
      this.log(
        `HorizontalPodAutoscaler ${hpa.name} scales ${this.ref()} (${hpa.minReplicas}–${hpa.maxReplicas} replicas): promotion and rollback keep the count it sets.`,
      );
    this.stable = d;
  }

  /** The HPA that scales the stable Deployment, if any (read once per process). */
  protected async autoscaler(signal?: AbortSignal): Promise<Autoscaler | undefined> {
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

  /**
   * Writes the layout, pins the stable Service, creates the side Service and Deployment.
   * Called by `create`; the side has no production traffic afterwards.
   */
  protected async createSide(deploymentId: string, signal?: AbortSignal): Promise<{ stable: string; canary: string }> {
    const template = this.side.template;
    if (!template) throw new Error(`${this.constructor.name}.create needs a pod template`);
    const d = await this.deployments.get(this.name, signal);
    assertSettled(d, this.namespace);
    const current = await currentRevision(this.kube, this.namespace, d, signal);
    if (!current)
      throw new UserError(
        `${this.ref()} has no ReplicaSet for its current revision yet.`,
        'Wait until its controller has caught up, then deploy again.',
      );
    this.stableRevision = current;
    const existing = await this.deployments.find(this.sideName, signal);
    if (existing && existing.metadata?.annotations?.[DEPLOYMENT_ID_ANNOTATION] !== deploymentId) {
      throw new UserError(
        `${this.ref(this.sideName)} exists already (${existing.metadata?.labels?.[OWNER_LABEL] === this.name ? `left by rollout ${existing.metadata?.annotations?.[DEPLOYMENT_ID_ANNOTATION] ?? 'unknown'}, which has no record` : 'not made by platform-actions'}).`,
        existing.metadata?.labels?.[OWNER_LABEL] === this.name
          ? `Run the rollback action for ${this.name}, or delete ${this.sideName}, then deploy again.`
          : `Rename it; platform-actions needs the name ${this.sideName} for the ${this.sideWord}.`,
      );
    }
    const replicas = d.spec?.replicas ?? 1;
    let stableWeight: number | undefined;
    // The stable Service (always, but for a replica-ratio canary that has none): pinned below.
    const svc = await this.services.find(this.serviceName, signal);
    if (this.side.route) {
      const rules = readWeights(await this.routes.get(this.side.route, signal), [
        this.serviceName,
        this.sideServiceName,
      ]);
      stableWeight = rules[0]?.weights[this.serviceName] ?? 1;
      if ((rules[0]?.weights[this.sideServiceName] ?? 0) > 0 && !existing) {
        this.log(
          `HTTPRoute ${this.side.route} sends traffic to ${this.sideServiceName} though no rollout runs: putting it all on ${this.serviceName} first.`,
        );
        await this.setWeights(
          { [this.serviceName]: stableWeight === 0 ? 100 : stableWeight, [this.sideServiceName]: null },
          signal,
        );
        stableWeight = stableWeight === 0 ? 100 : stableWeight;
      }
    }
    const layout: TrafficLayout = {
      v: 1,
      mode: this.mode,
      service: this.serviceName,
      ...(this.side.route ? { route: this.side.route, stableWeight } : {}),
      replicas,
      ...(svc ? { pinned: hashOf(current) } : {}),
      side: this.sideName,
      ...(this.mode !== 'replicas' ? { sideService: this.sideServiceName } : {}),
    };
    this.layout = layout;
    // Before any change: what the undo needs.
    await annotateDeployment(
      this.kube,
      this.namespace,
      this.name,
      { [TRAFFIC_ANNOTATION]: encodeLayout(layout) },
      signal,
    );
    if (svc && (await pinService(this.kube, this.namespace, this.serviceName, hashOf(current), signal))) {
      this.log(
        `Service ${this.serviceName} now selects only the stable pods (${hashOf(current)}, ReplicaSet ${current.replicaSet}) while the ${this.sideWord} runs beside them.`,
      );
    }
    if (layout.sideService && svc && !(await this.services.find(layout.sideService, signal))) {
      await this.services.create(
        sideService(svc, { name: layout.sideService, track: this.track, owner: this.name, deploymentId }),
        { signal },
      );
      this.log(`Created Service ${layout.sideService} for the ${this.sideWord}'s pods.`);
    }
    if (!existing) {
      const initial = this.initialReplicas(replicas);
      await this.deployments.create(
        sideDeployment(d, { name: this.sideName, track: this.track, template, replicas: initial, deploymentId }),
        { signal },
      );
      this.log(
        `Created ${this.ref(this.sideName)} with the new pod template (${initial} replica${initial === 1 ? '' : 's'}).`,
      );
    }
    return { stable: current.replicaSet, canary: this.sideName };
  }

  /**
   * The route's weights now (route mode; the other modes move traffic with pods and
   * selectors, which the engine does not compare) and whether the side Deployment has an
   * available pod to take traffic. Changes nothing.
   */
  async observe(signal?: AbortSignal): Promise<Observation> {
    const layout = this.layout;
    if (!layout) return {};
    let traffic: Traffic | undefined;
    if (layout.mode === 'route' && layout.route && layout.sideService) {
      const rules = readWeights(await this.routes.get(layout.route, signal), [layout.service, layout.sideService]);
      const w = rules[0]?.weights ?? {};
      const side = w[layout.sideService] ?? 0;
      const stable = w[layout.service] ?? 0;
      const share = side + stable > 0 ? Math.round((100 * side) / (side + stable)) : 0;
      traffic = {
        canary: share,
        stable: 100 - share,
        detail: `HTTPRoute ${layout.route}: ${describeRuleWeights(rules)}`,
      };
    }
    const d = await this.deployments.find(this.sideName, signal);
    const available = d?.status?.availableReplicas ?? 0;
    const ready = !!d && available > 0;
    return {
      ...(traffic ? { traffic } : {}),
      canaryReady: ready,
      ...(ready
        ? {}
        : {
            reason: d
              ? `${this.ref(this.sideName)} has no available pod`
              : `${this.ref(this.sideName)} no longer exists (someone else deleted it?)`,
          }),
    };
  }

  /** Sets our backendRefs' weights on the route and reads them back until the Gateways took them. */
  protected async setWeights(weights: Record<string, number | null>, signal?: AbortSignal): Promise<RuleWeights[]> {
    const route = this.side.route ?? this.layout?.route;
    if (!route) throw new Error('setWeights without a route');
    const result = await setRouteWeights(this.kube, this.namespace, route, weights, {
      timeoutMs: this.options.confirmTimeoutMs ?? 120_000,
      clock: this.clock,
      ...(signal ? { signal } : {}),
    });
    return result.weights;
  }

  protected async scale(name: string, replicas: number, signal?: AbortSignal): Promise<boolean> {
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

  protected labels(track: 'stable' | Track): SubjectLabels {
    const isStable = track === 'stable';
    const service = isStable ? this.serviceName : this.mode === 'replicas' ? this.serviceName : this.sideServiceName;
    return { namespace: this.namespace, deployment: isStable ? this.name : this.sideName, service, track };
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
    if (!back) {
      throw new UserError(
        `${this.ref()} runs ${current?.replicaSet ?? 'an unknown ReplicaSet'} and ReplicaSet ${record.stable}, which ran before the rollout, is gone from its history.`,
        'Deploy the previous image again.',
      );
    }
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
   * Rolls back from the record and the layout alone: stable template back if a promotion
   * had changed it, all traffic to stable in one change (`toStable`), then the side gone.
   */
  protected async restore(
    record: RolloutRecord,
    toStable: (layout: TrafficLayout, d: Deployment) => Promise<void>,
    signal?: AbortSignal,
    onRestored?: () => void,
  ): Promise<void> {
    const { d, layout } = await this.readStable(signal);
    const sideName = layout?.side ?? record.canary ?? this.sideName;
    await this.stableBack(record, d, layout, signal);
    if (layout) {
      await toStable(layout, d);
    }
    const podSelector = sidePodSelector(d, this.track);
    const pinned = layout?.pinned !== undefined;
    if (!layout || layout.mode !== 'replicas') onRestored?.();
    if (
      await removeSide(this.kube, this.namespace, sideName, podSelector, {
        timeoutMs: this.options.waitTimeoutMs,
        clock: this.clock,
        waitForPods: pinned || layout?.mode === 'replicas',
        ...(signal ? { signal } : {}),
      })
    ) {
      this.log(
        `Deleted ${this.ref(sideName)}${pinned || layout?.mode === 'replicas' ? ' and waited until its pods were gone' : ''}.`,
      );
    }
    if (layout?.mode === 'replicas') onRestored?.();
    await this.finish(layout, signal);
  }

  /**
   * Where smoke checks reach the new side alone, once it is created: its Service (and the
   * port the route's stable backendRef uses), and the route when there is one. Undefined
   * for a replica-ratio canary, whose pods share the stable Service.
   */
  async smokeBackend(
    signal?: AbortSignal,
  ): Promise<{ service: string; route?: string; port?: number; serviceUrl: string } | undefined> {
    const layout = this.layout;
    if (!layout?.sideService) return undefined;
    const svc = await this.services.get(layout.sideService, signal);
    let port = svc.spec?.ports?.[0]?.port;
    if (layout.route) {
      const route = await this.routes.get(layout.route, signal);
      const ref = (route.spec?.rules ?? [])
        .flatMap((r) => r.backendRefs ?? [])
        .find((b) => b.name === layout.service && (b.kind ?? 'Service') === 'Service');
      port = ref?.port ?? port;
    }
    const serviceUrl = `http://${layout.sideService}.${this.namespace}.svc.cluster.local${port && port !== 80 ? `:${port}` : ''}`;
    return {
      service: layout.sideService,
      ...(layout.route ? { route: layout.route } : {}),
      ...(port !== undefined ? { port } : {}),
      serviceUrl,
    };
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
      const rules = await this.setWeights(
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

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    return this.diagnoseDeployment(this.sideName, signal);
  }
}
