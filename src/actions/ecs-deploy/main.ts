import { saveState } from '@actions/core';
import type { DeploymentConfiguration, ECSClient, Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import { cloudWatchClient } from '../../aws/alarms.js';
import { describeService, ecsClient } from '../../aws/ecs.js';
import { checkPauseHooks, EcsNativeTarget } from '../../aws/ecs-native-target.js';
import { credentialsLimit } from '../../aws/credential-limits.js';
import { EcsTaskSetTarget } from '../../aws/ecs-task-set-target.js';
import { elbv2Client } from '../../aws/elbv2.js';
import { checkBudget, runDeployStep, type DeployHooks, type RolloutIds } from '../../delivery/deploy-step.js';
import { stepNotifier } from '../../notify/step-notifier.js';
import { refusePaused } from '../../delivery/engine.js';
import type { RolloutPlan, RolloutRecord } from '../../delivery/types.js';
import type { StepContext } from '../../github/run.js';
import { checkSmoke, ecsAnalysis, watchAlarms, withoutIdleBakes } from './analysis.js';
import type { SpecAnalysis } from '../../analysis/analysis.js';
import { ROLLOUT_STATE, type RolloutState } from './post.js';
import { announce, diffBlock, dryRunFacts, ecsPauseHelp, finished, trafficFacts, unchanged } from './report.js';
import { pausedRecord, verifyCanary } from './resume.js';
import { newRevision, type Revision } from './revision.js';
import type { Settings } from './settings.js';
import { buildTarget, fitEngine, type EcsTarget } from './target.js';

/** Attempts per AWS call: throttling and 5xx during weight shifts are retried, with backoff. */
const MAX_ATTEMPTS = 5;

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  const notes = stepNotifier();
  const aws = { region: s.region, maxAttempts: MAX_ATTEMPTS };
  const ecs = ecsClient(aws);
  const elbv2 = elbv2Client(aws);
  const ref = { cluster: s.cluster, service: s.service };

  // Everything is read and checked before the first change.
  const service = await describeService(ecs, ref, signal);
  const fit = fitEngine(s, service, ref);
  const { choice } = fit;
  const revision = await newRevision(s, { ecs, service, ref, engine: choice.engine, signal });
  const alarms = await watchAlarms(s, cloudWatchClient(aws), signal);
  const built = await buildTarget(s, fit, { ecs, elbv2, ref, rendered: revision.rendered, alarms, signal });
  const { target } = built;
  const { spec, analysis, extraChecks } = ecsAnalysis(s, built, { aws, alarms });
  const plan = withoutIdleBakes(fit.basePlan, choice.engine, analysis);
  const serviceName = service.serviceName as string;
  checkSmoke(s, spec, built, { serviceName, engine: choice.engine });
  // Known once the deploy step names the rollout; the load rules need it at bake time.
  let deploymentId = '';
  await wireChecks(s, { target, spec, analysis, ecs, elbv2, service, deploymentId: () => deploymentId });

  // Before any change: the plan must fit the job, the runner and credentials that cannot renew,
  // and a native PAUSE hook must hold each step until it is judged (extension included).
  // A paused rollout is resumed at the step after its pause; this job runs up to the next pause (or the end).
  const paused = s.resume ? await pausedRecord(target, serviceName, signal) : undefined;
  if (fit.native)
    checkNativePauses(s, { config: service.deploymentConfiguration, plan, paused, spec, service: serviceName });
  if (!s.resume && !s.dryRun) refusePaused(target, await target.loadRecord(signal), Date.now());
  const limits = [s.jobLimit, ...[credentialsLimit()].filter((l) => l !== undefined)];
  checkBudget({ plan, paused, waitTimeoutMs: s.waitTimeoutMs, spec }, limits);

  const traffic = trafficFacts(target);
  const alarmed = extraChecks.length > 0;
  announce(target, { plan, spec, alarms: alarmed, revision });
  const hooks: DeployHooks = {
    dryRun: {
      note: 'Dry run: nothing was changed.',
      facts: dryRunFacts(target, { choice, plan, traffic, spec, alarms: alarmed, image: revision.image }),
    },
    // Nothing would change, and nothing is unfinished: leave the service alone.
    unchanged: async () => {
      const { liveArn } = revision;
      if (s.resume || revision.diff.length || !liveArn || s.force || (await target.loadRecord(signal))) return;
      return unchanged(service, target.engine, { ...revision, liveArn });
    },
    prepare: (ids) => prepare(s, { ecs, target, revision, ids, signal }),
    beforeRollout: async (ids) => {
      deploymentId = ids.deploymentId;
      await wireTarget(s, { target, spec, elbv2, deploymentId });
      return {};
    },
    verifyResume: (record: RolloutRecord) =>
      verifyCanary(ecs, record, target.registeredTaskDefinitionArn, revision.rendered, s.taskDefinition),
    finished: async () => finished(s, service, { target, revision, traffic }),
    pauseHelp: () => ecsPauseHelp(s, revision.image),
  };
  await runDeployStep(
    {
      action: 'ecs-deploy',
      platform: 'ecs',
      settings: s,
      notes,
      title: `${serviceName} on ${s.cluster.split('/').pop()} (ECS)`,
      service: serviceName,
      name: serviceName,
      place: s.cluster.split('/').pop() ?? s.cluster,
      image: revision.image,
      rollout: { target, plan, spec, analysis, paused },
      signal,
      changes: diffBlock(revision.diff),
    },
    hooks,
  );
  await notes.flush();
}

