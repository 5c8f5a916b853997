/**
 * Which ECS engine runs a rollout, from the service's deployment controller, its native
 * deployment strategy and the `strategy` input, with the reason in words for the log.
 *
 *   controller   native strategy          strategy input            engine
 *   EXTERNAL     -                        auto → canary             ecs-task-set
 *   EXTERNAL     -                        canary/linear/blue-green  ecs-task-set
 *   ECS          ROLLING (or none)        auto/rolling              ecs-rolling
 *   ECS          BLUE_GREEN/CANARY/LINEAR auto, or the same one     ecs-native
 *   CODE_DEPLOY  -                        any                       (refused)
 */
import type { DeploymentStrategy, Service } from '@aws-sdk/client-ecs';
import type { Strategy } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import { describeRef, type ServiceRef } from './ecs.js';

export type EcsEngine = 'ecs-rolling' | 'ecs-task-set' | 'ecs-native';
export type StrategyInput = Strategy | 'auto';

export interface EngineChoice {
  engine: EcsEngine;
  strategy: Strategy;
  /** One sentence for the log: why this engine. */
  reason: string;
}

const NATIVE: Record<string, Strategy> = { BLUE_GREEN: 'blue-green', CANARY: 'canary', LINEAR: 'linear' };

const codeDeployService = (name: string): UserError =>
  new UserError(
    `ECS service ${name} is deployed by CodeDeploy (deployment controller CODE_DEPLOY), which ecs-deploy does not drive.`,
    'Move the service to the EXTERNAL controller (task sets, ALB weights shifted by ecs-deploy) or to the ECS controller (rolling, or a native BLUE_GREEN / CANARY / LINEAR strategy).',
  );

const externalWithoutStrategy = (name: string): UserError =>
  new UserError(
    `ECS service ${name} uses the EXTERNAL deployment controller, which has no rolling updates: new versions run as task sets.`,
    'Use strategy canary, linear or blue-green (or auto, which is canary here).',
  );

const nativeStrategyMismatch = (
  name: string,
  native: DeploymentStrategy | undefined,
  requested: Strategy,
  nativeStrategy: Strategy,
): UserError =>
  new UserError(
    `ECS service ${name} is set up for ECS's own ${native} deployments, but strategy is ${requested}.`,
    `Use strategy auto or ${nativeStrategy} (ECS shifts the traffic; ecs-deploy judges each step), or change the service's deploymentConfiguration.strategy.`,
  );

const rollingStrategyMismatch = (
  name: string,
  native: DeploymentStrategy | undefined,
  requested: 'blue-green' | 'canary' | 'linear',
): UserError =>
  new UserError(
    `ECS service ${name} uses rolling deployments (ECS controller, strategy ${native ?? 'ROLLING'}), so a ${requested} rollout is not possible on it.`,
    `Use strategy rolling or auto; for ${requested}, give the service the EXTERNAL controller (task sets behind two target groups) or the native ${requested.toUpperCase().replace('-', '_')} strategy.`,
  );

export function chooseEngine(service: Service, requested: StrategyInput, ref: ServiceRef): EngineChoice {
  const name = describeRef(ref);
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller === 'CODE_DEPLOY') {
    throw codeDeployService(name);
  }
  if (controller === 'EXTERNAL') {
    if (requested === 'rolling') {
      throw externalWithoutStrategy(name);
    }
    const strategy = requested === 'auto' ? 'canary' : requested;
    return {
      engine: 'ecs-task-set',
      strategy,
      reason: `The service uses the EXTERNAL deployment controller, so the new version runs as a task set and ecs-deploy shifts the ALB weights${requested === 'auto' ? ' (strategy auto: canary)' : ''}.`,
    };
  }
  const native = service.deploymentConfiguration?.strategy;
  const nativeStrategy = native ? NATIVE[native] : undefined;
  if (nativeStrategy) {
    if (requested !== 'auto' && requested !== nativeStrategy) {
      throw nativeStrategyMismatch(name, native, requested, nativeStrategy);
    }
    return {
      engine: 'ecs-native',
      strategy: nativeStrategy,
      reason: `The service uses the ECS controller with the native ${native} strategy, so ECS shifts the traffic and ecs-deploy judges each step at the lifecycle hooks.`,
    };
  }
  if (requested === 'auto' || requested === 'rolling') {
    return {
      engine: 'ecs-rolling',
      strategy: 'rolling',
      reason: `The service uses the ECS controller with ${native ?? 'the default'} rolling deployments, so ecs-deploy updates the service and follows the deployment${requested === 'auto' ? ' (strategy auto: rolling)' : ''}.`,
    };
  }
  throw rollingStrategyMismatch(name, native, requested);
}
