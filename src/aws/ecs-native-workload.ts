/**
 * The native-strategy workload: an ECS service with the ECS deployment controller whose
 * deploymentConfiguration.strategy is BLUE_GREEN, CANARY or LINEAR. ECS moves the traffic
 * (the production listener rule's weights between the service's target group and its
 * alternate); this workload starts the service deployment with UpdateService, follows it
 * with DescribeServiceDeployments, reads every weight back from the listener rule for the
 * read-only `platform` router (`reach`), and holds it at a PAUSE lifecycle hook for a
 * pause. Its rollback (ecs-native-undo.ts) has ECS return all traffic to the old revision.
 * The steps are the service's own (canaryConfiguration, linearConfiguration).
 * ecs-native-target.ts composes it with the router and the service-tag record store.
 */
import type { DeploymentLifecycleHookDetail } from '@aws-sdk/client-ecs';
import type { SubjectLabels, Subjects } from '../analysis/types.js';
import type { RolloutRecord, Sides, Traffic } from '../delivery/types.js';
import type { Workload } from '../delivery/workload.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import {
  assertTaggable,
  DEPLOYMENT_TAG,
  describeRef,
  describeService,
  registerTaskDefinition,
  taskDefinitionName,
} from './ecs.js';
import {
  describeDeploymentState,
  describeServiceDeployment,
  FORWARD,
  inFlightDeployments,
  pausedHook,
  productionWeight,
  serviceDeploymentId,
  stageIndex,
} from './ecs-service-deployments.js';
import {
  describeRoute,
  describeWeights,
  loadBalancerArnOf,
  percentages,
  readForward,
  targetGroupName,
  targetHealth,
  type TrafficRoute,
} from './elbv2.js';
import { recordPromotion } from './ecs-last-good.js';
import { checkPauseHooks, MINUTE, NATIVE, TOLERANCE } from './ecs-native-plan.js';
import { EcsNativeUndo } from './ecs-native-undo.js';
import type { LoadBalancerLayout } from './ecs-native-deployment.js';

