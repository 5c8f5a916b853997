import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { info, saveState, setFailed, setSecret, warning } from '@actions/core';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { createAnalysis, type SpecAnalysis } from '../../analysis/analysis.js';
import { createPrometheusProvider } from '../../analysis/prometheus.js';
import { createWebProvider } from '../../analysis/web.js';
import { defaultAnalysisSpec } from '../../analysis/default-spec.js';
import { parseAnalysisSpec } from '../../analysis/spec.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import type { ExtraCheck, MetricProvider } from '../../analysis/types.js';
import { AlarmWatch, cloudWatchClient, describeFiring } from '../../aws/alarms.js';
import { createCloudWatchProvider } from '../../aws/cloudwatch-metrics.js';
import {
  describeService,
  describeTaskDefinition,
  describeTaskSets,
  ecsClient,
  taskDefinitionName,
} from '../../aws/ecs.js';
import { chooseEngine } from '../../aws/ecs-engine.js';
import { checkPauseHooks, EcsNativeTarget, NATIVE_LABELS, nativeRolloutPlan } from '../../aws/ecs-native-target.js';
import { credentialsLimit } from '../../aws/credentials.js';
import { EcsRollingTarget, ROLLING_LABELS } from '../../aws/ecs-rolling-target.js';
import { EcsTaskSetTarget, TASK_SET_LABELS } from '../../aws/ecs-task-set-target.js';
import { describeRoute, elbv2Client, targetGroupName, type TrafficRoute } from '../../aws/elbv2.js';
import {
  diffTaskDefinitions,
  primaryContainer,
  readTaskDefinitionFile,
  registrationInput,
  renderTaskDefinition,
  type TaskDefinitionInput,
} from '../../aws/task-definition.js';
import { refusePaused, runRollout } from '../../delivery/engine.js';
import { buildPlan, describePlan, firstPause, planSegment } from '../../delivery/plan.js';
import { describeRecord } from '../../delivery/record.js';
import { checkTimeBudget, describeBudget } from '../../delivery/time-budget.js';
import { renderPausedMarkdown, renderRolloutMarkdown, rolloutReport } from '../../delivery/report.js';
import type { RolloutPlan, RolloutRecord, RolloutResult, Target } from '../../delivery/types.js';
import {
  finishRecord,
  recordUnchangedStep,
  resumeRecord,
  startRecord,
  type OpenDeployment,
} from '../../github/deployment-record.js';
import { newDeploymentId, runAttemptId, runContext, runUrl } from '../../github/context.js';
import { inputs } from '../../github/inputs.js';
import { code, codeBlock, details, facts, heading } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { runStatusChecker } from '../../github/runs.js';
import { writeSummary } from '../../github/summary.js';
import { notifier } from '../../notify/notifier.js';
import { about, rolloutNotification } from '../../notify/rollout-events.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { checkPinnedForProduction } from '../../release/image-pinning.js';
import { ROLLOUT_STATE, type RolloutState } from './post.js';
import type { Settings } from './settings.js';

/** Attempts per AWS call: throttling and 5xx during weight shifts are retried, with backoff. */
const MAX_ATTEMPTS = 5;

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The task definition to start from: a file, a named one, or the live one. */
async function baseTaskDefinition(
  ecs: ECSClient,
  s: Settings,
  liveArn: string,
  signal: AbortSignal,
): Promise<{ td: TaskDefinitionInput; source: string }> {
  const input = s.taskDefinition;
  if (input && !input.startsWith('arn:')) {
    const path = isAbsolute(input) ? input : resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), input);
    if (isFile(path) || input.endsWith('.json')) return { td: readTaskDefinitionFile(path), source: input };
  }
  const which = input ?? liveArn;
  const described = await describeTaskDefinition(ecs, which, signal);
  const td = registrationInput(described.taskDefinition);
  if (described.tags.length) td.tags = described.tags;
  return { td, source: taskDefinitionName(described.taskDefinition.taskDefinitionArn ?? which) };
}

