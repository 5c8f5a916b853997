/**
 * ecs-deploy's smoke checks on ECS native deployments: refused before any change when the
 * service cannot hold the new revision on its test listener (src/aws/ecs-native-smoke.ts),
 * otherwise wired around the native target's create and waitHealthy.
 */
import { info } from '@actions/core';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SmokeSpec } from '../../analysis/smoke.js';
import { planNativeSmoke, withNativeSmoke } from '../../aws/ecs-native-smoke.js';
import type { EcsNativeTarget } from '../../aws/ecs-native-target.js';
import { UserError } from '../../util/errors.js';

export function wireNativeSmoke(
  target: EcsNativeTarget,
  o: {
    ecs: ECSClient;
    elbv2: ElasticLoadBalancingV2Client;
    cluster: string;
    service: Service;
    smoke: SmokeSpec;
    smokeUrl: string | undefined;
    smokeListenerArn: string | undefined;
    waitTimeoutMs: number;
  },
): void {
  const ref = { cluster: o.cluster, service: o.service.serviceName as string };
  if (o.smokeListenerArn) {
    throw new UserError(
      `smoke-listener-arn is set, but service ${ref.service} runs ECS native deployments: their smoke checks go through the service's own test listener rule, which ECS moves to the new revision. Nothing was changed.`,
      "Remove smoke-listener-arn (it is for task sets); set the test listener rule in the service's load balancer advancedConfiguration instead.",
    );
  }
  const plan = planNativeSmoke(o.service, o.smoke, ref);
  withNativeSmoke(target, {
    ecs: o.ecs,
    elbv2: o.elbv2,
    ref,
    serviceArn: o.service.serviceArn as string,
    spec: o.smoke,
    plan,
    ...(o.smokeUrl ? { url: o.smokeUrl } : {}),
    waitTimeoutMs: o.waitTimeoutMs,
    log: info,
  });
}
