/**
 * What the canary and blue-green workloads share: a second Deployment beside the stable one
 * (`<name>-canary` / `<name>-green`) with the new pod template, its own Service for the
 * route or the preview, the stable Service pinned to the stable pods while the two run side
 * by side, and the layout annotation that lets a fresh process undo it all (side-endings.ts
 * has how it ends). Where traffic goes is the router's: the one its layout's mode names in
 * the Kubernetes registry (routers.ts), built here with what this workload knows.
 */
import type { SubjectLabels } from '../analysis/types.js';
import type { Observation } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { readWeights } from './http-route.js';
import { setWeights } from './httproute-router.js';
import { LayoutRouter } from './layout-router.js';
import { HTTPROUTES, resource, type ResourceApi } from './resources.js';
import type { KubeRouterContext } from './router-context.js';
import {
  assertSelects,
  assertSettled,
  currentRevision,
  hashOf,
  pinService,
  sideDeployment,
  sideService,
  type Track,
} from './rollout-sides.js';
import {
  annotateDeployment,
  DEPLOYMENT_ID_ANNOTATION,
  encodeLayout,
  OWNER_LABEL,
  TRAFFIC_ANNOTATION,
  type TrafficLayout,
} from './rollout-state.js';
import { SideEndings } from './side-endings.js';
import type { HTTPRoute } from './types.js';

export type { SideBySideOptions } from './side-endings.js';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Where smoke checks and synthetic load reach the new side alone. */
export interface SmokeBackend {
  service: string;
  route?: string;
  port?: number;
  serviceUrl: string;
}

/** What gke-deploy's smoke checks and load need of a canary or blue-green target. */
export interface SideBySideTarget {
  smokeBackend(signal?: AbortSignal): Promise<SmokeBackend | undefined>;
}

export abstract class SideBySideWorkload extends SideEndings {
  protected abstract get sideServiceName(): string;
  /** The traffic mode this run uses (preflight). */
  protected abstract get mode(): TrafficLayout['mode'];
  /** Replicas the side starts with. */
  protected abstract initialReplicas(stableReplicas: number): number;
  /** The workload's part before a weight is set (router-context.ts `beforeWeight`). */
  protected beforeWeight?(weight: number, layout: TrafficLayout, signal?: AbortSignal): Promise<void>;
  private context: KubeRouterContext | undefined;

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
        await setWeights(
          this.routerContext(),
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
   * Whether the side Deployment has an available pod to take traffic (the router reads the
   * weights). Changes nothing; nothing to tell before the layout is known.
   */
  async readiness(signal?: AbortSignal): Promise<Omit<Observation, 'traffic'>> {
    if (!this.layout) return {};
    const d = await this.deployments.find(this.sideName, signal);
    const available = d?.status?.availableReplicas ?? 0;
    const ready = !!d && available > 0;
    return {
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

  protected labels(track: 'stable' | Track): SubjectLabels {
    const isStable = track === 'stable';
    const service = isStable ? this.serviceName : this.mode === 'replicas' ? this.serviceName : this.sideServiceName;
    return { namespace: this.namespace, deployment: isStable ? this.name : this.sideName, service, track };
  }

  /**
   * Where smoke checks reach the new side alone, once it is created: its Service (and the
   * port the route's stable backendRef uses), and the route when there is one. Undefined
   * for a replica-ratio canary, whose pods share the stable Service.
   */
  async smokeBackend(signal?: AbortSignal): Promise<SmokeBackend | undefined> {
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

  /** What this workload's routers are built from (router-context.ts); one per workload. */
  protected routerContext(): KubeRouterContext {
    this.context ??= {
      kube: this.kube,
      namespace: this.namespace,
      deployment: this.name,
      clock: this.clock,
      log: this.log,
      ...(this.options.confirmTimeoutMs !== undefined ? { confirmTimeoutMs: this.options.confirmTimeoutMs } : {}),
      layout: () => this.layout,
      route: () => this.side.route ?? this.layout?.route,
      sideName: () => this.sideName,
      sideServiceOf: (layout) => this.sideServiceOf(layout),
      ...(this.beforeWeight
        ? { beforeWeight: (weight, layout, signal) => this.beforeWeight!(weight, layout, signal) }
        : {}),
      ops: this,
      ...this.endingsContext(),
    };
    return this.context;
  }

  /** The side's Service a layout does not name (`<service>-canary`, `<service>-preview`). */
  protected abstract sideServiceOf(layout: TrafficLayout): string;

  /** The router of this rollout's traffic mode, by name from the Kubernetes registry. */
  router(): LayoutRouter {
    return new LayoutRouter(this.routerContext(), () => this.mode);
  }

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    return this.diagnoseDeployment(this.sideName, signal);
  }
}
