import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info, saveState, setFailed, setSecret, warning } from '@actions/core';
import { createAnalysis, type SpecAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { createWebProvider } from '../../analysis/web.js';
import { renderAnalysisMarkdown } from '../../analysis/report.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import type { MetricProvider } from '../../analysis/types.js';
import { refusePaused, recoverRollout, runRollout } from '../../delivery/engine.js';
import { refuseLiveOwner } from '../../delivery/ownership.js';
import { checkTimeBudget, describeBudget } from '../../delivery/time-budget.js';
import { describePlan, planSegment } from '../../delivery/plan.js';
import { describeRecord } from '../../delivery/record.js';
import { renderPausedMarkdown, renderRolloutMarkdown, rolloutReport } from '../../delivery/report.js';
import type { RecoveryResult, RolloutPlan, RolloutRecord, RolloutResult, Target } from '../../delivery/types.js';
import { CREDENTIALS_VARIABLES } from '../../gcp/access-token.js';
import { createCloudMonitoringProvider, managedPrometheusProvider } from '../../gcp/cloud-monitoring.js';
import { connectCluster, lazyGoogleTokens } from '../../gcp/gke-connection.js';
import {
  finishRecord,
  recordUnchangedStep,
  resumeRecord,
  startRecord,
  type OpenDeployment,
} from '../../github/deployment-record.js';
import { newDeploymentId, runAttemptId, runContext, runUrl, type RunContext } from '../../github/context.js';
import { inputs } from '../../github/inputs.js';
import { code, codeBlock, details, facts, heading } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { runStatusChecker } from '../../github/runs.js';
import { writeSummary } from '../../github/summary.js';
import { notifier, type Notifier } from '../../notify/notifier.js';
import { about, rolloutNotification } from '../../notify/rollout-events.js';
import { KubeBlueGreenTarget, type PreviewOutcome } from '../../k8s/blue-green-target.js';
import { KubeCanaryTarget } from '../../k8s/canary-target.js';
import { KubeClient } from '../../k8s/client.js';
import {
  applyManifests,
  manifestFiles,
  readManifests,
  substituteImage,
  type Manifest,
  type Substitution,
} from '../../k8s/manifests.js';
import { clone, DEPLOYMENTS, resource } from '../../k8s/resources.js';
import { KubeRollingTarget } from '../../k8s/rolling-target.js';
import { revisionOf, targetContainer } from '../../k8s/rollout.js';
import { checkedState, type CheckedState } from '../../k8s/record-check.js';
import { keptOf, recordOf } from '../../k8s/rollout-state.js';
import { recoveryTarget } from '../../k8s/targets.js';
import type { Deployment, PodTemplateSpec } from '../../k8s/types.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { ROLLOUT_STATE, type RolloutState } from './post.js';
import { checkPinnedForProduction } from '../../release/image-pinning.js';
import type { Settings } from './settings.js';

/** Labels the GKE targets give each side, for `{{placeholders}}` in analysis queries. */
const LABELS = ['namespace', 'deployment', 'service', 'track'];

interface Source {
  template: PodTemplateSpec;
  /** The Deployment as the manifests give it, when they do. */
  manifest: Deployment | undefined;
  /** Every manifest, and those applied before the rollout (all but the Deployment, for canary and blue-green). */
  manifests: Manifest[];
  substitutions: Substitution[];
  /** "container app: ghcr.io/acme/web:1 → ghcr.io/acme/web:2" */
  changes: string[];
}

/** The new pod template: the Deployment in the manifests, or the live one, with the image put in. */
function newTemplate(s: Settings, live: Deployment | undefined, workspace: string): Source {
  let manifests: Manifest[] = [];
  let substitutions: Substitution[] = [];
  if (s.manifests.length) {
    manifests = readManifests(manifestFiles(s.manifests, workspace));
    substitutions = substituteImage(manifests, s.image, {
      deployment: s.deployment,
      ...(s.containerName ? { containerName: s.containerName } : {}),
    });
  }
  const found = manifests.find((m) => m.kind.kind === 'Deployment' && m.object.metadata?.name === s.deployment);
  if (found?.object.metadata?.namespace && found.object.metadata.namespace !== s.namespace) {
    throw new UserError(
      `${found.file} puts Deployment ${s.deployment} in namespace ${found.object.metadata.namespace}, but namespace is ${s.namespace}.`,
      'Make them agree: set namespace, or drop metadata.namespace from the manifest.',
    );
  }
  const manifest = found?.object as Deployment | undefined;
  const base = manifest?.spec?.template ?? live?.spec?.template;
  if (!base) {
    throw new UserError(
      `Deployment ${s.namespace}/${s.deployment} does not exist and the manifests do not create it.`,
      'Check deployment and namespace, or pass manifests that hold the Deployment.',
    );
  }
  const template = clone(base);
  const where = manifest ? `Deployment ${s.deployment} in ${found?.file}` : `Deployment ${s.namespace}/${s.deployment}`;
  const container = targetContainer(template, s.containerName, where);
  container.image = s.image;
  const before = live
    ? targetContainer(live.spec?.template ?? {}, container.name, `Deployment ${s.namespace}/${s.deployment}`).image
    : undefined;
  const changes = [
    ...(before !== s.image ? [`container ${container.name}: ${before ?? '(new)'} → ${s.image}`] : []),
    ...substitutions
      .filter((x) => !(x.object === `Deployment/${s.deployment}` && x.container === container.name))
      .map((x) => `${x.object} container ${x.container}: ${x.from} → ${x.to}`),
  ];
  return { template, manifest, manifests, substitutions, changes };
}

/** Metric providers: Prometheus (given URL, or Managed Prometheus), Cloud Monitoring where Google credentials exist. */
function metricProviders(s: Settings, google: ReturnType<typeof lazyGoogleTokens>): Record<string, MetricProvider> {
  const providers: Record<string, MetricProvider> = {};
  const googleCredentials = s.cluster.kind === 'gke' || CREDENTIALS_VARIABLES.some((v) => process.env[v]);
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  providers.web = createWebProvider();
  if (s.projectId && googleCredentials) {
    const token = () => google.token();
    providers.prometheus ??= managedPrometheusProvider({ project: s.projectId, token });
    providers['cloud-monitoring'] = createCloudMonitoringProvider({ project: s.projectId, token });
  }
  return providers;
}

function analysisSpec(s: Settings, providers: Record<string, MetricProvider>): AnalysisSpec | undefined {
  const text = s.analysis.trim();
  if (text === 'none') return undefined;
  const defaultProvider = providers.prometheus ? 'prometheus' : undefined;
  if ((text === '' || text === 'default') && !defaultProvider) {
    info(
      'No analysis: no Prometheus is known (give prometheus-url, or project-id with gcp-auth for Managed Prometheus), and no analysis spec was given.',
    );
    return undefined;
  }
  return parseAnalysisSpec(text, {
    ...(defaultProvider ? { defaultProvider } : {}),
    providers: Object.keys(providers),
    labels: LABELS,
  });
}

function reportPath(deploymentId: string): string {
  const dir = join(process.env.RUNNER_TEMP || tmpdir(), 'platform-actions');
  mkdirSync(dir, { recursive: true });
  return join(dir, `gke-deploy-${deploymentId}.json`);
}

/**
 * The Deployment already runs what this step would deploy: say so, apply the other objects
 * of the manifests (as kubectl apply would), set the outputs, and record the GitHub
 * Deployment as successful and unchanged.
 */
async function leaveUnchanged(
  s: Settings,
  at: { kube: KubeClient; source: Source; live: Deployment; engine: string; signal: AbortSignal },
): Promise<void> {
  const where = `${s.namespace}/${s.deployment}`;
  const revision = String(revisionOf(at.live));
  const reason = `Nothing to roll out: Deployment ${where} already runs ${s.image} (revision ${revision}), and the server's dry run changes nothing in it. Set force: true to roll it out again.`;
  info(reason);
  const rows: Array<[string, string]> = [
    ['Engine', code(at.engine)],
    ['Image', code(s.image)],
    ['Revision', revision],
  ];
  const others = at.source.manifests.filter((m) => m.object !== (at.source.manifest as unknown));
  if (others.length) {
    const applied = await applyManifests(at.kube, others, { namespace: s.namespace, signal: at.signal });
    const names = applied.map((a) => `${a.kind} ${a.name}`).join(', ');
    info(`Applied ${applied.length} other object(s) from the manifests: ${names}.`);
    rows.push(['Manifests applied', names]);
  }
  outputs.set('status', 'succeeded');
  outputs.set('revision', revision);
  outputs.set('deployment-id', '');
  outputs.set('duration-seconds', 0);
  outputs.set('analysis-report', '');
  const recorded = await recordUnchangedStep(s, {
    image: s.image,
    description: `${where} already runs ${s.image} (${s.environment})`,
    payload: { service: s.deployment, platform: 'gke', engine: at.engine },
    finished: `Already running revision ${revision}; nothing rolled out.`,
  });
  if (recorded !== undefined) {
    outputs.set('github-deployment-id', recorded);
    rows.push(['GitHub Deployment', `${recorded} (${s.environment})`]);
  }
  await writeSummary(heading(`✅ ${where} (GKE): unchanged`) + `${reason}\n\n` + facts(rows));
}

/** The rollout state on the Deployment now, checked (nothing when it is gone). */
async function stateNow(kube: KubeClient, s: Settings, signal: AbortSignal): Promise<CheckedState> {
  const d = await resource(kube, DEPLOYMENTS, s.namespace).find(s.deployment, signal);
  return d
    ? checkedState(kube, s.namespace, d, 'gke-deploy', signal)
    : { record: undefined, layout: undefined, kept: undefined };
}

export async function main(s: Settings, ctx: StepContext): Promise<void> {
  const { signal } = ctx;
  // Webhook URLs are masked before anything else is printed; a notification never fails or holds up the rollout.
  const context = runContext();
  const notes = notifier(inputs.string('notify', ''), {
    mask: setSecret,
    info,
    warn: warning,
    ...(context.runId && context.repository ? { runUrl: runUrl(context) } : {}),
  });
  for (const line of checkPinnedForProduction(s.environment, [{ what: 'image', image: s.image }], s.allowTag))
    warning(line);
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const google = lazyGoogleTokens(setSecret);
  const connection = await connectCluster(s.cluster, { google, onToken: setSecret, signal, cwd: workspace });
  const kube = new KubeClient(connection, { onWarning: (w) => warning(`Kubernetes API: ${w}`) });
  try {
    await deploy(s, ctx, kube, google, { notes, context });
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
  { notes, context }: { notes: Notifier; context: RunContext },
): Promise<void> {
  const { signal } = ctx;
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const deployments = resource(kube, DEPLOYMENTS, s.namespace);
  const where = `${s.namespace}/${s.deployment}`;
  info(`Cluster: ${kube.connection.description}.`);

  // Everything is read and checked before the first change.
  const live = await deployments.find(s.deployment, signal);
  // A rollout state left on the Deployment is untrusted: checked against the live objects, or refused here.
  if (live) await checkedState(kube, s.namespace, live, 'gke-deploy', signal);
  const source = newTemplate(s, live, workspace);
  const firstDeploy = !live;
  const strategy = firstDeploy && s.strategy !== 'rolling' ? 'rolling' : s.strategy;
  if (strategy !== s.strategy)
    warning(
      `Deployment ${where} does not exist yet: the manifests create it with a plain rollout, since a ${s.strategy} needs a running version to compare with.`,
    );
  // The server checks the new template and the manifests (dry run): a mistake fails here, not half way.
  const checked = live
    ? await deployments.update(
        s.deployment,
        (d) => ({ ...d, spec: { ...(d.spec as NonNullable<Deployment['spec']>), template: clone(source.template) } }),
        { dryRun: true, signal },
      )
    : undefined;
  const checkedManifests = source.manifests.length
    ? await applyManifests(kube, source.manifests, { namespace: s.namespace, dryRun: true, signal })
    : [];
  // The server bumps the generation on any change to the spec: the same one means nothing would change.
  const nextGeneration = source.manifest
    ? checkedManifests.find((a) => a.kind === 'Deployment' && a.name === s.deployment)?.generation
    : checked?.object.metadata?.generation;
  const unchanged =
    live !== undefined &&
    nextGeneration !== undefined &&
    nextGeneration === live.metadata?.generation &&
    !recordOf(live) &&
    !keptOf(live);

  const common = { kube, namespace: s.namespace, deployment: s.deployment, waitTimeoutMs: s.waitTimeoutMs, log: info };
  const providers = metricProviders(s, google);
  const spec = analysisSpec(s, providers);
  const analysis: SpecAnalysis | undefined = spec ? createAnalysis(spec, { providers }) : undefined;

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
  await target.preflight(signal);
  // Smoke checks need a new side that production traffic does not reach: the canary's or green's own Service.
  if (
    spec?.smoke &&
    !s.resume &&
    !(target instanceof KubeBlueGreenTarget || (target instanceof KubeCanaryTarget && s.httpRoute))
  ) {
    throw new UserError(
      `The analysis spec has smoke checks, but ${strategy === 'rolling' ? 'a rolling update has no new side without traffic' : 'a canary without http-route shares the stable Service, so nothing reaches the canary alone'}. Nothing was changed.`,
      strategy === 'rolling'
        ? 'Use strategy canary (with http-route) or blue-green, or remove smoke: from the spec.'
        : 'Give http-route, use strategy blue-green (its preview Service), or remove smoke: from the spec.',
    );
  }
  if (s.smokeUrl && !spec?.smoke) {
    throw new UserError(
      'smoke-url is set, but the analysis spec has no smoke: section, so there is nothing to check.',
      'Add smoke: checks to the analysis spec (docs/analysis.md), or remove smoke-url.',
    );
  }
  // Synthetic load (load: in the spec): refused here, before any change, where no side is reached alone.
  if (spec?.load)
    (await import('./load.js')).wireLoad(analysis, target, {
      load: spec.load,
      kube,
      namespace: s.namespace,
      stableService: s.service ?? s.deployment,
      httpRoute: Boolean(s.httpRoute),
      deploymentId: () => deploymentId,
    });

  let plan: RolloutPlan =
    strategy === s.strategy ? s.plan : { strategy: 'rolling', steps: [{ weight: 100, bakeMs: s.stepDurationMs }] };
  if (!analysis && strategy !== 'canary') {
    // Nothing would judge the bake: the rollout is done when the Deployment is (blue-green keeps blue for a revert anyway).
    plan = { ...plan, steps: plan.steps.map((step) => ({ ...step, bakeMs: 0 })) };
  }
  // Before any change: the plan must fit the job (a kubeconfig token that cannot renew is not
  // known to expire; see docs/actions/gke-deploy.md).
  // Resume: the paused canary, checked before anything changes; this job runs from the step after its pause.
  const paused = s.resume ? await pausedRecord(kube, s, signal) : undefined;
  if (!s.resume && !s.dryRun) refusePaused(target, (await stateNow(kube, s, signal)).record, Date.now());
  const budget = checkTimeBudget(
    {
      plan: planSegment(plan, paused ? paused.step + 1 : 0),
      waitTimeoutMs: s.waitTimeoutMs,
      ...(spec ? { analysis: spec } : {}),
    },
    [s.jobLimit],
  );
  info(describeBudget(budget, [s.jobLimit]));
  const previousRevision = live ? String(revisionOf(live)) : '';
  const traffic =
    strategy === 'rolling'
      ? `the Deployment's rolling update`
      : s.httpRoute
        ? `HTTPRoute ${code(s.httpRoute)}: ${code(s.service ?? s.deployment)} and ${code(`${s.service ?? s.deployment}-${strategy === 'canary' ? 'canary' : 'preview'}`)}`
        : strategy === 'canary'
          ? `replica ratio behind Service ${code(s.service ?? s.deployment)} (approximate)`
          : `the selector of Service ${code(s.service ?? s.deployment)}`;
  info(`Engine ${target.engine}: ${target.description}.`);
  info(`Plan: ${describePlan(plan)}.`);
  info(
    `Analysis: ${spec ? `${spec.source}, ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}, a run every ${formatDuration(spec.intervalMs)}` : 'none'}.`,
  );
  info(
    source.changes.length
      ? `Changes:\n${source.changes.map((l) => `  ${l}`).join('\n')}`
      : `Deployment ${where} runs ${s.image} already; its template does not change.`,
  );
  outputs.set('engine', target.engine);
  outputs.set('previous-revision', previousRevision);
  outputs.set('image', s.image);
  const changesBlock = details(
    `Changes (${source.changes.length})`,
    source.changes.length ? codeBlock(source.changes.join('\n')) : 'No changes to the pod template.',
  );

  if (s.dryRun) {
    info('Dry run: nothing was changed (the server checked the new template and the manifests).');
    await writeSummary(
      heading(`Dry run: ${where} (GKE)`) +
        facts([
          ['Engine', `${code(target.engine)}: ${target.description}`],
          ['Steps', describePlan(plan)],
          ['Traffic', traffic],
          ['Analysis', spec ? `${spec.source}: ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}` : 'none'],
          ['Image', code(s.image)],
          ['Revision now', previousRevision || '(the manifests create the Deployment)'],
          ...(unchanged
            ? ([
                [
                  'Would change',
                  s.force
                    ? 'nothing in the Deployment; force: true rolls it out anyway'
                    : `nothing in the Deployment: it would be left alone (${code('force: true')} rolls it out anyway)`,
                ],
              ] as Array<[string, string]>)
            : []),
        ]) +
        '\n' +
        changesBlock,
    );
    return;
  }

  // Nothing would change, and nothing is unfinished or kept: leave the Deployment alone.
  if (unchanged && !s.force && !s.resume) {
    await leaveUnchanged(s, { kube, source, live: live as Deployment, engine: target.engine, signal });
    return;
  }

  // Never backwards by accident, and a promotion still holds now that the deploy starts.
  const subject = about({
    service: s.deployment,
    environment: s.environment ?? s.namespace,
    release: context.sha || 'unknown',
    image: s.image,
  });
  try {
    await (
      await import('../../release/release-order.js')
    ).guardDeployStep(s, { service: s.deployment, image: s.image });
  } catch (err) {
    await notes.send({ event: 'held', ...subject, summary: `Not deployed: ${errorMessage(err)}`.slice(0, 1000) });
    throw err;
  }

  const run = runContext();
  const deploymentId = paused?.id ?? newDeploymentId(run);
  const runId = runAttemptId(run);
  if (s.preDeploy && !s.resume) {
    const container = targetContainer(source.template, s.containerName, `Deployment ${where}`).name;
    await (
      await import('./pre-deploy.js')
    ).runPreDeploy(s.preDeploy, {
      kube,
      namespace: s.namespace,
      deployment: s.deployment,
      template: source.template,
      container,
      deploymentId,
      signal,
    });
  }
  const state: RolloutState = {
    cluster: s.cluster,
    namespace: s.namespace,
    deployment: s.deployment,
    engine: target.engine,
    runId,
    keepPreviousMs: s.keepPreviousMs,
    waitTimeoutMs: s.waitTimeoutMs,
  };
  saveState(ROLLOUT_STATE, JSON.stringify(state));

  const track = {
    image: s.image,
    description: `Deploy ${s.image} to ${where} (${s.environment})`,
    payload: { service: s.deployment, platform: 'gke' as const, engine: target.engine },
  };
  const tracked: OpenDeployment | undefined = paused
    ? await resumeRecord(s, paused.githubDeployment, {
        ...track,
        resuming: `Resuming the canary of ${s.image} at ${paused.weight}%`,
      })
    : await startRecord(s, track);
  if (tracked) {
    outputs.set('github-deployment-id', tracked.id);
    info(`Recording GitHub Deployment ${tracked.id} to ${s.environment}.`);
  }

  void notes.send({
    event: 'started',
    ...subject,
    summary: paused
      ? `Resuming the canary paused at ${paused.weight}%: ${describePlan(planSegment(plan, paused.step + 1))}.`
      : `Rolling out with ${target.engine}: ${describePlan(plan)}.`,
  });
  let result: RolloutResult;
  try {
    // An unfinished rollout (a killed job with no post step) is finished first, by the engine that wrote it.
    let recovered: RecoveryResult | undefined;
    const { record: found } = await stateNow(kube, s, signal);
    const runs = await runStatusChecker(s.githubToken, info);
    if (found && !s.resume) {
      // Never finish a rollout that another run is still driving (GitHub's word, else the record's lease).
      const why = await refuseLiveOwner(target.description, found, {
        now: Date.now(),
        runId,
        ...(runs ? { ownerAlive: runs.ownerAlive } : {}),
        log: info,
      });
      info(`Found an unfinished ${describeRecord(found)}; ${why}. Finishing it before this rollout.`);
      recovered = await recoverRollout(
        recoveryTarget(found.engine, { ...common, keepPreviousMs: s.keepPreviousMs }),
        found,
        { signal, log: info },
      );
      info(`The earlier rollout ${found.id} was ${recovered.action} in ${formatDuration(recovered.durationMs)}.`);
    }
    // A blue kept by an earlier blue-green rollout: this deploy supersedes it.
    const { kept } = await stateNow(kube, s, signal);
    let retired: string | undefined;
    if (kept) {
      const until = new Date(kept.until * 1000).toISOString();
      info(
        `Rollout ${kept.id} kept blue (ReplicaSet ${kept.blue}) for instant revert until ${until}; this deploy supersedes it: retiring blue first.`,
      );
      const started = Date.now();
      await new KubeBlueGreenTarget({ ...common, keepPreviousMs: 0 }).retire(kept, signal);
      retired = `blue of rollout ${kept.id} (kept until ${until}) retired in ${formatDuration(Date.now() - started)}: ${s.deployment} took ${kept.green}'s template`;
      info(`Retired: ${retired}.`);
    }
    // Resume: the manifests were applied when the canary started; only the rollout goes on.
    if (strategy !== 'rolling' && source.manifests.length && !s.resume) {
      const others = source.manifests.filter((m) => m.object !== (source.manifest as unknown));
      if (others.length) {
        const applied = await applyManifests(kube, others, { namespace: s.namespace, signal });
        info(
          `Applied ${applied.length} object(s) from the manifests: ${applied.map((a) => `${a.kind} ${a.name}`).join(', ')}${source.manifest ? `; Deployment ${s.deployment}'s goes to the ${strategy === 'canary' ? 'canary' : 'green side'} now and to ${s.deployment} at promotion` : ''}.`,
        );
      }
    }
    if (spec?.smoke && !s.resume && (target instanceof KubeBlueGreenTarget || target instanceof KubeCanaryTarget)) {
      (await import('./smoke.js')).wireSmokeRoute(target, {
        kube,
        namespace: s.namespace,
        smoke: spec.smoke,
        deploymentId,
        ...(s.smokeUrl ? { url: s.smokeUrl } : {}),
      });
    }
    result = await runRollout({
      target,
      plan,
      ...(analysis ? { analysis } : {}),
      deploymentId,
      rollbackOnFailure: s.rollbackOnFailure,
      runId,
      signal,
      log: info,
      ...(runs ? { ownerAlive: runs.ownerAlive } : {}),
      pauseTimeoutMs: s.pauseTimeoutMs,
      ...(tracked ? { githubDeployment: tracked.id } : {}),
      ...(s.resume && target instanceof KubeCanaryTarget
        ? {
            resume: {
              verify: (record: RolloutRecord) =>
                verifyCanary(target as KubeCanaryTarget, record, source.template, signal),
            },
          }
        : {}),
    });
    if (recovered) result = { ...result, recovered };
    if (retired)
      result.timeline.unshift({ at: result.startedAt, kind: 'note', message: `Before this rollout: ${retired}.` });
  } catch (err) {
    await finishRecord(tracked, 'error', `gke-deploy stopped: ${errorMessage(err)}`);
    await notes.send({
      event: 'failed',
      ...subject,
      summary: `gke-deploy stopped: ${errorMessage(err)}`.slice(0, 1000),
    });
    throw err;
  }

  const after = await deployments.find(s.deployment).catch(() => undefined);
  const preview: PreviewOutcome | undefined = target instanceof KubeBlueGreenTarget ? target.previewOutcome : undefined;
  const keptNow = target instanceof KubeBlueGreenTarget && result.status === 'succeeded' ? target.kept : undefined;
  const revision = keptNow || !after ? '' : String(revisionOf(after));
  const path = reportPath(deploymentId);
  writeFileSync(
    path,
    JSON.stringify(
      {
        ...rolloutReport(result, spec),
        deployment: { namespace: s.namespace, name: s.deployment, cluster: kube.connection.description },
        image: s.image,
        revision,
        previousRevision,
        changes: source.changes,
        ...(preview ? { preview: { verdict: preview.verdict, reason: preview.reason } } : {}),
        ...(keptNow
          ? {
              keptBlue: {
                replicaSet: keptNow.blue,
                green: keptNow.green,
                until: new Date(keptNow.until * 1000).toISOString(),
              },
            }
          : {}),
      },
      null,
      2,
    ),
  );
  outputs.set('status', result.status);
  outputs.set('revision', revision);
  outputs.set('deployment-id', deploymentId);
  outputs.set('duration-seconds', Math.round((result.finishedAt - result.startedAt) / 1000));
  outputs.set('analysis-report', path);

  const extra: string[] = [];
  if (preview?.bake && preview.verdict !== 'skipped')
    extra.push(renderAnalysisMarkdown(preview.bake, { title: 'Preview, before the switch' }));
  await writeSummary(
    renderRolloutMarkdown(result, {
      title: `${where} (GKE)`,
      ...(spec ? { spec } : {}),
      facts: [
        ['Image', code(s.image)],
        [
          'Revision',
          revision
            ? `${revision} (was ${previousRevision || 'none'})`
            : keptNow
              ? `${s.deployment} stays on ${previousRevision} until blue is retired; the new version runs in ${code(keptNow.green)}`
              : previousRevision,
        ],
        ['Traffic', traffic],
        ...(preview ? ([['Preview', preview.reason]] as Array<[string, string]>) : []),
        ...(keptNow
          ? ([
              [
                'Blue kept',
                `ReplicaSet ${code(keptNow.blue)} until ${new Date(keptNow.until * 1000).toISOString()}, for an instant revert with the rollback action`,
              ],
            ] as Array<[string, string]>)
          : []),
        ...(tracked ? ([['GitHub Deployment', `${tracked.id} (${s.environment})`]] as Array<[string, string]>) : []),
      ],
    }) +
      '\n' +
      extra.join('\n') +
      changesBlock +
      (result.paused ? '\n' + renderPausedMarkdown(result, pauseHelp(s)) : ''),
  );

  await finishRecord(
    tracked,
    result.status,
    result.paused
      ? `Paused at ${result.paused.weight}% until ${new Date(result.paused.until).toISOString()}; waiting for a resume`
      : result.reason,
  );
  await notes.send(rolloutNotification(result, subject));
  // A pause is a success of this job: every step so far passed, and the canary waits for its resume.
  if (result.status !== 'succeeded' && result.status !== 'paused') setFailed(result.reason);
  else info(result.reason);
}

/** Resume: the Deployment's paused rollout, checked to be one (the engine checks again when it takes it over). */
async function pausedRecord(kube: KubeClient, s: Settings, signal: AbortSignal): Promise<RolloutRecord> {
  const { record } = await stateNow(kube, s, signal);
  if (record?.phase === 'paused') {
    info(`Resuming ${describeRecord(record)}.`);
    return record;
  }
  const where = `Deployment ${s.namespace}/${s.deployment}`;
  throw new UserError(
    record
      ? `resume is true, but ${where} carries ${describeRecord(record)}, which is not paused, so there is nothing to resume. Nothing was changed.`
      : `resume is true, but ${where} has no paused rollout (no rollout record on it). Nothing was changed.`,
    record
      ? 'If its run is still going, wait for it; otherwise run the rollback action (or deploy with resume: false, which finishes it first).'
      : 'Deploy with resume: false to start a new rollout; a resume continues only a rollout that paused at a pause step.',
  );
}

/** Resume: the paused canary must run the images this job was given, container by container. */
async function verifyCanary(
  target: KubeCanaryTarget,
  record: RolloutRecord,
  wanted: PodTemplateSpec,
  signal: AbortSignal,
): Promise<void> {
  const running = new Map(
    ((await target.canaryTemplate(signal))?.spec?.containers ?? []).map((c) => [c.name, c.image]),
  );
  const differ = (wanted.spec?.containers ?? []).filter((c) => running.get(c.name) !== c.image);
  if (differ.length) {
    throw new UserError(
      `The paused canary ${record.canary} runs ${differ.map((c) => `${c.name}: ${running.get(c.name) ?? 'no such container'}`).join(', ')}, but this job was given ${differ.map((c) => `${c.name}: ${c.image}`).join(', ')}. Nothing was changed.`,
      'Resume with the image the paused deploy rolled out (what was approved), or roll the canary back with the rollback action and deploy the new image anew.',
    );
  }
  info(`The paused canary ${record.canary} runs the images this job was given.`);
}

/** The two steps a paused rollout's summary shows: resume it, or abort it. */
function pauseHelp(s: Settings): { resume: string; abort: string } {
  const c = s.cluster;
  const cluster =
    c.kind === 'gke'
      ? [`project-id: ${c.ref.project}`, `location: ${c.ref.location}`, `cluster: ${c.ref.cluster}`]
      : c.path
        ? [`kubeconfig: ${c.path}`]
        : [];
  const where = [...cluster, `namespace: ${s.namespace}`, `deployment: ${s.deployment}`];
  const steps = s.plan.steps
    .map((st) => `${st.weight}${st.bakeMs ? `:${formatDuration(st.bakeMs)}` : ''}${st.pause ? ':pause' : ''}`)
    .join(',');
  return {
    resume: [
      '- uses: org/platform-actions/actions/gke-deploy@v1',
      '  with:',
      ...[
        ...where,
        `image: ${s.image}`,
        'strategy: canary',
        `steps: ${steps}`,
        ...(s.httpRoute ? [`http-route: ${s.httpRoute}`] : []),
        ...(s.service ? [`service: ${s.service}`] : []),
        'resume: true',
      ].map((l) => `    ${l}`),
    ].join('\n'),
    abort: [
      '- uses: org/platform-actions/actions/rollback@v1',
      '  with:',
      ...['platform: gke', ...where, 'reason: paused canary aborted'].map((l) => `    ${l}`),
    ].join('\n'),
  };
}
