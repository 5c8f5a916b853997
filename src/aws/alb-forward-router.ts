/**
 * The `alb-forward` traffic router: the weighted forward action of one ALB listener or
 * listener rule between two target groups. Every change is one ModifyListener /
 * ModifyRule (other actions kept) and is read back until it shows exactly the weights
 * asked for. Which target group is stable comes from the workload (the primary task set's,
 * or the recorded stable side's on a rollback).
 */
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TrafficRouter } from '../delivery/router.js';
import type { RolloutRecord, Traffic } from '../delivery/types.js';
import type { Clock } from '../util/clock.js';
import { poll } from '../util/poll.js';
import {
  describeRoute,
  describeWeights,
  percentages,
  readForward,
  setForwardWeights,
  targetGroupName,
  type TrafficRoute,
} from './elbv2.js';

/** The route and its two target groups: blue holds the stable side at the start of the rollout. */
export interface AlbLayout {
  route: TrafficRoute;
  blue: string;
  green: string;
}

/** Which target group gets the rest (`stable`) and which gets the weight (`other`). */
export interface AlbToward {
  stable: string;
  other: string;
}

export interface AlbForwardContext {
  elbv2: ElasticLoadBalancingV2Client;
  clock: Clock;
  /** The route and target groups, once the workload resolved them (after preflight or locate). */
  layout(): AlbLayout | undefined;
  /** For a rollback: the recorded stable side's target group and the other one (after locate). */
  restoreToward(record: RolloutRecord): AlbToward;
  /** Longest wait for a weight to read back as set. Default 60 s. */
  confirmTimeoutMs?: number;
}

export const ALB_FORWARD = 'alb-forward';

export class AlbForwardRouter implements TrafficRouter {
  readonly kind = ALB_FORWARD;
  readonly drivesTraffic = true;

  constructor(private readonly context: AlbForwardContext) {}

  private get layout(): AlbLayout {
    const l = this.context.layout();
    if (!l) throw new Error('the ALB route is not known yet (preflight first)');
    return l;
  }

  setWeight(weight: number, signal?: AbortSignal): Promise<Traffic> {
    return this.setWeights(weight, signal);
  }

  async readWeight(signal?: AbortSignal): Promise<Traffic | undefined> {
    const l = this.context.layout();
    if (!l) return undefined;
    const read = await readForward(this.context.elbv2, l.route, signal);
    const p = percentages(read.weights);
    return {
      canary: p.get(l.green) ?? 0,
      stable: p.get(l.blue) ?? 0,
      detail: `${describeRoute(l.route)}: ${describeWeights(read.weights)}`,
    };
  }

  async restoreStable(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    // One call: every request goes to stable.
    await this.setWeights(0, signal, this.context.restoreToward(record));
  }

  /** One ModifyListener / ModifyRule call: `canaryWeight`% to green (or `toward.other`), the rest to blue; then read back until confirmed. */
  async setWeights(canaryWeight: number, signal?: AbortSignal, toward?: AlbToward): Promise<Traffic> {
    const l = this.layout;
    const { elbv2, clock } = this.context;
    const stableTg = toward?.stable ?? l.blue;
    const otherTg = toward?.other ?? l.green;
    const current = await readForward(elbv2, l.route, signal);
    const now = percentages(current.weights);
    if (current.weights.size === 2 && now.get(otherTg) === canaryWeight && now.get(stableTg) === 100 - canaryWeight) {
      // Already there (an interrupted promotion or rollback being finished): no change to make.
      return {
        canary: canaryWeight,
        stable: 100 - canaryWeight,
        detail: `${describeRoute(l.route)}: ${describeWeights(current.weights)}`,
      };
    }
    // Keep the order the listener shows the target groups in, so the change reads as a weight change only.
    const order = [...current.weights.keys()].filter((tg) => tg === stableTg || tg === otherTg);
    for (const tg of [stableTg, otherTg]) if (!order.includes(tg)) order.push(tg);
    const wanted = new Map([
      [stableTg, 100 - canaryWeight],
      [otherTg, canaryWeight],
    ]);
    await setForwardWeights(
      elbv2,
      current,
      order.map((tg) => ({ targetGroupArn: tg, weight: wanted.get(tg) as number })),
      signal,
    );
    return poll(
      async () => {
        const read = await readForward(elbv2, l.route, signal);
        const p = percentages(read.weights);
        const onOther = p.get(otherTg) ?? 0;
        const onStable = p.get(stableTg) ?? 0;
        const detail = `${describeRoute(l.route)}: ${describeWeights(read.weights)}`;
        if (onOther === canaryWeight && onStable === 100 - canaryWeight) {
          return { done: true, value: { canary: onOther, stable: onStable, detail } };
        }
        return { done: false, status: detail };
      },
      {
        what: `${describeRoute(l.route)} to show ${canaryWeight}% on ${targetGroupName(otherTg)}`,
        timeoutMs: this.context.confirmTimeoutMs ?? 60_000,
        initialDelayMs: 250,
        maxDelayMs: 2000,
        clock,
        ...(signal ? { signal } : {}),
      },
    );
  }
}