export class EcsNativeWorkload extends EcsNativeUndo implements Workload {
  async preflight(signal?: AbortSignal): Promise<void> {
    if (this.service) return;
    const service = await describeService(this.options.ecs, this.ref, signal);
    const controller = service.deploymentController?.type ?? 'ECS';
    const config = service.deploymentConfiguration;
    if (controller !== 'ECS' || !config?.strategy || !NATIVE[config.strategy]) {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} does not use a native BLUE_GREEN, CANARY or LINEAR strategy (controller ${controller}, strategy ${config?.strategy ?? 'ROLLING'}).`,
        'Use strategy auto: ecs-deploy then picks the engine that fits the service.',
      );
    }
    assertTaggable(service);
    this.previousTaskDefinitionArn = service.taskDefinition;
    const lb = (service.loadBalancers ?? []).find(
      (l) =>
        l.targetGroupArn &&
        l.advancedConfiguration?.alternateTargetGroupArn &&
        l.advancedConfiguration.productionListenerRule,
    );
    if (lb) {
      const ruleArn = lb.advancedConfiguration?.productionListenerRule as string;
      const route: TrafficRoute = { kind: ruleArn.includes(':listener-rule/') ? 'rule' : 'listener', arn: ruleArn };
      const pair: [string, string] = [
        lb.targetGroupArn as string,
        lb.advancedConfiguration?.alternateTargetGroupArn as string,
      ];
      const forward = await readForward(this.options.elbv2, route, signal);
      const missing = pair.filter((tg) => !forward.weights.has(tg));
      if (missing.length > 0) {
        throw new UserError(
          `The production ${describeRoute(route)} of ${describeRef(this.ref)} does not forward to ${missing.map(targetGroupName).join(' and ')}, so ECS could not shift traffic between ${pair.map(targetGroupName).join(' and ')}.`,
          "Make the rule forward to both the service's target group and its alternateTargetGroupArn (weights 100 and 0).",
        );
      }
      this.lb = { route, loadBalancerArn: loadBalancerArnOf(route.arn), pair };
      this.sidesTg = this.sidesFrom(percentages(forward.weights));
    } else if ((service.loadBalancers ?? []).some((l) => l.targetGroupArn)) {
      throw new UserError(
        `ECS service ${describeRef(this.ref)} uses the ${config.strategy} strategy behind a target group without advancedConfiguration (alternateTargetGroupArn, productionListenerRule), so ECS has no second target group to shift traffic to.`,
        "Give the service's load balancer an advancedConfiguration with the alternate target group, the production listener rule and the role ECS uses to change it.",
      );
    }
    if (this.options.plan) checkPauseHooks(config, this.options.plan, describeRef(this.ref));
    this.service = service;
  }

  async create(deploymentId: string, signal?: AbortSignal): Promise<Sides> {
    const td = this.options.taskDefinition;
    if (!td) throw new Error('EcsNativeWorkload.create needs a task definition');
    this.startedAt = this.clock.now();
    // Look again: an earlier rollout may just have been undone.
    const live = await describeService(this.options.ecs, this.ref, signal);
    this.service = live;
    this.previousTaskDefinitionArn = live.taskDefinition;
    const busy = await inFlightDeployments(this.options.ecs, this.ref, signal);
    if (busy.length > 0) {
      const d = busy[0];
      throw new UserError(
        `ECS service ${describeRef(this.ref)} already has a deployment in flight (${serviceDeploymentId(d?.serviceDeploymentArn ?? '?')}, ${d?.status}${d?.statusReason ? `: ${d.statusReason}` : ''}), not started by this rollout.`,
        'Wait for it to finish, or run the rollback action for this service (it stops the deployment with rollback); one workflow should deploy a service at a time.',
      );
    }
    if (this.lb) {
      const forward = await readForward(this.options.elbv2, this.lb.route, signal);
      this.sidesTg = this.sidesFrom(percentages(forward.weights));
      if (!this.sidesTg) {
        throw new UserError(
          `The production ${describeRoute(this.lb.route)} splits traffic (${describeWeights(forward.weights)}) while no deployment is in flight, so it is not clear which target group is live.`,
          `Put 100% on the target group the live revision is registered in (weight 100 and 0), then deploy again.`,
        );
      }
    }
    const tags = [
      ...(td.tags ?? []).filter((t) => t.key !== DEPLOYMENT_TAG),
      { key: DEPLOYMENT_TAG, value: deploymentId },
    ];
    const arn = await registerTaskDefinition(this.options.ecs, { ...td, tags }, signal);
    this.registeredTaskDefinitionArn = arn;
    this.deploymentArn = await this.startDeployment(arn, signal);
    const where =
      this.lb && this.sidesTg
        ? `; ECS moves ${describeRoute(this.lb.route)} from ${targetGroupName(this.sidesTg.stable)} to ${targetGroupName(this.sidesTg.canary)}`
        : '';
    this.log(
      `Registered task definition ${taskDefinitionName(arn)}; UpdateService started ECS service deployment ${serviceDeploymentId(this.deploymentArn)} (${this.strategyName}) from ${taskDefinitionName(live.taskDefinition ?? '?')}${where}.`,
    );
    return {
      stable: taskDefinitionName(live.taskDefinition ?? ''),
      canary: `${taskDefinitionName(arn)}@${serviceDeploymentId(this.deploymentArn)}`,
    };
  }

  async waitHealthy(signal?: AbortSignal): Promise<void> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('waitHealthy before create');
    await this.follow<void>(
      arn,
      `ECS to start the new revision's tasks (deployment ${serviceDeploymentId(arn)})`,
      this.options.waitTimeoutMs,
      async (d) => {
        this.assertForward(d);
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        const hook = pausedHook(d);
        const stage = stageIndex(d.lifecycleStage);
        // Pauses before the new tasks exist are not ours to judge.
        if (hook?.hookId && stage < stageIndex('POST_SCALE_UP'))
          return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        const target = d.targetServiceRevision;
        const tasksUp =
          stage >= stageIndex('POST_SCALE_UP') &&
          (target?.requestedTaskCount === undefined || (target.runningTaskCount ?? 0) >= target.requestedTaskCount);
        if (!tasksUp) return { done: false, status: describeDeploymentState(d) };
        if (this.sidesTg) {
          const health = await targetHealth(this.options.elbv2, this.sidesTg.canary, signal);
          if (health.problems.length > 0)
            return {
              done: false,
              status: `${describeDeploymentState(d)}; ${targetGroupName(this.sidesTg.canary)}: ${health.problems.slice(0, 3).join('; ')}`,
            };
        }
        return { done: true, value: undefined };
      },
      signal,
      'so that the new tasks start',
    );
  }

  /**
   * The `platform` router's read: follows the deployment (continuing the PAUSE hook in the
   * way) until the production rule holds `weight`% on the new revision.
   */
  async reach(weight: number, signal?: AbortSignal): Promise<Traffic> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('shift before create');
    return this.follow<Traffic>(
      arn,
      `ECS to put ${weight}% of production traffic on the new revision (deployment ${serviceDeploymentId(arn)})`,
      this.stepTimeoutMs(),
      async (d) => {
        this.assertForward(d);
        const t = await this.traffic(d, signal);
        const settled = Math.abs(t.canary + t.stable - 100) <= TOLERANCE;
        if (settled && t.canary >= weight - TOLERANCE)
          return { done: true, value: { ...t, detail: `${t.detail}; ECS: ${d.status} at ${d.lifecycleStage ?? '?'}` } };
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: `${describeDeploymentState(d)}; ${t.detail}` };
      },
      signal,
      `towards ${weight}% of production traffic`,
    );
  }

  /**
   * Pause: once the paused step passed, waits until ECS holds the deployment at the PAUSE
   * hook before its next traffic step (AWAITING_ACTION), so the job ends with the canary
   * held by ECS itself. Returns when that hook times out (epoch ms), if ECS says.
   */
  async holdPause(signal?: AbortSignal): Promise<number | undefined> {
    const arn = this.deploymentArn;
    if (!arn) throw new Error('holdPause before create');
    const id = serviceDeploymentId(arn);
    const hook = await this.follow<DeploymentLifecycleHookDetail>(
      arn,
      `ECS to hold deployment ${id} at its PAUSE hook before the next traffic step`,
      this.stepTimeoutMs(),
      async (d) => {
        this.assertForward(d);
        const held = pausedHook(d);
        return held ? { done: true, value: held } : { done: false, status: describeDeploymentState(d) };
      },
      signal,
    );
    const expires = hook.expiresAt?.getTime();
    this.log(
      `ECS holds deployment ${id} at its PAUSE hook (AWAITING_ACTION${expires ? `, its timeout action ${hook.timeoutAction ?? 'ROLLBACK'} at ${new Date(expires).toISOString()}` : ''}): a resume continues it, the rollback action resolves it with ROLLBACK.`,
    );
    return expires;
  }

  /**
   * Resume (and the reconciler's judging): takes up the paused rollout of `record` in a
   * fresh process. Its service deployment must still be held at a PAUSE hook, the service
   * must run the recorded new revision, and the production rule must split traffic as the
   * pause left it (which target group is the new revision's follows from that). Changes nothing.
   */
  async adopt(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    await this.preflight(signal);
    const hint =
      'Run the rollback action to return all traffic to the old revision and clear the record, then deploy again.';
    const at = record.canary.lastIndexOf('@');
    const canaryTd = at >= 0 ? record.canary.slice(0, at) : '';
    const arn = at >= 0 ? await this.deploymentOf(record, signal) : undefined;
    if (!arn || !canaryTd) {
      throw new UserError(
        `The paused rollout ${record.id} names no ECS service deployment with its new revision (new side '${record.canary || 'none'}'). Nothing was changed.`,
        hint,
      );
    }
    const id = serviceDeploymentId(arn);
    const d = await describeServiceDeployment(this.options.ecs, arn, signal);
    const timedOut = (d.lifecycleHookDetails ?? []).find((h) => h.status === 'TIMED_OUT');
    // Held where the pause left it: going forward, waiting at a PAUSE hook, with the recorded weight (not moved on by hand).
    const held =
      d.status !== undefined &&
      FORWARD.includes(d.status) &&
      pausedHook(d) !== undefined &&
      Math.abs(productionWeight(d) - record.weight) < TOLERANCE;
    if (!held) {
      throw new UserError(
        `The paused rollout ${record.id} left ECS service deployment ${id} held at its PAUSE hook with ${record.weight}% of production traffic, but it is ${describeDeploymentState(d)} now${timedOut ? ` (a hook timed out, and ECS took its timeout action ${timedOut.timeoutAction ?? 'ROLLBACK'})` : ''}: it is no longer waiting for a resume where the pause left it. Nothing was changed.`,
        timedOut ? `${hint} Keep pause-timeout below the hook's timeoutInMinutes.` : hint,
      );
    }
    const live = this.service?.taskDefinition ?? '';
    if (taskDefinitionName(live) !== taskDefinitionName(canaryTd)) {
      throw new UserError(
        `The paused rollout ${record.id} rolled out ${canaryTd}, but ${describeRef(this.ref)} is set to ${taskDefinitionName(live) || 'no task definition'} now: the service no longer looks as the pause left it. Nothing was changed.`,
        hint,
      );
    }
    if (this.lb) {
      const read = await readForward(this.options.elbv2, this.lb.route, signal);
      const p = percentages(read.weights);
      const near = (tg: string, w: number) => Math.abs((p.get(tg) ?? 0) - w) < TOLERANCE;
      const canary = this.lb.pair.find((tg) => near(tg, record.weight));
      const stable = this.lb.pair.find((tg) => tg !== canary);
      if (!canary || !stable || !near(stable, 100 - record.weight)) {
        throw new UserError(
          `The paused rollout ${record.id} left ${record.weight}% on the new revision, but the production ${describeRoute(this.lb.route)} holds ${describeWeights(read.weights)} now: traffic was changed while it was paused. Nothing was changed.`,
          `Look at who changed the weights; ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`,
        );
      }
      this.sidesTg = { stable, canary };
    }
    this.deploymentArn = arn;
    this.registeredTaskDefinitionArn = live;
    this.previousTaskDefinitionArn = record.stable || undefined;
    this.startedAt = this.clock.now();
    this.log(
      `Took up ECS service deployment ${id} of ${taskDefinitionName(live)}, held at its PAUSE hook with ${record.weight}% of production traffic${this.sidesTg ? ` in ${targetGroupName(this.sidesTg.canary)}` : ''}.`,
    );
  }

  subjects(): Subjects {
    const base = {
      service: this.options.service.split('/').pop() as string,
      cluster: this.options.cluster.split('/').pop() as string,
    };
    if (!this.lb || !this.sidesTg) return { canary: base };
    const side = (tg: string): SubjectLabels => ({
      targetGroup: tg,
      loadBalancer: (this.lb as LoadBalancerLayout).loadBalancerArn,
      ...base,
    });
    return { canary: side(this.sidesTg.canary), baseline: side(this.sidesTg.stable) };
  }

  async promote(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    const arn = await this.deploymentOf(record, signal);
    if (!arn) throw new Error(`rollout ${record.id} names no ECS service deployment to finish`);
    const bakeMs = (this.service?.deploymentConfiguration?.bakeTimeInMinutes ?? 0) * MINUTE;
    await this.follow<void>(
      arn,
      `ECS to finish deployment ${serviceDeploymentId(arn)} (its bake time${bakeMs ? ` of ${formatDuration(bakeMs)}` : ''} and clean-up)`,
      this.options.waitTimeoutMs + bakeMs,
      async (d) => {
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        this.assertForward(d);
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: describeDeploymentState(d) };
      },
      signal,
      'to let ECS finish: every step passed',
    );
    const promoted = record.canary.replace(/@[^@]*$/, '');
    if (promoted)
      await recordPromotion(
        this.options.ecs,
        await this.serviceArn(signal),
        promoted,
        record.stable || undefined,
        this.log,
        signal,
      );
  }
}
