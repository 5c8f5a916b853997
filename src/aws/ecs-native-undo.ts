/**
 * Undoing a native rollout: stop the service deployment with rollback (or resolve the PAUSE
 * hook that holds it with ROLLBACK), or deploy the old revision again once ECS finished it;
 * and the analysis check that fails as soon as ECS stops moving the deployment forward.
 */
import type { CheckResult, ExtraCheck, Window } from '../analysis/types.js';
import type { RolloutRecord } from '../delivery/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import {
  describeRef,
  describeService,
  recentEvents,
  stoppedTaskReasons,
  taskDefinitionArn,
  taskDefinitionName,
} from './ecs.js';
import {
  continueServiceDeployment,
  describeDeploymentState,
  describeServiceDeployment,
  FORWARD,
  pausedHook,
  productionWeight,
  serviceDeploymentId,
  stopServiceDeployment,
} from './ecs-service-deployments.js';
import { targetGroupName, targetHealth } from './elbv2.js';
import { markRolledBack } from './ecs-last-good.js';
import { MINUTE, TOLERANCE } from './ecs-native-plan.js';
import { EcsNativeDeployments } from './ecs-native-deployment.js';

export abstract class EcsNativeUndo extends EcsNativeDeployments {
  /**
   * ECS returns the traffic: StopServiceDeployment ROLLBACK (or the PAUSE hook that holds a
   * paused rollout resolved with ROLLBACK, or the old revision deployed again once ECS
   * finished), followed until all production traffic is back (`onRestored`), then the new
   * revision marked rolled back.
   */
  async rollback(record: RolloutRecord, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const arn = await this.deploymentOf(record, signal);
    if (!arn) {
      this.log(`Rollout ${record.id} never started an ECS service deployment: nothing to undo.`);
      onRestored?.();
      return;
    }
    const id = serviceDeploymentId(arn);
    const d = await describeServiceDeployment(this.options.ecs, arn, signal);
    if (d.status === 'SUCCESSFUL' || d.status === 'STOPPED') {
      // Finished (or stopped where it was) before it could be taken back: deploy the old revision again.
      if (!record.stable)
        throw new UserError(
          `Deployment ${id} ${d.status === 'SUCCESSFUL' ? 'completed' : 'was stopped'}, and the record does not say which task definition ran before.`,
          'Run the rollback action with to: the task definition ARN to return to.',
        );
      this.log(`ECS service deployment ${id} is ${d.status}: deploying ${record.stable} again.`);
      await this.revert(taskDefinitionArn(record.stable, await this.serviceArn(signal)), signal, onRestored);
      await this.removeNewSide(record, signal);
      return;
    }
    if (d.status === 'ROLLBACK_FAILED') throw this.rollbackFailed(d);
    // A paused rollout's record keeps its deadline (pu) on the way to the restore: the hook that holds it is resolved with ROLLBACK.
    const hook = record.pauseUntil !== undefined && d.status && FORWARD.includes(d.status) ? pausedHook(d) : undefined;
    if (hook?.hookId) {
      this.log(
        `ECS holds deployment ${id} at its PAUSE hook: resolving it with ROLLBACK (ContinueServiceDeployment ROLLBACK); ECS returns all production traffic to ${record.stable || 'the old revision'} at once.`,
      );
      try {
        await continueServiceDeployment(this.options.ecs, arn, hook.hookId, 'ROLLBACK', signal);
      } catch (err) {
        const again = await describeServiceDeployment(this.options.ecs, arn, signal);
        if (!again.status || !FORWARD.includes(again.status)) {
          this.log(`  the hook was resolved meanwhile: ${describeDeploymentState(again)}.`);
        } else {
          this.log(
            `  the hook could not be resolved (${errorMessage(err)}); stopping the deployment with rollback instead (StopServiceDeployment ROLLBACK).`,
          );
          await stopServiceDeployment(this.options.ecs, arn, signal);
        }
      }
    } else if (d.status && FORWARD.includes(d.status)) {
      this.log(
        `Stopping ECS service deployment ${id} with rollback (StopServiceDeployment ROLLBACK): ECS returns all production traffic to ${record.stable || 'the old revision'} at once.`,
      );
      await stopServiceDeployment(this.options.ecs, arn, signal);
    } else {
      this.log(`ECS service deployment ${id} is already ${d.status}.`);
    }
    let restored = false;
    const ownSides = this.deploymentArn === arn && this.sidesTg !== undefined;
    await this.follow<void>(
      arn,
      `ECS to roll deployment ${id} back`,
      this.options.waitTimeoutMs,
      async (now) => {
        if (now.status === 'ROLLBACK_FAILED') throw this.rollbackFailed(now);
        if (!restored) {
          // The target groups are known only to the process that started the deployment; otherwise ECS's own figure.
          const back = ownSides
            ? (await this.traffic(now, signal)).stable >= 100 - TOLERANCE
            : now.status?.startsWith('ROLLBACK') && productionWeight(now) <= TOLERANCE;
          if (back && now.status !== 'IN_PROGRESS' && now.status !== 'PENDING') {
            restored = true;
            onRestored?.();
          }
        }
        if (now.status === 'ROLLBACK_SUCCESSFUL') return { done: true, value: undefined };
        return { done: false, status: describeDeploymentState(now) };
      },
      signal,
    );
    if (!restored) onRestored?.();
    await this.removeNewSide(record, signal);
  }

