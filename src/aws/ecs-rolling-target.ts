/**
 * The rolling engine: an ECS service with the ECS deployment controller and no native
 * strategy, rolled out by UpdateService. ECS moves all traffic itself, so the target is
 * composed from the rolling workload (ecs-rolling-workload.ts: create, health, the
 * rollback ECS carries out), the read-only `platform` router (platform-router.ts, by name
 * from routers.ts) and the service-tag record store (ecs-record-store.ts).
 */
import { ComposedTarget } from '../delivery/compose.js';
import { EcsServiceRecords } from './ecs-record-store.js';
import { EcsRollingWorkload, type RollingTargetOptions } from './ecs-rolling-workload.js';
import { PLATFORM, type PlatformRouter } from './platform-router.js';
import { ECS_ROUTERS } from './routers.js';

export { ROLLING_ENGINE, ROLLING_LABELS, type RollingTargetOptions } from './ecs-rolling-workload.js';

export class EcsRollingTarget extends ComposedTarget<EcsRollingWorkload, PlatformRouter> {
  declare diagnose: (signal?: AbortSignal) => Promise<string[]>;

  constructor(options: RollingTargetOptions) {
    const workload = new EcsRollingWorkload(options);
    const router = ECS_ROUTERS.create<PlatformRouter>(PLATFORM, {
      platform: { platform: 'ECS rolling update', follow: (weight, signal) => workload.reach(weight, signal) },
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

  /** Whether the service is behind a load balancer (the ALB metric shorthands then work). */
  get hasLoadBalancer(): boolean {
    return this.workload.hasLoadBalancer;
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
