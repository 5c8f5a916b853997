/**
 * gke-deploy's target choice: the strategy (a first deploy is a plain rollout), the target
 * of that strategy (rolling, canary, blue-green) over the Deployment and its traffic
 * (HTTPRoute weights, replica ratio, Service selector), preflighted, and the steps.
 */
import { info, warning } from '@actions/core';
import type { SpecAnalysis } from '../../analysis/analysis.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import type { RolloutPlan, Target } from '../../delivery/types.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import { KubeCanaryTarget } from '../../k8s/canary-target.js';
import type { KubeClient } from '../../k8s/client.js';
import { KubeRollingTarget } from '../../k8s/rolling-target.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';
import type { Source } from './template.js';

export type GkeStrategy = Settings['strategy'];

/** What every GKE target takes: where the Deployment is, and how long to wait for it. */
export function commonOptions(kube: KubeClient, s: Settings) {
  return { kube, namespace: s.namespace, deployment: s.deployment, waitTimeoutMs: s.waitTimeoutMs, log: info };
}

/** A Deployment that does not exist yet is created with a plain rollout: a canary needs a running version. */
export function strategyFor(s: Settings, firstDeploy: boolean): GkeStrategy {
  const strategy = firstDeploy && s.strategy !== 'rolling' ? 'rolling' : s.strategy;
  if (strategy !== s.strategy)
    warning(
      `Deployment ${s.namespace}/${s.deployment} does not exist yet: the manifests create it with a plain rollout, since a ${s.strategy} needs a running version to compare with.`,
    );
  return strategy;
}

/** The target of the strategy, preflighted (it reads and checks the objects; nothing changes). */
export async function buildTarget(
  kube: KubeClient,
  s: Settings,
  o: { strategy: GkeStrategy; source: Source; analysis: SpecAnalysis | undefined; signal: AbortSignal },
): Promise<Target> {
  const { strategy, source, analysis } = o;
  const common = commonOptions(kube, s);
  let target: Target;
  if (strategy === 'rolling') {
    target = new KubeRollingTarget({
      ...common,
      ...(source.manifests.length ? { manifests: source.manifests } : { template: source.template }),
      ...(s.service ? { service: s.service } : {}),
    });
  } else {
    const side = {
      ...common,
      template: source.template,
      ...(source.manifest ? { stableManifest: source.manifest } : {}),
      ...(s.httpRoute ? { route: s.httpRoute } : {}),
      ...(s.service ? { service: s.service } : {}),
    };
    target =
      strategy === 'canary'
        ? new KubeCanaryTarget(side)
        : new KubeBlueGreenTarget({
            ...side,
            keepPreviousMs: s.keepPreviousMs,
            ...(analysis ? { preview: { analysis, durationMs: s.stepDurationMs } } : {}),
          });
  }
  await target.preflight(o.signal);
  return target;
}

function noSmokeSide(strategy: GkeStrategy): UserError {
  const rolling = strategy === 'rolling';
  return new UserError(
    `The analysis spec has smoke checks, but ${rolling ? 'a rolling update has no new side without traffic' : 'a canary without http-route shares the stable Service, so nothing reaches the canary alone'}. Nothing was changed.`,
    rolling
      ? 'Use strategy canary (with http-route) or blue-green, or remove smoke: from the spec.'
      : 'Give http-route, use strategy blue-green (its preview Service), or remove smoke: from the spec.',
  );
}

function smokeUrlWithoutChecks(): UserError {
  return new UserError(
    'smoke-url is set, but the analysis spec has no smoke: section, so there is nothing to check.',
    'Add smoke: checks to the analysis spec (docs/analysis.md), or remove smoke-url.',
  );
}

/** Smoke checks need a new side that production traffic does not reach: the canary's or green's own Service. */
export function checkSmoke(s: Settings, spec: AnalysisSpec | undefined, target: Target, strategy: GkeStrategy): void {
  const ownService = target instanceof KubeBlueGreenTarget || (target instanceof KubeCanaryTarget && s.httpRoute);
  if (spec?.smoke && !s.resume && !ownService) throw noSmokeSide(strategy);
  if (s.smokeUrl && !spec?.smoke) throw smokeUrlWithoutChecks();
}

/** The steps: the strategy's, one step for a first deploy, and no idle bakes where nothing judges them. */
export function planFor(s: Settings, strategy: GkeStrategy, analysis: SpecAnalysis | undefined): RolloutPlan {
  const plan: RolloutPlan =
    strategy === s.strategy ? s.plan : { strategy: 'rolling', steps: [{ weight: 100, bakeMs: s.stepDurationMs }] };
  // Nothing would judge the bake: the rollout is done when the Deployment is (blue-green keeps blue for a revert anyway).
  if (analysis || strategy === 'canary') return plan;
  return { ...plan, steps: plan.steps.map((step) => ({ ...step, bakeMs: 0 })) };
}