/** A pause this job may still reach must fit the PAUSE hook that holds it (a resume does not check the pause it continues). */
function checkNativePauses(
  s: Settings,
  o: {
    config: DeploymentConfiguration | undefined;
    plan: RolloutPlan;
    paused: RolloutRecord | undefined;
    spec: AnalysisSpec | undefined;
    service: string;
  },
): void {
  const { paused, plan } = o;
  const ahead: RolloutPlan = {
    ...plan,
    steps: plan.steps.map((step, i) =>
      paused && i <= paused.step && step.pause ? { weight: step.weight, bakeMs: step.bakeMs } : step,
    ),
  };
  checkPauseHooks(o.config ?? {}, ahead, `${s.cluster}/${o.service}`, {
    ...(o.spec ?? {}),
    pauseTimeoutMs: s.pauseTimeoutMs,
  });
}

/** Before the GitHub Deployment opens: the pre-deploy task, then what the post step needs to finish the rollout. */
async function prepare(
  s: Settings,
  o: { ecs: ECSClient; target: EcsTarget; revision: Revision; ids: RolloutIds; signal: AbortSignal },
): Promise<void> {
  const { deploymentId, runId } = o.ids;
  if (s.preDeploy) {
    const { runPreDeploy } = await import('./pre-deploy.js');
    await runPreDeploy(s.preDeploy, {
      ecs: o.ecs,
      region: s.region,
      cluster: s.cluster,
      service: s.service,
      rendered: o.revision.rendered,
      container: o.revision.container,
      deploymentId,
      runId,
      signal: o.signal,
    });
  }
  const resolved = o.target instanceof EcsTaskSetTarget ? o.target.resolved : undefined;
  const state: RolloutState = {
    cluster: s.cluster,
    service: s.service,
    region: s.region,
    engine: o.target.engine,
    runId,
    ...(resolved ? { route: resolved.route, targetGroups: [resolved.blue, resolved.green] } : {}),
  };
  saveState(ROLLOUT_STATE, JSON.stringify(state));
}

/**
 * Wiring that refuses before any change when the service cannot take it: smoke checks on
 * an ECS native deployment's test listener, and synthetic load to each side (load: in the
 * spec), both wrapped around the target and the analysis.
 */
async function wireChecks(
  s: Settings,
  o: {
    target: EcsTarget;
    spec: AnalysisSpec | undefined;
    analysis: SpecAnalysis | undefined;
    ecs: ECSClient;
    elbv2: ElasticLoadBalancingV2Client;
    service: Service;
    deploymentId: () => string;
  },
): Promise<void> {
  const { target, spec, elbv2, service } = o;
  if (spec?.smoke && !s.resume && target instanceof EcsNativeTarget) {
    const { smokeUrl, smokeListenerArn, waitTimeoutMs } = s;
    const options = { ecs: o.ecs, elbv2, cluster: s.cluster, service, smoke: spec.smoke, waitTimeoutMs };
    (await import('./native-smoke.js')).wireNativeSmoke(target, { ...options, smokeUrl, smokeListenerArn });
  }
  if (spec?.load)
    (await import('./load.js')).wireLoad(o.analysis, target, {
      load: spec.load,
      elbv2,
      service: service.serviceName as string,
      ...(s.smokeListenerArn ? { listenerArn: s.smokeListenerArn } : {}),
      deploymentId: o.deploymentId,
    });
}

/** Target wiring, just before the rollout: smoke checks through a listener rule on task sets. */
async function wireTarget(
  s: Settings,
  o: { target: EcsTarget; spec: AnalysisSpec | undefined; elbv2: ElasticLoadBalancingV2Client; deploymentId: string },
): Promise<void> {
  const { target, spec } = o;
  if (spec?.smoke && !s.resume && target instanceof EcsTaskSetTarget && target.resolved) {
    const { wireSmokeRule } = await import('./smoke.js');
    wireSmokeRule(target, {
      smoke: spec.smoke,
      elbv2: o.elbv2,
      route: target.resolved.route,
      deploymentId: o.deploymentId,
      ...(s.smokeUrl ? { url: s.smokeUrl } : {}),
      ...(s.smokeListenerArn ? { listenerArn: s.smokeListenerArn } : {}),
    });
  }
}
