/**
 * ecs-deploy's target choice: the engine the service's deployment controller allows (task
 * sets, ECS native strategies, rolling updates), the inputs that engine cannot honour
 * refused, and the target built and checked before anything changes.
 */
import { info, warning } from '@actions/core';
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AlarmWatch } from '../../aws/alarms.js';
import type { ServiceRef } from '../../aws/ecs.js';
import { chooseEngine, type EngineChoice } from '../../aws/ecs-engine.js';
import { EcsNativeTarget, NATIVE_LABELS, nativeRolloutPlan, type NativePlan } from '../../aws/ecs-native-target.js';
import { EcsRollingTarget, ROLLING_LABELS } from '../../aws/ecs-rolling-target.js';
import { EcsTaskSetTarget, TASK_SET_LABELS } from '../../aws/ecs-task-set-target.js';
import type { TrafficRoute } from '../../aws/elbv2.js';
import type { TaskDefinitionInput } from '../../aws/task-definition.js';
import { buildPlan, firstPause } from '../../delivery/plan.js';
import type { RolloutPlan, Target } from '../../delivery/types.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export interface EngineFit {
  choice: EngineChoice;
  /** Native strategies: ECS decides the weights (the service's canary / linear configuration). */
  native: NativePlan | undefined;
  /** The steps before analysis is known (see `withoutIdleBakes`). */
  basePlan: RolloutPlan;
}

export type EcsTarget = Target & { registeredTaskDefinitionArn: string | undefined };

export interface BuiltTarget {
  target: EcsTarget;
  /** The labels its sides carry, for `{{placeholders}}` in analysis queries. */
  labels: readonly string[];
  /** Whether the service is behind an ALB (the default SLO analysis needs its metrics). */
  albLabels: boolean;
}

function trafficInputsRefused(given: string[], service: Service): UserError {
  const names = given.join(' and ');
  return new UserError(
    `${names} ${given.length > 1 ? 'are' : 'is'} set, but service ${service.serviceName} uses the ${service.deploymentController?.type ?? 'ECS'} deployment controller: only task sets (EXTERNAL controller) have their ALB weights shifted by ecs-deploy.`,
    `Remove ${names} for this service; ECS itself moves its traffic.`,
  );
}

function noCanaryToHold(s: Settings, service: Service): UserError {
  return new UserError(
    `${s.resume ? 'resume is true' : `steps (${s.steps}) pause`}, but service ${service.serviceName} runs rolling updates, which have no canary to hold: pause and resume work with task sets (EXTERNAL controller) and ECS native CANARY / LINEAR deployments.`,
    'Remove the pause from steps (or resume), or move the service to the EXTERNAL controller or a native CANARY / LINEAR strategy with PAUSE hooks.',
  );
}

/** The engine for this service and strategy, with its steps; what the engine cannot do is refused here. */
export function fitEngine(s: Settings, service: Service, ref: ServiceRef): EngineFit {
  const choice = chooseEngine(service, s.strategy, ref);
  info(`Engine ${choice.engine}, strategy ${choice.strategy}: ${choice.reason}`);
  const trafficInputs = [
    s.targetGroups.length ? 'target-groups' : '',
    s.listenerArn ? 'listener-arn' : '',
    s.listenerRuleArn ? 'listener-rule-arn' : '',
  ].filter(Boolean);
  if (choice.engine !== 'ecs-task-set' && trafficInputs.length) throw trafficInputsRefused(trafficInputs, service);
  const native =
    choice.engine === 'ecs-native'
      ? nativeRolloutPlan(service.deploymentConfiguration, { steps: s.steps, stepDurationMs: s.stepDurationMs })
      : undefined;
  if (native) {
    info(`Steps from ${native.source}.`);
    for (const note of native.notes) (note.level === 'warning' ? warning : info)(note.message);
  }
  const basePlan: RolloutPlan =
    native?.plan ?? buildPlan({ strategy: choice.strategy, steps: s.steps, stepDurationMs: s.stepDurationMs });
  if ((firstPause(basePlan) >= 0 || s.resume) && choice.engine === 'ecs-rolling') throw noCanaryToHold(s, service);
  return { choice, native, basePlan };
}

/** The target of the chosen engine, preflighted (it reads and checks the service; nothing changes). */
export async function buildTarget(
  s: Settings,
  fit: EngineFit,
  o: {
    ecs: ECSClient;
    elbv2: ElasticLoadBalancingV2Client;
    ref: ServiceRef;
    rendered: TaskDefinitionInput;
    alarms: AlarmWatch | undefined;
    signal: AbortSignal;
  },
): Promise<BuiltTarget> {
  const { ecs, elbv2, ref, rendered, signal } = o;
  const engine = fit.choice.engine;
  if (engine === 'ecs-task-set') {
    const route: TrafficRoute | undefined = s.listenerArn
      ? { kind: 'listener', arn: s.listenerArn }
      : s.listenerRuleArn
        ? { kind: 'rule', arn: s.listenerRuleArn }
        : undefined;
    // Resume: nothing new is registered; the target takes up the paused task set from the record.
    const t = new EcsTaskSetTarget({
      ecs,
      elbv2,
      ...ref,
      ...(route ? { route } : {}),
      targetGroups: s.targetGroups,
      ...(s.resume ? {} : { taskDefinition: rendered }),
      waitTimeoutMs: s.waitTimeoutMs,
      log: info,
    });
    await t.preflight(signal);
    return { target: t, labels: TASK_SET_LABELS, albLabels: true };
  }
  const t =
    engine === 'ecs-native'
      ? new EcsNativeTarget({
          ecs,
          elbv2,
          ...ref,
          taskDefinition: rendered,
          plan: fit.basePlan,
          waitTimeoutMs: s.waitTimeoutMs,
          log: info,
        })
      : new EcsRollingTarget({
          ecs,
          elbv2,
          ...ref,
          ...(o.alarms ? { alarms: o.alarms } : {}),
          taskDefinition: rendered,
          waitTimeoutMs: s.waitTimeoutMs,
          log: info,
        });
  await t.preflight(signal);
  const sides = engine === 'ecs-native' ? NATIVE_LABELS : ROLLING_LABELS;
  return { target: t, albLabels: t.hasLoadBalancer, labels: t.hasLoadBalancer ? sides : ['service', 'cluster'] };
}
