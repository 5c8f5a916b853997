/**
 * The canary engine: `<name>-canary` beside the stable Deployment, with the new pod
 * template.
 *
 * - With an HTTPRoute: the canary gets its own Service (`<service>-canary`), the stable
 *   Service is pinned to the stable pods, and each step sets the weights of our two
 *   backendRefs (nothing else in the route changes), read back until every Gateway
 *   accepted them; the bake starts only then. Before each step the canary is scaled to its
 *   share of the stable replicas and waited for.
 * - Without one: stable and canary pods share the stable Service, and each step sets the
 *   pod counts whose ratio is closest to the weight (replica-split.ts); the weight is then
 *   only approximate, and the log says so.
 *
 * Promotion and rollback are side-by-side.ts's.
 */
import type { Subjects } from '../analysis/types.js';
import type { RolloutRecord, Sides, Target, Traffic } from '../delivery/types.js';
import { canaryReplicasFor, replicaSplit } from './replica-split.js';
import { unpinService } from './rollout-sides.js';
import { describeRuleWeights, SideBySideTarget, type SideBySideOptions } from './side-by-side.js';
import { DEPLOYMENT_ID_ANNOTATION, type TrafficLayout } from './rollout-state.js';
import type { PodTemplateSpec } from './types.js';
import { UserError } from '../util/errors.js';

export const CANARY_ENGINE = 'gke-canary';

export class KubeCanaryTarget extends SideBySideTarget implements Target {
  readonly engine = CANARY_ENGINE;
  readonly description: string;
  protected readonly track = 'canary' as const;
  protected readonly sideWord = 'canary';

  constructor(options: SideBySideOptions) {
    super(options);
    this.description = options.route
      ? `Deployment ${options.namespace}/${options.deployment} with a canary behind HTTPRoute ${options.route}`
      : `Deployment ${options.namespace}/${options.deployment} with a canary sharing Service ${options.service ?? options.deployment} (replica ratio)`;
  }

  protected get sideName(): string {
    return `${this.name}-canary`;
  }

  protected get sideServiceName(): string {
    return `${this.serviceName}-canary`;
  }

  protected get mode(): TrafficLayout['mode'] {
    return this.layout?.mode ?? (this.side.route ? 'route' : 'replicas');
  }

  protected initialReplicas(): number {
    return 1;
  }

  override async preflight(signal?: AbortSignal): Promise<void> {
    await super.preflight(signal);
    if (!this.side.route) {
      this.log(
        `No http-route: the canary's pods join Service ${this.serviceName} beside the stable ones and traffic follows the ratio of pods, so each weight is approximate (the nearest ratio of whole pods).`,
      );
    }
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    return this.createSide(deploymentId, signal);
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    await this.waitRollout(this.sideName, signal);
  }

  async shift(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const layout = this.layout;
    if (!layout) throw new Error('shift before create');
    if (layout.mode === 'route') {
      // The stable's count now (an HPA may have scaled it up since the rollout began), never below the count before.
      const stableNow = (await this.deployments.get(this.name, signal)).spec?.replicas ?? layout.replicas;
      const replicas = canaryReplicasFor(Math.max(layout.replicas, stableNow), weight);
      if (await this.scale(this.sideName, replicas, signal)) {
        this.log(
          `Scaling ${this.ref(this.sideName)} to ${replicas} replica${replicas === 1 ? '' : 's'} for ${weight}% of the traffic.`,
        );
        await this.waitRollout(this.sideName, signal);
      }
      const rules = await this.setWeights(
        { [layout.service]: 100 - weight, [layout.sideService as string]: weight },
        signal,
      );
      const w = rules[0]?.weights ?? {};
      const canary = w[layout.sideService as string] ?? 0;
      const stable = w[layout.service] ?? 0;
      const share = canary + stable > 0 ? Math.round((100 * canary) / (canary + stable)) : 0;
      return {
        canary: share,
        stable: 100 - share,
        detail: `HTTPRoute ${layout.route}: ${describeRuleWeights(rules)}, accepted by its Gateways`,
      };
    }
    // Replica ratio: canary up first (and ready), then stable down, so capacity never drops.
    const split = replicaSplit(layout.replicas, weight);
    await this.scale(this.sideName, split.canary, signal);
    await this.waitReplicas(this.sideName, signal);
    await this.scale(this.name, split.stable, signal);
    await this.waitReplicas(this.name, signal);
    if (await unpinService(this.kube, this.namespace, layout.service, signal))
      this.log(`Service ${layout.service} now selects the canary's pods beside the stable ones.`);
    const [canary, stable] = await Promise.all([
      this.deployments.get(this.sideName, signal),
      this.deployments.get(this.name, signal),
    ]);
    const c = canary.status?.availableReplicas ?? 0;
    const s = stable.status?.availableReplicas ?? 0;
    const share = c + s > 0 ? Math.round((100 * c) / (c + s)) : 0;
    return {
      canary: share,
      stable: 100 - share,
      detail: `replica ratio behind Service ${layout.service}: ${c} canary pod${c === 1 ? '' : 's'}, ${s} stable; approximate without an http-route${share !== weight ? ` (${weight}% asked for)` : ''}`,
    };
  }