function resolveContainer(s: Settings, td: TaskDefinitionInput, source: string): string | undefined {
  if (s.containerName) return s.containerName;
  const names = (td.containerDefinitions ?? []).map((c) => c.name as string);
  if (!s.image && s.environmentVariables.length === 0) return undefined;
  if (names.length === 1) return names[0];
  throw new UserError(
    `container-name is empty, and task definition ${source} has ${names.length} containers (${names.join(', ')}), so it is not clear which one ${s.image ? 'image' : 'environment-variables'} is for.`,
    `Set container-name to one of: ${names.join(', ')}.`,
  );
}

/** Alarms alone: a look every 15 s, and one alarm in ALARM is enough (alarms debounce themselves). */
function alarmsOnlySpec(): AnalysisSpec {
  return {
    ...defaultAnalysisSpec('cloudwatch'),
    intervalMs: 15_000,
    failureLimit: 1,
    metrics: [],
    source: 'alarms only',
  };
}

/**
 * The service already runs what this step would deploy: say so, set the outputs, and
 * record the GitHub Deployment as successful (promote's queued deployment is taken over
 * and closed, and the environment's record stays true).
 */
async function leaveUnchanged(
  s: Settings,
  live: { serviceName: string; liveArn: string; image: string; engine: string },
): Promise<void> {
  const name = taskDefinitionName(live.liveArn);
  const reason = `Nothing to roll out: ${live.serviceName} already runs ${name}, and the new revision would be the same. Set force: true to roll it out again.`;
  info(reason);
  outputs.set('status', 'succeeded');
  outputs.set('task-definition-arn', live.liveArn);
  outputs.set('deployment-id', '');
  outputs.set('duration-seconds', 0);
  outputs.set('analysis-report', '');
  const rows: Array<[string, string]> = [
    ['Engine', code(live.engine)],
    ['Task definition', code(name)],
    ['Image', code(live.image)],
  ];
  const recorded = await recordUnchangedStep(s, {
    image: live.image,
    description: `${live.serviceName} already runs ${live.image} (${s.environment})`,
    payload: { service: live.serviceName, platform: 'ecs', engine: live.engine },
    finished: `Already running ${name}; nothing rolled out.`,
  });
  if (recorded !== undefined) {
    outputs.set('github-deployment-id', recorded);
    rows.push(['GitHub Deployment', `${recorded} (${s.environment})`]);
  }
  await writeSummary(
    heading(`✅ ${live.serviceName} on ${s.cluster.split('/').pop()} (ECS): unchanged`) + `${reason}\n\n` + facts(rows),
  );
}

/**
 * The images this step puts into the service: every one given by image / images, and
 * any container whose image differs from the live revision (a task definition file).
 * A production environment takes them by digest only (allow-tag overrides).
 */
