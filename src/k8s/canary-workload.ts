/**
 * The canary workload: `<name>-canary` beside the stable Deployment, with the new pod
 * template, started at one replica.
 *
 * - With an HTTPRoute (router `http-route`): the canary gets its own Service
 *   (`<service>-canary`), the stable Service is pinned to the stable pods, and before each
 *   step the canary is scaled to its share of the stable replicas and waited for; the
 *   router then sets the weights of our two backendRefs.
 * - Without one (router `replica-ratio`): stable and canary pods share the stable Service
 *   and the router sets the pod counts whose ratio is closest to the weight.
 *
 * Promotion and rollback are side-endings.ts's; canary-target.ts composes the target.
 */
import type { Subjects } from '../analysis/types.js';
import type { Workload } from '../delivery/workload.js';
import type { RolloutRecord, Sides } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { canaryReplicasFor } from './replica-split.js';
import { DEPLOYMENT_ID_ANNOTATION, type TrafficLayout } from './rollout-state.js';
import { SideBySideWorkload, type SideBySideOptions } from './side-by-side.js';
import type { PodTemplateSpec } from './types.js';

export const CANARY_ENGINE = 'gke-canary';

const pausedElsewhere = (id: string, ref: string, why: string): UserError =>
  new UserError(
    `The paused rollout ${id} of ${ref} ${why}. Nothing was changed.`,
    'Run the rollback action to return all traffic to the stable Deployment and clear the record, then deploy again.',
  );

const otherRoute = (id: string, recorded: string | undefined, given: string | undefined): UserError =>
  new UserError(
    `The paused rollout ${id} splits traffic ${recorded ? `with HTTPRoute ${recorded}` : 'by replica ratio'}, but this job was given ${given ? `http-route ${given}` : 'no http-route'}. Nothing was changed.`,
    'Give the same http-route (and service) as the deploy that paused it.',
  );

export class CanaryWorkload extends SideBySideWorkload implements Workload {
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

  protected sideServiceOf(layout: TrafficLayout): string {
    return `${layout.service}-canary`;
  }

  /** Behind a route: the canary scaled to its share first (the stable's count now, never below the count before). */
  protected override async beforeWeight(weight: number, layout: TrafficLayout, signal?: AbortSignal): Promise<void> {
    if (layout.mode !== 'route') return;
    const stableNow = (await this.deployments.get(this.name, signal)).spec?.replicas ?? layout.replicas;
    const replicas = canaryReplicasFor(Math.max(layout.replicas, stableNow), weight);
    if (await this.scale(this.sideName, replicas, signal)) {
      this.log(
        `Scaling ${this.ref(this.sideName)} to ${replicas} replica${replicas === 1 ? '' : 's'} for ${weight}% of the traffic.`,
      );
      await this.waitRollout(this.sideName, signal);
    }
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
      const why = !layout
        ? 'left no traffic layout on it'
        : !side
          ? `names ${this.ref(layout.side ?? this.sideName)}, which no longer exists`
          : `does not match ${this.ref(side.metadata?.name)} (made by rollout ${owner ?? 'unknown'})`;
      throw pausedElsewhere(record.id, this.ref(), why);
    }
    if ((this.side.route ?? undefined) !== layout.route) {
      throw otherRoute(record.id, layout.route, this.side.route);
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
}
