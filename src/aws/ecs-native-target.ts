/**
 * The native-strategy engine: an ECS service whose deploymentConfiguration.strategy is
 * BLUE_GREEN, CANARY or LINEAR. ECS moves the traffic and takes it back, so the target is
 * composed from the native workload (ecs-native-workload.ts: the service deployment, its
 * PAUSE hooks, the rollback ECS carries out), the read-only `platform` router
 * (platform-router.ts, by name from routers.ts) and the service-tag record store
 * (ecs-record-store.ts). The plan comes from the service's own steps (ecs-native-plan.ts).
 */
import type { ExtraCheck } from '../analysis/types.js';
import { ComposedTarget } from '../delivery/compose.js';
import type { RolloutRecord } from '../delivery/types.js';
import { EcsServiceRecords } from './ecs-record-store.js';
import type { NativeTargetOptions } from './ecs-native-deployment.js';
import { EcsNativeWorkload } from './ecs-native-workload.js';
import type { TrafficRoute } from './elbv2.js';
import { PLATFORM, type PlatformRouter } from './platform-router.js';
import { ECS_ROUTERS } from './routers.js';

export { checkPauseHooks, MAX_HOOK_TIMEOUT_MINUTES, nativeRolloutPlan, type NativePlan } from './ecs-native-plan.js';
export { NATIVE_ENGINE, NATIVE_LABELS, type NativeTargetOptions } from './ecs-native-deployment.js';

export class EcsNativeTarget extends ComposedTarget<EcsNativeWorkload, PlatformRouter> {
  // The native workload has these, so the target always does (the reconciler calls adopt directly).
  declare adopt: (record: RolloutRecord, signal?: AbortSignal) => Promise<void>;
  declare holdPause: (signal?: AbortSignal) => Promise<number | undefined>;
  declare diagnose: (signal?: AbortSignal) => Promise<string[]>;

  constructor(options: NativeTargetOptions) {
    const workload = new EcsNativeWorkload(options);
    const router = ECS_ROUTERS.create<PlatformRouter>(PLATFORM, {
      platform: { platform: 'ECS native deployment', follow: (weight, signal) => workload.reach(weight, signal) },
    });
    const records = new EcsServiceRecords({
      ecs: options.ecs,
      ref: { cluster: options.cluster, service: options.service },
      log: options.log ?? (() => undefined),
      service: (signal) => workload.serviceForRecord(signal),
      serviceArn: (signal) => workload.serviceArn(signal),
    });
    super({ workload, router, records });
  }

  /** Deploys an earlier task definition again and follows it to the end, continuing every pause. */
  revert(taskDefinition: string, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    return this.workload.revert(taskDefinition, signal, onRestored);
  }

  /** An analysis check that fails as soon as ECS stops moving the deployment forward. */
  deploymentCheck(): ExtraCheck {
    return this.workload.deploymentCheck();
  }

  /** Whether the service is behind a load balancer (the ALB metric shorthands then work). */
  get hasLoadBalancer(): boolean {
    return this.workload.hasLoadBalancer;
  }

  /** The production route and the two target groups, as resolved (after preflight). */
  get resolved(): { route: TrafficRoute; stable: string; canary: string } | undefined {
    return this.workload.resolved;
  }

  /** The task definition registered by create. */
  get registeredTaskDefinitionArn(): string | undefined {
    return this.workload.registeredTaskDefinitionArn;
  }

  /** The live task definition found by preflight. */
  get previousTaskDefinitionArn(): string | undefined {
    return this.workload.previousTaskDefinitionArn;
  }
}
