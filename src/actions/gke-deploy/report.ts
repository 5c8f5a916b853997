/**
 * What gke-deploy tells about its rollout: the plan and changes in the log, the traffic,
 * the dry run's rows, the unchanged Deployment, and the finished rollout's outputs, report
 * fields and summary facts. The deploy step (src/delivery/deploy-step.ts) puts them together.
 */
import { info } from '@actions/core';
import { renderAnalysisMarkdown } from '../../analysis/report.js';
import type { AnalysisSpec } from '../../analysis/spec-types.js';
import { pauseHelp } from '../../delivery/deploy-resume.js';
import type { Finished, Row, Unchanged } from '../../delivery/deploy-step.js';
import { describePlan } from '../../delivery/plan.js';
import type { RolloutPlan, RolloutResult, Target } from '../../delivery/types.js';
import { code, codeBlock, details } from '../../github/markdown.js';
import { outputs } from '../../github/outputs.js';
import { KubeBlueGreenTarget } from '../../k8s/blue-green-target.js';
import type { KubeClient } from '../../k8s/client.js';
import { applyManifests } from '../../k8s/manifests.js';
import { DEPLOYMENTS, resource } from '../../k8s/resources.js';
import { revisionOf } from '../../k8s/rollout.js';
import type { KeptBlue } from '../../k8s/rollout-state.js';
import type { Deployment } from '../../k8s/types.js';
import { formatDuration } from '../../util/duration.js';
import type { Settings } from './settings.js';
import type { GkeStrategy } from './target.js';
import { otherManifests, type Source } from './template.js';

/** How traffic moves to the new version, for the summaries. */
export function trafficOf(s: Settings, strategy: GkeStrategy): string {
  const service = s.service ?? s.deployment;
  if (strategy === 'rolling') return `the Deployment's rolling update`;
  if (s.httpRoute)
    return `HTTPRoute ${code(s.httpRoute)}: ${code(service)} and ${code(`${service}-${strategy === 'canary' ? 'canary' : 'preview'}`)}`;
  return strategy === 'canary'
    ? `replica ratio behind Service ${code(service)} (approximate)`
    : `the selector of Service ${code(service)}`;
}

/** The engine, plan, analysis and changes in the log; the outputs known before the rollout. */
export function announce(
  s: Settings,
  target: Target,
  o: { plan: RolloutPlan; spec: AnalysisSpec | undefined; source: Source; previousRevision: string },
): void {
  const { spec, source } = o;
  info(`Engine ${target.engine}: ${target.description}.`);
  info(`Plan: ${describePlan(o.plan)}.`);
  const metrics = spec ? spec.metrics.map((m) => m.name).join(', ') || 'no metrics' : '';
  info(`Analysis: ${spec ? `${spec.source}, ${metrics}, a run every ${formatDuration(spec.intervalMs)}` : 'none'}.`);
  info(
    source.changes.length
      ? `Changes:\n${source.changes.map((l) => `  ${l}`).join('\n')}`
      : `Deployment ${s.namespace}/${s.deployment} runs ${s.image} already; its template does not change.`,
  );
  outputs.set('engine', target.engine);
  outputs.set('previous-revision', o.previousRevision);
  outputs.set('image', s.image);
}

/** The pod template's changes, as every summary ends. */
export function changesBlock(changes: string[]): string {
  return details(
    `Changes (${changes.length})`,
    changes.length ? codeBlock(changes.join('\n')) : 'No changes to the pod template.',
  );
}

/** The dry run's summary rows. */
export function dryRunFacts(
  s: Settings,
  target: Target,
  o: {
    plan: RolloutPlan;
    traffic: string;
    spec: AnalysisSpec | undefined;
    previousRevision: string;
    unchanged: boolean;
  },
): Row[] {
  const { spec } = o;
  const wouldChange = s.force
    ? 'nothing in the Deployment; force: true rolls it out anyway'
    : `nothing in the Deployment: it would be left alone (${code('force: true')} rolls it out anyway)`;
  return [
    ['Engine', `${code(target.engine)}: ${target.description}`],
    ['Steps', describePlan(o.plan)],
    ['Traffic', o.traffic],
    ['Analysis', spec ? `${spec.source}: ${spec.metrics.map((m) => m.name).join(', ') || 'no metrics'}` : 'none'],
    ['Image', code(s.image)],
    ['Revision now', o.previousRevision || '(the manifests create the Deployment)'],
    ...(o.unchanged ? ([['Would change', wouldChange]] as Row[]) : []),
  ];
}