  subjects(): Subjects {
    return { canary: this.labels('canary'), baseline: this.labels('stable') };
  }

  /**
   * Resume: the paused canary from the stable Deployment's traffic layout and the canary
   * Deployment the record names (made by this rollout), in a fresh process. Changes nothing.
   */
  async adopt(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const { layout } = await this.readStable(signal);
    const side = layout ? await this.deployments.find(layout.side ?? this.sideName, signal) : undefined;
    const owner = side?.metadata?.annotations?.[DEPLOYMENT_ID_ANNOTATION];
    if (!layout || !side || owner !== record.id || (record.canary && record.canary !== side.metadata?.name)) {
      throw new UserError(
        `The paused rollout ${record.id} of ${this.ref()} ${!layout ? 'left no traffic layout on it' : !side ? `names ${this.ref(layout.side ?? this.sideName)}, which no longer exists` : `does not match ${this.ref(side.metadata?.name)} (made by rollout ${owner ?? 'unknown'})`}. Nothing was changed.`,
        'Run the rollback action to return all traffic to the stable Deployment and clear the record, then deploy again.',
      );
    }
    if ((this.side.route ?? undefined) !== layout.route) {
      throw new UserError(
        `The paused rollout ${record.id} splits traffic ${layout.route ? `with HTTPRoute ${layout.route}` : 'by replica ratio'}, but this job was given ${this.side.route ? `http-route ${this.side.route}` : 'no http-route'}. Nothing was changed.`,
        'Give the same http-route (and service) as the deploy that paused it.',
      );
    }
    this.layout = layout;
  }

  /** The paused canary's pod template (resume compares its images with the ones given). */
  async canaryTemplate(signal?: AbortSignal): Promise<PodTemplateSpec | undefined> {
    return (await this.deployments.find(this.layout?.side ?? this.sideName, signal))?.spec?.template;
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    await this.converge(record, signal);
  }

  describePromotion(record: RolloutRecord): string {
    return `Promoted: ${this.ref()} runs the new template and takes all traffic; ${record.canary} removed.`;
  }

  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    let scaledUp = false;
    await this.restore(
      record,
      async (layout) => {
        this.layout ??= layout;
        if (layout.mode === 'route') {
          const rules = await this.setWeights(
            { [layout.service]: layout.stableWeight || 100, [layout.sideService ?? `${layout.service}-canary`]: null },
            signal,
          );
          this.log(`HTTPRoute ${layout.route}: ${describeRuleWeights(rules)} (confirmed).`);
        } else {
          // Stable back to its replicas (an HPA's count, if one scaled it higher); the canary's pods go next, and with them its traffic.
          const hpa = await this.autoscaler(signal);
          const live = await this.deployments.get(this.name, signal);
          scaledUp = await this.scale(
            this.name,
            hpa ? Math.max(layout.replicas, live.spec?.replicas ?? 1) : layout.replicas,
            signal,
          );
        }
      },
      signal,
      onRestored,
    );
    if (scaledUp) await this.waitRollout(this.name, signal);
  }
}
