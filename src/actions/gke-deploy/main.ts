import { info, saveState, setSecret, warning } from '@actions/core';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import { stepNotifier } from '../../notify/step-notifier.js';
import { checkBudget, runDeployStep, type RolloutIds } from '../../delivery/deploy-step.js';
import { refusePaused } from '../../delivery/engine.js';
import type { RolloutRecord, Target } from '../../delivery/types.js';
import { connectCluster, lazyGoogleTokens } from '../../gcp/gke-connection.js';
import type { StepContext } from '../../github/run.js';
import type { Notifier } from '../../notify/notifier.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import { KubeCanaryTarget } from '../../k8s/canary-target.js';
import { KubeClient } from '../../k8s/client.js';
import { checkedState } from '../../k8s/record-check.js';
import { DEPLOYMENTS, resource } from '../../k8s/resources.js';
import { revisionOf, targetContainer } from '../../k8s/rollout.js';
import type { Deployment } from '../../k8s/types.js';
import { checkPinnedForProduction } from '../../release/image-pinning.js';
import { gkeAnalysis } from './analysis.js';
import { beforeRollout, stateNow } from './before-rollout.js';
import { ROLLOUT_STATE, type RolloutState } from './post.js';
import { announce, changesBlock, dryRunFacts, finished, gkePauseHelp, trafficOf, unchanged } from './report.js';
import { pausedRecord, verifyCanary } from './resume.js';
import type { Settings } from './settings.js';
import { buildTarget, checkSmoke, planFor, strategyFor } from './target.js';
import { newTemplate, serverCheck, type Source } from './template.js';

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  const notes = stepNotifier();
  for (const line of checkPinnedForProduction(s.environment, [{ what: 'image', image: s.image }], s.allowTag))
    warning(line);
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const google = lazyGoogleTokens(setSecret);
  const connection = await connectCluster(s.cluster, { google, onToken: setSecret, signal, cwd: workspace });
  const kube = new KubeClient(connection, { onWarning: (w) => warning(`Kubernetes API: ${w}`) });
  try {
    await deploy(s, ctx, kube, google, notes);
  } finally {
    kube.close();
    await notes.flush();
  }
}

