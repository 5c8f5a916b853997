/**
 * ecs-deploy's synthetic load for quiet services (`load:` in the analysis spec). Only task
 * sets have two sides that can each be reached alone: during each bake, two listener rules
 * on the smoke header (`load-new-<id>` → the new task set's target group, `load-stable-<id>`
 * → stable's) carry the same bounded load to both sides, and are deleted the moment the
 * bake's load stops, whatever ended it (pass, failure, rollback, cancel). A rule a dead job
 * left forwards to the service's target groups, and the rollback's sweep removes it.
 *
 * `wireLoad` is one call from main.ts, made before any change: it refuses rolling and
 * native services, and otherwise wraps the analysis's bakes in place.
 */
import { info, warning } from '@actions/core';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SpecAnalysis } from '../../analysis/analysis.js';
import { boundedLoad, loadHeaderValue, withLoad, type LoadSpec, type LoadTarget } from '../../analysis/load.js';
import { describeSynthetic, unansweredSides } from '../../analysis/report.js';
import { SMOKE_HEADER } from '../../analysis/smoke.js';
import { EcsTaskSetTarget } from '../../aws/ecs-task-set-target.js';
import { listenerOf, openSmokeRule, removeSmokeRules } from '../../aws/smoke-rule.js';
import type { Target } from '../../delivery/types.js';
import { UserError } from '../../util/errors.js';

export interface WireLoadOptions {
  load: LoadSpec;
  elbv2: ElasticLoadBalancingV2Client;
  /** The service, for messages. */
  service: string;
  /** A test listener for the rules (smoke-listener-arn); default the production route's listener. */
  listenerArn?: string;
  /** The rollout's id, known once the rollout starts (the rules' header values). */
  deploymentId: () => string;
}

/**
 * Refuses load: where nothing reaches a side alone (before any change), and otherwise
 * makes every bake of `analysis` run the load through the header rules.
 */
export function wireLoad(analysis: SpecAnalysis | undefined, target: Target, o: WireLoadOptions): void {
  if (!(target instanceof EcsTaskSetTarget)) {
    throw new UserError(
      `The analysis spec has load:, but service ${o.service} runs ${target.engine === 'ecs-rolling' ? 'rolling updates' : 'ECS native deployments'}: nothing reaches the new version or stable alone, so synthetic load could not be sent to each side. Nothing was changed.`,
      target.engine === 'ecs-rolling'
        ? 'Remove load: from the spec, or move the service to the EXTERNAL controller (task sets).'
        : 'Remove load: from the spec (ECS shifts the traffic itself; there is no rule for each side), or move the service to the EXTERNAL controller (task sets).',
    );
  }
  if (!analysis) return;
  const generator = boundedLoad(o.load);
  const inner = {
    intervalMs: analysis.intervalMs,
    failureLimit: analysis.failureLimit,
    errorLimit: analysis.errorLimit,
    run: analysis.run.bind(analysis),
    bake: analysis.bake.bind(analysis),
  };
  const urls: Record<string, string> = {};
  const loaded = withLoad(
    inner,
    generator,
    async (_subjects, signal) => {
      const resolved = target.resolved;
      const green = target.newSideTargetGroup;
      if (!resolved || !green) throw new Error('synthetic load before the new task set exists');
      const stable = green === resolved.green ? resolved.blue : resolved.green;
      const listenerArn = o.listenerArn ?? listenerOf(resolved.route);
      const id = o.deploymentId();
      const values = { canary: loadHeaderValue('new', id), stable: loadHeaderValue('stable', id) };
      const release = async () => {
        // Also after a cancel: its own short deadline, not the job's signal.
        await removeSmokeRules(
          o.elbv2,
          listenerArn,
          { matching: (v) => v === values.canary || v === values.stable, targetGroups: [] },
          info,
          AbortSignal.timeout(30_000),
        );
      };
      const open = (side: 'canary' | 'stable', targetGroupArn: string) =>
        openSmokeRule(
          {
            elbv2: o.elbv2,
            listenerArn,
            ...(o.listenerArn ? {} : { route: resolved.route }),
            targetGroupArn,
            deploymentId: id,
            headerValue: values[side],
            purpose: { rule: 'Load rule', side: side === 'canary' ? 'the new task set' : 'the stable task set' },
            log: info,
          },
          signal,
        );
      let listenerUrl: string;
      try {
        listenerUrl = (await open('canary', green)).listenerUrl;
        await open('stable', stable);
      } catch (err) {
        await release().catch(() => undefined);
        throw err;
      }
      const targets: LoadTarget[] = (['canary', 'stable'] as const).map((side) => {
        urls[side] = o.load.urls[side] ?? listenerUrl;
        return { side, baseUrl: urls[side], headers: { [SMOKE_HEADER]: values[side] } };
      });
      info(
        `Synthetic load for this bake: ${o.load.rps} requests/s to each side (${urls.canary}${urls.canary === urls.stable ? '' : ` and ${urls.stable}`}), ${o.load.paths.join(', ')}.`,
      );
      return { targets, release };
    },
    (_total, bake) => {
      info(describeSynthetic(bake));
      for (const w of unansweredSides(bake, urls)) warning(w);
    },
  );
  analysis.bake = loaded.bake.bind(loaded);
}
