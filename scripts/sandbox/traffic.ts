/**
 * Users of the seed workload, as ALB metrics: every tick, open-webui's requests split by
 * the listener's weights between its blue and green target groups (read back from the
 * listener each second), and the gateway's requests, written into moto's CloudWatch the
 * way ALB publishes them (test/support/ecs-workload.ts's startAlbTraffic). A target group
 * can be made to answer 10% 5xx: the breach a canary must be rolled back for.
 */
import { forwardPercentages, startAlbTraffic, type SideTraffic } from '../../test/support/ecs-workload.js';
import type { Stack } from './infrastructure.js';
import type { Profile } from './profiles.js';
import type { World } from './world.js';

export const BREACH_ERROR_RATE = 0.1;

export class Traffic {
  private readonly weights = new Map<string, Record<string, number>>();
  private readonly broken = new Set<string>();
  private readonly stops: Array<() => Promise<void>> = [];
  private polling = true;
  private readonly pollers: Promise<void>[] = [];

  constructor(
    private readonly world: World,
    private readonly profile: Profile,
  ) {}

  start(stack: Stack): void {
    const refresh = async () => {
      try {
        this.weights.set(stack.listenerArn, await forwardPercentages(this.world.clients.elbv2, stack.listenerArn));
      } catch {
        // keep the last weights; the next second tries again
      }
    };
    this.pollers.push(
      (async () => {
        while (this.polling) {
          await refresh();
          await new Promise((r) => setTimeout(r, 1000));
        }
      })(),
    );
    const { web, gateway } = this.profile.requests;
    const side = (targetGroup: string, requests: number): SideTraffic => ({
      requests,
      errors: this.broken.has(targetGroup) ? Math.ceil(requests * BREACH_ERROR_RATE) : 0,
      latency: (i) => 0.08 + (i % 10) / 100,
    });
    const traffic = startAlbTraffic(
      this.world.clients.cloudwatch,
      stack.loadBalancerArn,
      () => {
        const w = this.weights.get(stack.listenerArn) ?? {};
        const { blue, green } = stack.targetGroups;
        return {
          [blue]: side(blue, Math.round((web * (w[blue] ?? 0)) / 100)),
          [green]: side(green, Math.round((web * (w[green] ?? 0)) / 100)),
          [stack.targetGroups.gateway]: side(stack.targetGroups.gateway, gateway),
        };
      },
      { tickMs: this.profile.tickMs },
    );
    this.stops.push(traffic.stop);
  }

  /** The target group with no weight now: where the next canary's task set will go. */
  async idleTargetGroup(stack: Stack): Promise<string> {
    const w = await forwardPercentages(this.world.clients.elbv2, stack.listenerArn);
    return w[stack.targetGroups.blue] === 0 ? stack.targetGroups.blue : stack.targetGroups.green;
  }

  breach(targetGroup: string): void {
    this.broken.add(targetGroup);
  }

  heal(targetGroup: string): void {
    this.broken.delete(targetGroup);
  }

  async stop(): Promise<void> {
    this.polling = false;
    await Promise.all([...this.stops.map((s) => s()), ...this.pollers]);
  }
}