async function deploy(
  s: Settings,
  ctx: StepContext,
  kube: KubeClient,
  google: ReturnType<typeof lazyGoogleTokens>,
  notes: Notifier,
): Promise<void> {
  const { signal } = ctx;
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  info(`Cluster: ${kube.connection.description}.`);

  // Everything is read and checked before the first change.
  const live = await resource(kube, DEPLOYMENTS, s.namespace).find(s.deployment, signal);
  // A rollout state left on the Deployment is untrusted: checked against the live objects, or refused here.
  if (live) await checkedState(kube, s.namespace, live, 'gke-deploy', signal);
  const source = newTemplate(s, live, workspace);
  const strategy = strategyFor(s, !live);
  const same = await serverCheck(kube, s, { live, source, signal });
  const { spec, analysis } = gkeAnalysis(s, google);
  const target = await buildTarget(kube, s, { strategy, source, analysis, signal });
  checkSmoke(s, spec, target, strategy);
  // Known once the deploy step names the rollout; the load's route rules need it at bake time.
  let rolloutId = '';
  // Synthetic load (load: in the spec): refused here, before any change, where no side is reached alone.
  if (spec?.load)
    (await import('./load.js')).wireLoad(analysis, target, {
      load: spec.load,
      kube,
      namespace: s.namespace,
      stableService: s.service ?? s.deployment,
      httpRoute: Boolean(s.httpRoute),
      deploymentId: () => rolloutId,
    });
  const plan = planFor(s, strategy, analysis);

  // Before any change: the plan must fit the job (a kubeconfig token that cannot renew is not
  // known to expire; see docs/actions/gke-deploy.md).
  // Resume: the paused canary, checked before anything changes; this job runs from the step after its pause.
  const paused = s.resume ? await pausedRecord(kube, s, signal) : undefined;
  if (!s.resume && !s.dryRun) refusePaused(target, (await stateNow(kube, s, signal)).record, Date.now());
  checkBudget({ plan, paused, waitTimeoutMs: s.waitTimeoutMs, spec }, [s.jobLimit]);
  const previousRevision = live ? String(revisionOf(live)) : '';
  const traffic = trafficOf(s, strategy);
  announce(s, target, { plan, spec, source, previousRevision });

  const where = `${s.namespace}/${s.deployment}`;
  await runDeployStep(
    {
      action: 'gke-deploy',
      platform: 'gke',
      settings: s,
      notes,
      title: `${where} (GKE)`,
      service: s.deployment,
      name: where,
      place: s.namespace,
      image: s.image,
      rollout: { target, plan, spec, analysis, paused },
      signal,
      changes: changesBlock(source.changes),
    },
    {
      dryRun: {
        note: 'Dry run: nothing was changed (the server checked the new template and the manifests).',
        facts: dryRunFacts(s, target, { plan, traffic, spec, previousRevision, unchanged: same }),
      },
      // Nothing would change, and nothing is unfinished or kept: leave the Deployment alone.
      unchanged: async () =>
        same && !s.force && !s.resume
          ? unchanged(s, { kube, source, live: live as Deployment, engine: target.engine, signal })
          : undefined,
      prepare: (ids) => prepare(s, { kube, target, source, ids, signal }),
      beforeRollout: async ({ runId, runs, deploymentId }) => {
        rolloutId = deploymentId;
        const before = await beforeRollout(s, { kube, target, strategy, source, runId, runs, signal });
        await wireTarget(s, { kube, target, spec, deploymentId });
        return before;
      },
      ...(target instanceof KubeCanaryTarget
        ? { verifyResume: (record: RolloutRecord) => verifyCanary(target, record, source.template, signal) }
        : {}),
      finished: (result) => finished(s, result, { kube, target, source, previousRevision, traffic }),
      pauseHelp: () => gkePauseHelp(s),
    },
  );
}

/** Before the GitHub Deployment opens: the pre-deploy Job, then what the post step needs to finish the rollout. */
async function prepare(
  s: Settings,
  o: { kube: KubeClient; target: Target; source: Source; ids: RolloutIds; signal: AbortSignal },
): Promise<void> {
  if (s.preDeploy && !s.resume) {
    const where = `Deployment ${s.namespace}/${s.deployment}`;
    const container = targetContainer(o.source.template, s.containerName, where).name;
    const { runPreDeploy } = await import('./pre-deploy.js');
    await runPreDeploy(s.preDeploy, {
      kube: o.kube,
      namespace: s.namespace,
      deployment: s.deployment,
      template: o.source.template,
      container,
      deploymentId: o.ids.deploymentId,
      signal: o.signal,
    });
  }
  const state: RolloutState = {
    cluster: s.cluster,
    namespace: s.namespace,
    deployment: s.deployment,
    engine: o.target.engine,
    runId: o.ids.runId,
    keepPreviousMs: s.keepPreviousMs,
    waitTimeoutMs: s.waitTimeoutMs,
  };
  saveState(ROLLOUT_STATE, JSON.stringify(state));
}

/**
 * Target wiring, just before the rollout: smoke checks through the new side's own Service
 * (blue-green's preview, or the canary's behind an HTTPRoute).
 */
async function wireTarget(
  s: Settings,
  o: { kube: KubeClient; target: Target; spec: AnalysisSpec | undefined; deploymentId: string },
): Promise<void> {
  const { target, spec } = o;
  if (spec?.smoke && !s.resume && (target instanceof KubeBlueGreenTarget || target instanceof KubeCanaryTarget)) {
    const { wireSmokeRoute } = await import('./smoke.js');
    wireSmokeRoute(target, {
      kube: o.kube,
      namespace: s.namespace,
      smoke: spec.smoke,
      deploymentId: o.deploymentId,
      ...(s.smokeUrl ? { url: s.smokeUrl } : {}),
    });
  }
}