/**
 * The Deployment already runs what this step would deploy: the other objects of the
 * manifests are applied (as kubectl apply would), and nothing is rolled out.
 */
export function unchanged(
  s: Settings,
  o: { kube: KubeClient; source: Source; live: Deployment; engine: string; signal: AbortSignal },
): Unchanged {
  const revision = String(revisionOf(o.live));
  return {
    reason: `Nothing to roll out: Deployment ${s.namespace}/${s.deployment} already runs ${s.image} (revision ${revision}), and the server's dry run changes nothing in it. Set force: true to roll it out again.`,
    rows: [
      ['Engine', code(o.engine)],
      ['Image', code(s.image)],
      ['Revision', revision],
    ],
    settle: async () => {
      const others = otherManifests(o.source);
      if (!others.length) return [];
      const applied = await applyManifests(o.kube, others, { namespace: s.namespace, signal: o.signal });
      const names = applied.map((a) => `${a.kind} ${a.name}`).join(', ');
      info(`Applied ${applied.length} other object(s) from the manifests: ${names}.`);
      return [['Manifests applied', names]];
    },
    setOutputs: () => outputs.set('revision', revision),
    finished: `Already running revision ${revision}; nothing rolled out.`,
  };
}

function revisionFact(s: Settings, revision: string, previous: string, kept: KeptBlue | undefined): string {
  if (revision) return `${revision} (was ${previous || 'none'})`;
  if (kept)
    return `${s.deployment} stays on ${previous} until blue is retired; the new version runs in ${code(kept.green)}`;
  return previous;
}

/** The finished rollout: the revision now, a blue-green preview's verdict and kept blue, the summary's facts. */
export async function finished(
  s: Settings,
  result: RolloutResult,
  o: { kube: KubeClient; target: Target; source: Source; previousRevision: string; traffic: string },
): Promise<Finished> {
  const { target, previousRevision } = o;
  const after = await resource(o.kube, DEPLOYMENTS, s.namespace)
    .find(s.deployment)
    .catch(() => undefined);
  const blueGreen = target instanceof KubeBlueGreenTarget ? target : undefined;
  const preview = blueGreen?.previewOutcome;
  const kept = blueGreen && result.status === 'succeeded' ? blueGreen.kept : undefined;
  const revision = kept || !after ? '' : String(revisionOf(after));
  const keptUntil = kept ? new Date(kept.until * 1000).toISOString() : '';
  return {
    report: {
      deployment: { namespace: s.namespace, name: s.deployment, cluster: o.kube.connection.description },
      image: s.image,
      revision,
      previousRevision,
      changes: o.source.changes,
      ...(preview ? { preview: { verdict: preview.verdict, reason: preview.reason } } : {}),
      ...(kept ? { keptBlue: { replicaSet: kept.blue, green: kept.green, until: keptUntil } } : {}),
    },
    setOutputs: () => outputs.set('revision', revision),
    facts: [
      ['Image', code(s.image)],
      ['Revision', revisionFact(s, revision, previousRevision, kept)],
      ['Traffic', o.traffic],
      ...(preview ? ([['Preview', preview.reason]] as Row[]) : []),
      ...(kept
        ? ([
            [
              'Blue kept',
              `ReplicaSet ${code(kept.blue)} until ${keptUntil}, for an instant revert with the rollback action`,
            ],
          ] as Row[])
        : []),
    ],
    blocks:
      preview?.bake && preview.verdict !== 'skipped'
        ? renderAnalysisMarkdown(preview.bake, { title: 'Preview, before the switch' })
        : '',
  };
}

/** The two steps a paused rollout's summary shows: resume it, or abort it. */
export function gkePauseHelp(s: Settings): { resume: string; abort: string } {
  const c = s.cluster;
  const cluster =
    c.kind === 'gke'
      ? [`project-id: ${c.ref.project}`, `location: ${c.ref.location}`, `cluster: ${c.ref.cluster}`]
      : c.path
        ? [`kubeconfig: ${c.path}`]
        : [];
  const steps = s.plan.steps
    .map((st) => `${st.weight}${st.bakeMs ? `:${formatDuration(st.bakeMs)}` : ''}${st.pause ? ':pause' : ''}`)
    .join(',');
  return pauseHelp(
    'gke-deploy',
    'gke',
    [...cluster, `namespace: ${s.namespace}`, `deployment: ${s.deployment}`],
    [
      `image: ${s.image}`,
      'strategy: canary',
      `steps: ${steps}`,
      ...(s.httpRoute ? [`http-route: ${s.httpRoute}`] : []),
      ...(s.service ? [`service: ${s.service}`] : []),
    ],
  );
}