  /** After the rollback: ECS removed the new revision's tasks itself; the revision is marked rolled back. */
  async removeNewSide(record: RolloutRecord, signal?: AbortSignal): Promise<void> {
    await markRolledBack(this.options.ecs, await this.serviceArn(signal), record.canary, this.log, signal);
  }

  /**
   * Deploys an earlier task definition again (a new service deployment of the same strategy)
   * and follows it to the end, continuing every pause: nothing is judged on the way back.
   */
  async revert(taskDefinition: string, signal?: AbortSignal, onRestored?: () => void): Promise<void> {
    const arn = await this.startDeployment(taskDefinition, signal);
    this.log(
      `ECS service deployment ${serviceDeploymentId(arn)} returns ${describeRef(this.ref)} to ${taskDefinitionName(taskDefinition)}; ecs-deploy continues each pause.`,
    );
    await this.follow<void>(
      arn,
      `ECS to finish deploying ${taskDefinitionName(taskDefinition)} (deployment ${serviceDeploymentId(arn)})`,
      this.options.waitTimeoutMs +
        (this.service?.deploymentConfiguration?.bakeTimeInMinutes ?? 0) * MINUTE +
        this.stepTimeoutMs(),
      async (d) => {
        if (d.status === 'SUCCESSFUL') return { done: true, value: undefined };
        this.assertForward(d);
        const hook = pausedHook(d);
        if (hook?.hookId) return { paused: hook.hookId, stage: d.lifecycleStage ?? '?' };
        return { done: false, status: describeDeploymentState(d) };
      },
      signal,
      'on the way back',
    );
    onRestored?.();
  }

  /**
   * An analysis check that fails as soon as ECS stops moving the deployment forward (it
   * rolls back on its own alarm or circuit breaker, a hook timed out, someone stopped it),
   * so a bake does not wait out its time on a deployment ECS already took back.
   */
  deploymentCheck(): ExtraCheck {
    return {
      name: 'ecs-deployment',
      evaluate: async (_window: Window, signal?: AbortSignal): Promise<CheckResult> => {
        const arn = this.deploymentArn;
        if (!arn)
          return {
            name: 'ecs-deployment',
            verdict: 'pass',
            reason: 'no ECS service deployment started yet',
            judge: 'ecs',
          };
        const d = await describeServiceDeployment(this.options.ecs, arn, signal);
        try {
          this.assertForward(d);
        } catch (err) {
          return {
            name: 'ecs-deployment',
            verdict: 'fail',
            reason: err instanceof UserError ? err.message : errorMessage(err),
            judge: 'ecs',
          };
        }
        return {
          name: 'ecs-deployment',
          verdict: 'pass',
          reason: `ECS service deployment ${serviceDeploymentId(arn)} ${d.status}${d.lifecycleStage ? ` at ${d.lifecycleStage}` : ''}`,
          judge: 'ecs',
        };
      },
    };
  }

  async diagnose(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const tryAdd = async (what: string, f: () => Promise<string[]>) => {
      try {
        out.push(...(await f()));
      } catch (err) {
        out.push(`could not read ${what}: ${errorMessage(err)}`);
      }
    };
    const arn = this.deploymentArn;
    if (arn) {
      await tryAdd('the service deployment', async () => {
        const d = await describeServiceDeployment(this.options.ecs, arn, signal);
        return [
          `ECS service deployment ${serviceDeploymentId(arn)}: ${describeDeploymentState(d)}`,
          ...(d.rollback?.reason ? [`rollback: ${d.rollback.reason}`] : []),
        ];
      });
    }
    await tryAdd('the service events', async () =>
      recentEvents(await describeService(this.options.ecs, this.ref, signal), { since: this.startedAt, limit: 5 }),
    );
    const td = this.registeredTaskDefinitionArn;
    await tryAdd('stopped tasks', () =>
      stoppedTaskReasons(
        this.options.ecs,
        {
          cluster: this.options.cluster,
          serviceName: this.options.service.split('/').pop() as string,
          ...(td ? { taskDefinitionArn: td } : {}),
        },
        signal,
      ),
    );
    const canary = this.sidesTg?.canary;
    if (canary)
      await tryAdd('target health', async () =>
        (await targetHealth(this.options.elbv2, canary, signal)).problems.map(
          (p) => `target ${p} in ${targetGroupName(canary)}`,
        ),
      );
    return out;
  }
}
