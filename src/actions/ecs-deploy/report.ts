/**
 * What ecs-deploy tells about its rollout: the plan and changes in the log, the traffic
 * facts, the dry run's rows, the unchanged service, and the finished rollout's outputs,
 * report fields and summary facts. The deploy step (src/delivery/deploy-step.ts) puts
 * them together.
 */
import { info } from '@actions/core';
import type { Service } from '@aws-sdk/client-ecs';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import { taskDefinitionName } from '../../aws/ecs.js';
import type { EngineChoice } from '../../aws/ecs-engine.js';
import { EcsNativeTarget } from '../../aws/ecs-native-target.js';
import { EcsTaskSetTarget } from '../../aws/ecs-task-set-target.js';
import { describeRoute, targetGroupName } from '../../aws/elbv2.js';
import { pauseHelp } from '../../delivery/deploy-resume.js';
import type { Finished, Row, Unchanged } from '../../delivery/deploy-step.js';
import { describePlan } from '../../delivery/plan.js';
import type { RolloutPlan } from '../../delivery/types.js';
import { code, codeBlock, details } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import { formatDuration } from '../../util/duration.js';
import type { Revision } from './revision.js';
import type { Settings } from './settings.js';
import type { EcsTarget } from './target.js';

/** Where traffic goes: the task sets' target groups, or the ones ECS shifts between. */
export function trafficFacts(target: EcsTarget): Row[] {
  if (target instanceof EcsTaskSetTarget && target.resolved) {
    const r = target.resolved;
    const sides = `stable in ${code(targetGroupName(r.blue))}, new version in ${code(targetGroupName(r.green))}`;
    return [
      ['Traffic', `${describeRoute(r.route)}: ${sides}`],
      ['Stable task set', code(r.stableTaskSet)],
    ];
  }
  if (target instanceof EcsNativeTarget && target.resolved) {
    const r = target.resolved;
    const sides = `stable in ${code(targetGroupName(r.stable))}, new version in ${code(targetGroupName(r.canary))}`;
    return [['Traffic', `${describeRoute(r.route)}, shifted by ECS: ${sides}`]];
  }
  return [];
}

function analysisLine(spec: AnalysisSpec | undefined, alarms: boolean): string {
  if (!spec) return 'none';
  const metrics = spec.metrics.map((m) => m.name).join(', ') || 'no metrics';
  return `${spec.source}, ${metrics}${alarms ? ' + alarms' : ''}, a run every ${formatDuration(spec.intervalMs)}`;
}

/** The plan, traffic, analysis and changes in the log; the outputs known before the rollout. */
export function announce(
  target: EcsTarget,
  o: { plan: RolloutPlan; spec: AnalysisSpec | undefined; alarms: boolean; revision: Revision },
): void {
  const { diff, source } = o.revision;
  info(`Plan: ${describePlan(o.plan)}.`);
  if (target instanceof EcsTaskSetTarget && target.resolved) {
    const r = target.resolved;
    info(
      `Traffic: ${describeRoute(r.route)}; stable task set ${r.stableTaskSet} in ${targetGroupName(r.blue)}, the new one goes into ${targetGroupName(r.green)}.`,
    );
  }
  info(`Analysis: ${analysisLine(o.spec, o.alarms)}.`);
  info(
    diff.length
      ? `Task definition changes (${source} → new revision):\n${diff.map((l) => `  ${l}`).join('\n')}`
      : `The new revision is the same as ${source}.`,
  );
  outputs.set('engine', target.engine);
  outputs.set('previous-task-definition-arn', o.revision.liveArn ?? '');
  outputs.set('image', o.revision.image);
}

/** The task definition's changes, as every summary ends. */
export function diffBlock(diff: string[]): string {
  return details(
    `Task definition changes (${diff.length})`,
    diff.length ? codeBlock(diff.join('\n'), 'diff') : 'No changes.',
  );
}

/** The dry run's summary rows. */
export function dryRunFacts(
  target: EcsTarget,
  o: {
    choice: EngineChoice;
    plan: RolloutPlan;
    traffic: Row[];
    spec: AnalysisSpec | undefined;
    alarms: boolean;
    image: string;
  },
): Row[] {
  const spec = o.spec;
  const analysis = spec
    ? `${spec.source}: ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}${o.alarms ? ', alarms' : ''}`
    : 'none';
  return [
    ['Engine', `${code(target.engine)}: ${o.choice.reason}`],
    ['Strategy', o.choice.strategy],
    ['Steps', describePlan(o.plan)],
    ...o.traffic,
    ['Analysis', analysis],
    ['Image', code(o.image)],
  ];
}

/** The service already runs the revision this step would register. */
export function unchanged(service: Service, engine: string, revision: Revision & { liveArn: string }): Unchanged {
  const name = taskDefinitionName(revision.liveArn);
  return {
    reason: `Nothing to roll out: ${service.serviceName} already runs ${name}, and the new revision would be the same. Set force: true to roll it out again.`,
    setOutputs: () => outputs.set('task-definition-arn', revision.liveArn),
    rows: [
      ['Engine', code(engine)],
      ['Task definition', code(name)],
      ['Image', code(revision.image)],
    ],
    finished: `Already running ${name}; nothing rolled out.`,
  };
}

/**
 * The finished rollout: the report's service fields, the task definition output, the
 * summary's facts (`traffic` as it was resolved before the rollout).
 */
export function finished(
  s: Settings,
  service: Service,
  o: { target: EcsTarget; revision: Revision; traffic: Row[] },
): Finished {
  const { target, revision } = o;
  const registered = target.registeredTaskDefinitionArn;
  return {
    report: {
      service: { cluster: s.cluster, service: service.serviceName, region: s.region },
      taskDefinition: registered ?? '',
      previousTaskDefinition: revision.liveArn ?? '',
      image: revision.image,
      taskDefinitionChanges: revision.diff,
    },
    setOutputs: () => outputs.set('task-definition-arn', registered ?? ''),
    facts: [
      ['Task definition', code(taskDefinitionName(registered ?? '(not registered)'))],
      ['Previous', code(taskDefinitionName(revision.liveArn ?? ''))],
      ['Image', code(revision.image)],
      ...o.traffic,
    ],
    blocks: '',
  };
}

/** The two steps a paused rollout's summary shows: resume it, or abort it. */
export function ecsPauseHelp(s: Settings, image: string): { resume: string; abort: string } {
  const where = [`cluster: ${s.cluster}`, `service: ${s.service}`, `aws-region: ${s.region}`];
  const resume = [
    `image: ${image}`,
    ...(s.containerName ? [`container-name: ${s.containerName}`] : []),
    `steps: ${s.steps}`,
  ];
  return pauseHelp('ecs-deploy', 'ecs', where, resume);
}