function refuseTagsInProduction(
  s: Settings,
  given: Array<{ container: string; image: string }>,
  rendered: TaskDefinitionInput,
  live: TaskDefinitionInput | undefined,
): void {
  const liveImage = new Map((live?.containerDefinitions ?? []).map((c) => [c.name, c.image]));
  const introduced = (rendered.containerDefinitions ?? []).filter(
    (c) => given.some((g) => g.container === c.name) || liveImage.get(c.name) !== c.image,
  );
  const images = introduced.map((c) => ({ what: `container ${c.name ?? '?'}`, image: c.image ?? '' }));
  for (const line of checkPinnedForProduction(s.environment, images, s.allowTag)) warning(line);
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
  const aws = { region: s.region, maxAttempts: MAX_ATTEMPTS };
  const ecs = ecsClient(aws);
  const elbv2 = elbv2Client(aws);
  const cloudwatch = cloudWatchClient(aws);
  const ref = { cluster: s.cluster, service: s.service };

  const service = await describeService(ecs, ref, signal);
  const choice = chooseEngine(service, s.strategy, ref);
  info(`Engine ${choice.engine}, strategy ${choice.strategy}: ${choice.reason}`);
  const trafficInputs = [
    s.targetGroups.length ? 'target-groups' : '',
    s.listenerArn ? 'listener-arn' : '',
    s.listenerRuleArn ? 'listener-rule-arn' : '',
  ].filter(Boolean);
  if (choice.engine !== 'ecs-task-set' && trafficInputs.length) {
    throw new UserError(
      `${trafficInputs.join(' and ')} ${trafficInputs.length > 1 ? 'are' : 'is'} set, but service ${service.serviceName} uses the ${service.deploymentController?.type ?? 'ECS'} deployment controller: only task sets (EXTERNAL controller) have their ALB weights shifted by ecs-deploy.`,
      `Remove ${trafficInputs.join(' and ')} for this service; ECS itself moves its traffic.`,
    );
  }
  // Native strategies: ECS decides the weights (the service's canary / linear configuration).
  const native =
    choice.engine === 'ecs-native'
      ? nativeRolloutPlan(service.deploymentConfiguration, { steps: s.steps, stepDurationMs: s.stepDurationMs })
      : undefined;
  if (native) {
    info(`Steps from ${native.source}.`);
    for (const note of native.notes) (note.level === 'warning' ? warning : info)(note.message);
  }
  const basePlan: RolloutPlan =
    native?.plan ?? buildPlan({ strategy: choice.strategy, steps: s.steps, stepDurationMs: s.stepDurationMs });
  if ((firstPause(basePlan) >= 0 || s.resume) && choice.engine === 'ecs-rolling') {
    throw new UserError(
      `${s.resume ? 'resume is true' : `steps (${s.steps}) pause`}, but service ${service.serviceName} runs rolling updates, which have no canary to hold: pause and resume work with task sets (EXTERNAL controller) and ECS native CANARY / LINEAR deployments.`,
      'Remove the pause from steps (or resume), or move the service to the EXTERNAL controller or a native CANARY / LINEAR strategy with PAUSE hooks.',
    );
  }

  // The live task definition: the service's, or the primary task set's under EXTERNAL.
  let liveArn = service.taskDefinition;
  if (choice.engine === 'ecs-task-set') {
    const primary = (await describeTaskSets(ecs, ref, signal)).find((t) => t.status === 'PRIMARY');
    liveArn = primary?.taskDefinition ?? liveArn;
  }
  if (!liveArn && !s.taskDefinition) {
    throw new UserError(
      `Service ${service.serviceName} runs no task definition yet, so there is none to start from.`,
      'Give task-definition (a JSON file, a family or an ARN).',
    );
  }
  const base = await baseTaskDefinition(ecs, s, liveArn ?? '', signal);
  const container = resolveContainer(s, base.td, base.source);
  const images = [...(s.image && container ? [{ container, image: s.image }] : []), ...s.images];
  const rendered = renderTaskDefinition(base.td, {
    images,
    ...(container && s.environmentVariables.length
      ? { environment: { container, variables: s.environmentVariables } }
      : {}),
    source: base.source,
  });
  const liveTd = !s.taskDefinition
    ? base.td
    : liveArn
      ? registrationInput((await describeTaskDefinition(ecs, liveArn, signal)).taskDefinition)
      : undefined;
  const diff = liveTd ? diffTaskDefinitions(liveTd, rendered) : [];
  const image = primaryContainer(rendered, container)?.image ?? '';
  refuseTagsInProduction(s, images, rendered, liveTd);

  const alarms = s.alarms.length ? new AlarmWatch(cloudwatch, s.alarms) : undefined;
  if (alarms) {
    const firing = (await alarms.start(signal)).filter((a) => a.state === 'ALARM');
    info(
      `Watching alarms ${s.alarms.join(', ')}${firing.length ? `. Already in ALARM, so not counted until they clear: ${describeFiring(firing)}` : ' (none in ALARM now)'}.`,
    );
  }

  const route: TrafficRoute | undefined = s.listenerArn
    ? { kind: 'listener', arn: s.listenerArn }
    : s.listenerRuleArn
      ? { kind: 'rule', arn: s.listenerRuleArn }
      : undefined;
  let target: Target & { registeredTaskDefinitionArn: string | undefined };
  let labels: readonly string[];
  let albLabels: boolean;
  if (choice.engine === 'ecs-task-set') {
    // Resume: nothing new is registered; the target takes up the paused task set from the record.
    const t = new EcsTaskSetTarget({
      ecs,
      elbv2,
      ...ref,
      ...(route ? { route } : {}),
      targetGroups: s.targetGroups,
      ...(s.resume ? {} : { taskDefinition: rendered }),
      waitTimeoutMs: s.waitTimeoutMs,
      log: info,
    });
    await t.preflight(signal);
    target = t;
    labels = TASK_SET_LABELS;
    albLabels = true;
  } else if (choice.engine === 'ecs-native') {
    const t = new EcsNativeTarget({
      ecs,
      elbv2,
      ...ref,
      taskDefinition: rendered,
      plan: basePlan,
      waitTimeoutMs: s.waitTimeoutMs,
      log: info,
    });
    await t.preflight(signal);
    target = t;
    albLabels = t.hasLoadBalancer;
    labels = albLabels ? NATIVE_LABELS : ['service', 'cluster'];
  } else {
    const t = new EcsRollingTarget({
      ecs,
      elbv2,
      ...ref,
      ...(alarms ? { alarms } : {}),
      taskDefinition: rendered,
      waitTimeoutMs: s.waitTimeoutMs,
      log: info,
    });
    await t.preflight(signal);
    target = t;
    albLabels = t.hasLoadBalancer;
    labels = albLabels ? ROLLING_LABELS : ['service', 'cluster'];
  }

  // The analysis: metrics from the spec (or the SLO defaults behind an ALB), alarms as a check.
  const providers: Record<string, MetricProvider> = { cloudwatch: createCloudWatchProvider(aws) };
  if (s.prometheusUrl) providers.prometheus = createPrometheusProvider({ url: s.prometheusUrl });
  providers.web = createWebProvider();
  const extraChecks: ExtraCheck[] = alarms ? [alarms.check()] : [];
  let spec: AnalysisSpec | undefined;
  const text = s.analysis.trim();
  if (text === 'none') spec = undefined;
  else if (text !== '' || albLabels)
    spec = parseAnalysisSpec(text, {
      defaultProvider: 'cloudwatch',
      providers: Object.keys(providers),
      labels: [...labels],
    });
  if (!spec && extraChecks.length) spec = alarmsOnlySpec();
  // Native: every run also asks ECS whether the deployment still goes forward (its own alarms, circuit breaker).
  const checks = spec && target instanceof EcsNativeTarget ? [...extraChecks, target.deploymentCheck()] : extraChecks;
  const analysis: SpecAnalysis | undefined = spec
    ? createAnalysis(spec, { providers, extraChecks: checks })
    : undefined;
  let plan = basePlan;
  if (!analysis && choice.engine === 'ecs-rolling') {
    // Nothing would judge the bake: a rolling update is done when ECS is.
    plan = { ...basePlan, steps: basePlan.steps.map((step) => ({ ...step, bakeMs: 0 })) };
  }

  // Smoke checks need a new side that nothing else reaches: a task set behind its own target group,
  // or a native deployment held on its test listener (refused here, before any change, when it cannot be).
  if (spec?.smoke && !s.resume && target instanceof EcsNativeTarget) {
    const { smokeUrl, smokeListenerArn, waitTimeoutMs } = s;
    const o = { ecs, elbv2, cluster: s.cluster, service, smoke: spec.smoke, smokeUrl, smokeListenerArn, waitTimeoutMs };
    (await import('./native-smoke.js')).wireNativeSmoke(target, o);
  } else if (spec?.smoke && !s.resume && !(target instanceof EcsTaskSetTarget)) {
    throw new UserError(
      `The analysis spec has smoke checks, but service ${service.serviceName} runs rolling updates: ecs-deploy runs smoke checks before the first weight only for task sets (EXTERNAL controller) and ECS native deployments with a test listener. Nothing was changed.`,
      'Remove smoke: from the spec (a rolling update has no new side without traffic), or move the service to the EXTERNAL controller.',
    );
  }
  if ((s.smokeUrl || s.smokeListenerArn) && !spec?.smoke) {
    throw new UserError(
      `${s.smokeUrl ? 'smoke-url' : 'smoke-listener-arn'} is set, but the analysis spec has no smoke: section, so there is nothing to check.`,
      'Add smoke: checks to the analysis spec (docs/analysis.md), or remove the input.',
    );
  }
  // Synthetic load (load: in the spec): refused here, before any change, where no side is reached alone.
  if (spec?.load)
    (await import('./load.js')).wireLoad(analysis, target, {
      load: spec.load,
      elbv2,
      service: service.serviceName as string,
      ...(s.smokeListenerArn ? { listenerArn: s.smokeListenerArn } : {}),
      deploymentId: () => deploymentId,
    });

  // Before any change: the plan must fit the job, the runner and credentials that cannot renew,
  // and a native PAUSE hook must hold each step until it is judged (extension included).
  // A paused rollout is resumed at the step after its pause; this job runs up to the next pause (or the end).
  const paused = s.resume ? await pausedRecord(target, service.serviceName as string, signal) : undefined;
  if (native) {
    // A pause this job may still reach must fit the PAUSE hook that holds it (a resume does not check the pause it continues).
    const ahead: RolloutPlan = {
      ...plan,
      steps: plan.steps.map((step, i) =>
        paused && i <= paused.step && step.pause ? { weight: step.weight, bakeMs: step.bakeMs } : step,
      ),
    };
    checkPauseHooks(service.deploymentConfiguration ?? {}, ahead, `${s.cluster}/${service.serviceName}`, {
      ...(spec ?? {}),
      pauseTimeoutMs: s.pauseTimeoutMs,
    });
  }
  if (!s.resume && !s.dryRun) refusePaused(target, await target.loadRecord(signal), Date.now());
  const segment = planSegment(plan, paused ? paused.step + 1 : 0);
  const limits = [s.jobLimit, ...[credentialsLimit()].filter((l) => l !== undefined)];
  const budget = checkTimeBudget(
    { plan: segment, waitTimeoutMs: s.waitTimeoutMs, ...(spec ? { analysis: spec } : {}) },
    limits,
  );
  info(describeBudget(budget, limits));

  const resolved = target instanceof EcsTaskSetTarget ? target.resolved : undefined;
  const nativeSides = target instanceof EcsNativeTarget ? target.resolved : undefined;
  const trafficFacts: Array<[string, string]> = resolved
    ? [
        [
          'Traffic',
          `${describeRoute(resolved.route)}: stable in ${code(targetGroupName(resolved.blue))}, new version in ${code(targetGroupName(resolved.green))}`,
        ],
        ['Stable task set', code(resolved.stableTaskSet)],
      ]
    : nativeSides
      ? [
          [
            'Traffic',
            `${describeRoute(nativeSides.route)}, shifted by ECS: stable in ${code(targetGroupName(nativeSides.stable))}, new version in ${code(targetGroupName(nativeSides.canary))}`,
          ],
        ]
      : [];
  info(`Plan: ${describePlan(plan)}.`);
  if (resolved)
    info(
      `Traffic: ${describeRoute(resolved.route)}; stable task set ${resolved.stableTaskSet} in ${targetGroupName(resolved.blue)}, the new one goes into ${targetGroupName(resolved.green)}.`,
    );
  info(
    `Analysis: ${spec ? `${spec.source}, ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}${extraChecks.length ? ' + alarms' : ''}, a run every ${formatDuration(spec.intervalMs)}` : 'none'}.`,
  );
  info(
    diff.length
      ? `Task definition changes (${base.source} → new revision):\n${diff.map((l) => `  ${l}`).join('\n')}`
      : `The new revision is the same as ${base.source}.`,
  );
  outputs.set('engine', target.engine);
  outputs.set('previous-task-definition-arn', liveArn ?? '');
  outputs.set('image', image);

  const diffBlock = details(
    `Task definition changes (${diff.length})`,
    diff.length ? codeBlock(diff.join('\n'), 'diff') : 'No changes.',
  );
  if (s.dryRun) {
    info('Dry run: nothing was changed.');
    await writeSummary(
      heading(`Dry run: ${service.serviceName} on ${s.cluster.split('/').pop()} (ECS)`) +
        facts([
          ['Engine', `${code(target.engine)}: ${choice.reason}`],
          ['Strategy', choice.strategy],
          ['Steps', describePlan(plan)],
          ...trafficFacts,
          [
            'Analysis',
            spec
              ? `${spec.source}: ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}${extraChecks.length ? ', alarms' : ''}`
              : 'none',
          ],
          ['Image', code(image)],
        ]) +
        '\n' +
        diffBlock,
    );
    return;
  }

  // Nothing would change, and nothing is unfinished: leave the service alone.
  if (!s.resume && diff.length === 0 && liveArn && !s.force && !(await target.loadRecord(signal))) {
    await leaveUnchanged(s, { serviceName: service.serviceName as string, liveArn, image, engine: target.engine });
    return;
  }

  // Never backwards by accident, and a promotion still holds now that the deploy starts.
  const subject = about({
    service: service.serviceName as string,
    environment: s.environment ?? s.cluster.split('/').pop() ?? s.cluster,
    release: context.sha || 'unknown',
    image,
  });
  try {
    await (
      await import('../../release/release-order.js')
    ).guardDeployStep(s, { service: service.serviceName as string, image });
  } catch (err) {
    await notes.send({ event: 'held', ...subject, summary: `Not deployed: ${errorMessage(err)}`.slice(0, 1000) });
    throw err;
  }

  const run = runContext();
  const deploymentId = paused?.id ?? newDeploymentId(run);
  const runId = runAttemptId(run);
  if (s.preDeploy) {
    await (
      await import('./pre-deploy.js')
    ).runPreDeploy(s.preDeploy, {
      ecs,
      region: s.region,
      cluster: s.cluster,
      service: s.service,
      rendered,
      container,
      deploymentId,
      runId,
      signal,
    });
  }
  const state: RolloutState = {
    cluster: s.cluster,
    service: s.service,
    region: s.region,
    engine: target.engine,
    runId,
    ...(resolved ? { route: resolved.route, targetGroups: [resolved.blue, resolved.green] } : {}),
  };
  saveState(ROLLOUT_STATE, JSON.stringify(state));

  const track = {
    image,
    description: `Deploy ${image} to ${service.serviceName} (${s.environment})`,
    payload: { service: service.serviceName as string, platform: 'ecs' as const, engine: target.engine },
  };
  const tracked: OpenDeployment | undefined = paused
    ? await resumeRecord(s, paused.githubDeployment, {
        ...track,
        resuming: `Resuming the canary of ${image} at ${paused.weight}%`,
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
      ? `Resuming the canary paused at ${paused.weight}%: ${describePlan(segment)}.`
      : `Rolling out with ${target.engine}: ${describePlan(plan)}.`,
  });
  if (spec?.smoke && !s.resume && target instanceof EcsTaskSetTarget && resolved) {
    const { wireSmokeRule } = await import('./smoke.js');
    wireSmokeRule(target, {
      smoke: spec.smoke,
      elbv2,
      route: resolved.route,
      deploymentId,
      ...(s.smokeUrl ? { url: s.smokeUrl } : {}),
      ...(s.smokeListenerArn ? { listenerArn: s.smokeListenerArn } : {}),
    });
  }

  let result: RolloutResult;
  try {
    // Another run's record: GitHub says whether that run still drives it (its lease decides otherwise).
    const runs = await runStatusChecker(s.githubToken, info);
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
      ...(s.resume
        ? {
            resume: {
              verify: (record: RolloutRecord) =>
                verifyCanary(ecs, record, target.registeredTaskDefinitionArn, rendered, s.taskDefinition),
            },
          }
        : {}),
    });
  } catch (err) {
    await finishRecord(tracked, 'error', `ecs-deploy stopped: ${errorMessage(err)}`);
    await notes.send({
      event: 'failed',
      ...subject,
      summary: `ecs-deploy stopped: ${errorMessage(err)}`.slice(0, 1000),
    });
    throw err;
  }

  const reportDir = join(process.env.RUNNER_TEMP || tmpdir(), 'platform-actions');
  mkdirSync(reportDir, { recursive: true });
  const reportPath = join(reportDir, `ecs-deploy-${deploymentId}.json`);
  const report = {
    ...rolloutReport(result, spec),
    service: { cluster: s.cluster, service: service.serviceName, region: s.region },
    taskDefinition: target.registeredTaskDefinitionArn ?? '',
    previousTaskDefinition: liveArn ?? '',
    image,
    taskDefinitionChanges: diff,
  };
  writeFileSync(reportPath, JSON.stringify(report, null, 2));

  outputs.set('status', result.status);
  outputs.set('task-definition-arn', target.registeredTaskDefinitionArn ?? '');
  outputs.set('deployment-id', deploymentId);
  outputs.set('duration-seconds', Math.round((result.finishedAt - result.startedAt) / 1000));
  outputs.set('analysis-report', reportPath);

  await writeSummary(
    renderRolloutMarkdown(result, {
      title: `${service.serviceName} on ${s.cluster.split('/').pop()} (ECS)`,
      ...(spec ? { spec } : {}),
      facts: [
        ['Task definition', code(taskDefinitionName(target.registeredTaskDefinitionArn ?? '(not registered)'))],
        ['Previous', code(taskDefinitionName(liveArn ?? ''))],
        ['Image', code(image)],
        ...trafficFacts,
        ...(tracked ? ([['GitHub Deployment', `${tracked.id} (${s.environment})`]] as Array<[string, string]>) : []),
      ],
    }) +
      '\n' +
      diffBlock +
      (result.paused ? '\n' + renderPausedMarkdown(result, pauseHelp(s, image)) : ''),
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
  await notes.flush();
}

