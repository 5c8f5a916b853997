import { describe, expect, it } from '@jest/globals';
import type { Service } from '@aws-sdk/client-ecs';
import { chooseEngine, type StrategyInput } from '../../../src/aws/ecs-engine.js';

const ref = { cluster: 'platform', service: 'web' };
const service = (controller?: string, strategy?: string): Service =>
  ({
    deploymentController: controller ? { type: controller } : undefined,
    deploymentConfiguration: strategy ? { strategy } : {},
  }) as Service;

describe('chooseEngine', () => {
  it.each<[string | undefined, string | undefined, StrategyInput, string, string]>([
    ['EXTERNAL', undefined, 'auto', 'ecs-task-set', 'canary'],
    ['EXTERNAL', undefined, 'blue-green', 'ecs-task-set', 'blue-green'],
    ['EXTERNAL', undefined, 'linear', 'ecs-task-set', 'linear'],
    [undefined, undefined, 'auto', 'ecs-rolling', 'rolling'],
    ['ECS', 'ROLLING', 'rolling', 'ecs-rolling', 'rolling'],
    ['ECS', 'CANARY', 'auto', 'ecs-native', 'canary'],
    ['ECS', 'BLUE_GREEN', 'blue-green', 'ecs-native', 'blue-green'],
    ['ECS', 'LINEAR', 'auto', 'ecs-native', 'linear'],
  ])('%s controller, %s strategy, strategy input %s → %s (%s)', (controller, native, requested, engine, strategy) => {
    const choice = chooseEngine(service(controller, native), requested, ref);
    expect([choice.engine, choice.strategy]).toEqual([engine, strategy]);
    expect(choice.reason).toMatch(/^The service uses the /);
  });

  it.each<[string | undefined, string | undefined, StrategyInput, string]>([
    ['EXTERNAL', undefined, 'rolling', 'uses the EXTERNAL deployment controller, which has no rolling updates'],
    ['ECS', undefined, 'canary', 'so a canary rollout is not possible on it'],
    ['ECS', 'CANARY', 'linear', "is set up for ECS's own CANARY deployments, but strategy is linear"],
    ['CODE_DEPLOY', undefined, 'auto', 'is deployed by CodeDeploy'],
  ])('refuses %s controller, %s strategy, strategy input %s', (controller, native, requested, message) => {
    expect(() => chooseEngine(service(controller, native), requested, ref)).toThrow(message);
  });
});
