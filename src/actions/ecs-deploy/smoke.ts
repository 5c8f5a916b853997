/**
 * ecs-deploy's smoke checks on task sets: once the new task set is healthy, a listener
 * rule routes requests carrying `x-platform-actions-smoke: <rollout id>` to its target
 * group; the spec's checks run through it, the rule is deleted, and only then does the
 * first weight move. A failure reads to the engine as an unhealthy new version: it
 * removes the new task set, and the listener's weights never changed.
 */
import { info } from '@actions/core';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SMOKE_HEADER, type SmokeSpec } from '../../analysis/smoke.js';
import type { EcsTaskSetTarget } from '../../aws/ecs-task-set-target.js';
import type { TrafficRoute } from '../../aws/elbv2.js';
import { listenerOf, openSmokeRule, removeSmokeRules } from '../../aws/smoke-rule.js';
import { withSmokeGate } from '../../delivery/smoke-gate.js';

export function wireSmokeRule(
  target: EcsTaskSetTarget,
  o: {
    smoke: SmokeSpec;
    elbv2: ElasticLoadBalancingV2Client;
    route: TrafficRoute;
    deploymentId: string;
    url?: string;
    listenerArn?: string;
  },
): void {
  const listenerArn = o.listenerArn ?? listenerOf(o.route);
  const url = o.url ?? o.smoke.url;
  withSmokeGate(target, {
    spec: o.smoke,
    headers: { [SMOKE_HEADER]: o.deploymentId },
    log: info,
    newSideUrl: async (signal) => {
      const targetGroupArn = target.newSideTargetGroup;
      if (!targetGroupArn) throw new Error('smoke checks before the new task set exists');
      const opened = await openSmokeRule(
        {
          elbv2: o.elbv2,
          listenerArn,
          ...(o.listenerArn ? {} : { route: o.route }),
          targetGroupArn,
          deploymentId: o.deploymentId,
          log: info,
        },
        signal,
      );
      if (!url && opened.listenerUrl.startsWith('https:')) {
        info(
          `No smoke-url: the checks go to ${opened.listenerUrl}, whose certificate is probably for your own domain name; give smoke-url if they fail on TLS.`,
        );
      }
      return url ?? opened.listenerUrl;
    },
    // Also after a cancel: its own short deadline, not the job's signal.
    release: async () => {
      await removeSmokeRules(
        o.elbv2,
        listenerArn,
        { deploymentId: o.deploymentId, targetGroups: [] },
        info,
        AbortSignal.timeout(30_000),
      );
    },
  });
}