/** Resume: the service's paused rollout, checked to be one (the engine checks again when it takes it over). */
async function pausedRecord(target: Target, name: string, signal: AbortSignal): Promise<RolloutRecord> {
  const record = await target.loadRecord(signal);
  if (record?.phase === 'paused') {
    info(`Resuming ${describeRecord(record)}.`);
    return record;
  }
  throw new UserError(
    record
      ? `resume is true, but ${name} carries ${describeRecord(record)}, which is not paused, so there is nothing to resume. Nothing was changed.`
      : `resume is true, but ${name} has no paused rollout (no rollout record on it). Nothing was changed.`,
    record
      ? 'If its run is still going, wait for it; otherwise run the rollback action (or deploy with resume: false, which finishes it first).'
      : 'Deploy with resume: false to start a new rollout; a resume continues only a rollout that paused at a pause step.',
  );
}

/**
 * Resume: the paused task set must run what this job was given: the same image in every
 * container (and the same task definition, when one was named by ARN).
 */
async function verifyCanary(
  ecs: ECSClient,
  record: RolloutRecord,
  canaryArn: string | undefined,
  wanted: TaskDefinitionInput,
  given: string | undefined,
): Promise<void> {
  if (!canaryArn)
    throw new UserError(
      `The paused task set ${record.canary} has no task definition to compare with. Nothing was changed.`,
      'Run the rollback action, then deploy again.',
    );
  const canary = (await describeTaskDefinition(ecs, canaryArn)).taskDefinition;
  const name = taskDefinitionName(canaryArn);
  if (given?.startsWith('arn:') && taskDefinitionName(given) !== name) {
    throw new UserError(
      `The paused canary runs task definition ${name}, not ${taskDefinitionName(given)} as this job was given. Nothing was changed.`,
      `Resume with task-definition ${canaryArn} (what was approved when it paused), or roll the canary back with the rollback action and deploy ${taskDefinitionName(given)} anew.`,
    );
  }
  const running = new Map((canary.containerDefinitions ?? []).map((c) => [c.name as string, c.image as string]));
  const differ = (wanted.containerDefinitions ?? []).filter((c) => running.get(c.name as string) !== c.image);
  if (differ.length) {
    throw new UserError(
      `The paused canary (${name}) runs ${differ.map((c) => `${c.name}: ${running.get(c.name as string) ?? 'no such container'}`).join(', ')}, but this job was given ${differ.map((c) => `${c.name}: ${c.image}`).join(', ')}. Nothing was changed.`,
      'Resume with the image the paused deploy rolled out (what was approved), or roll the canary back with the rollback action and deploy the new image anew.',
    );
  }
  info(`The paused canary ${record.canary} runs ${name}, the images this job was given.`);
}

/** The two steps a paused rollout's summary shows: resume it, or abort it. */
function pauseHelp(s: Settings, image: string): { resume: string; abort: string } {
  const where = [`cluster: ${s.cluster}`, `service: ${s.service}`, `aws-region: ${s.region}`];
  return {
    resume: [
      '- uses: org/platform-actions/actions/ecs-deploy@v1',
      '  with:',
      ...[
        ...where,
        `image: ${image}`,
        ...(s.containerName ? [`container-name: ${s.containerName}`] : []),
        `steps: ${s.steps}`,
        'resume: true',
      ].map((l) => `    ${l}`),
    ].join('\n'),
    abort: [
      '- uses: org/platform-actions/actions/rollback@v1',
      '  with:',
      ...['platform: ecs', ...where, 'reason: paused canary aborted'].map((l) => `    ${l}`),
    ].join('\n'),
  };
}
