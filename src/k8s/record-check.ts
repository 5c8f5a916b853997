/**
 * The rollout state on a stable Deployment (rollout-state.ts: the record, the traffic
 * layout, a kept blue) is untrusted input: anyone who may patch the Deployment can write
 * it. Everything that acts on it (gke-deploy's recovery at start, its post step, the
 * rollback action) reads it through `checkedState`, which compares it with the live
 * objects before anything changes:
 *
 * - every value parses, and names only objects of this namespace (plain names, no `/`);
 * - the side (canary / green) is `<name>-canary` / `<name>-green`, and when it exists it
 *   carries the owner and track labels platform-actions puts on it
 *   (`platform-actions/rollout-of: <name>`, `platform-actions/track`), the stable selector
 *   plus the track label, and the rollout's deployment id;
 * - the stable side, a kept blue and the pinned hash are ReplicaSets the Deployment owns;
 * - the side Service was made for this Deployment, the stable Service selects its pods, and
 *   the recorded HTTPRoute routes to that Service.
 *
 * A state that fails is reported with what is wrong and how to look at it and clear it by
 * hand, and nothing acts on it.
 */
import { decodeRecord } from '../delivery/record.js';
import type { RolloutRecord } from '../delivery/types.js';
import { UserError } from '../util/errors.js';
import type { KubeClient } from './client.js';
import { readWeights } from './http-route.js';
import { DEPLOYMENTS, HTTPROUTES, REPLICASETS, resource, SERVICES } from './resources.js';
import { revisions, type Revision } from './rollout.js';
import { ownSelector } from './rollout-sides.js';
import {
  DEPLOYMENT_ID_ANNOTATION,
  KEPT_ANNOTATION,
  keptOf,
  layoutOf,
  OWNER_LABEL,
  ROLLOUT_ANNOTATION,
  TEMPLATE_HASH_LABEL,
  TRACK_LABEL,
  TRAFFIC_ANNOTATION,
  type KeptBlue,
  type TrafficLayout,
} from './rollout-state.js';
import type { Deployment, LabelSelector } from './types.js';

/** Engines and the side each one puts beside the stable Deployment (rolling has none). */
const SIDES: Record<string, { suffix: string; track: string } | null> = {
  'gke-rolling': null,
  'gke-canary': { suffix: 'canary', track: 'canary' },
  'gke-blue-green': { suffix: 'green', track: 'green' },
};

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface CheckedState {
  record: RolloutRecord | undefined;
  layout: TrafficLayout | undefined;
  kept: KeptBlue | undefined;
}

/** The state refused: `problems` says what is wrong, the message and hint what to do. */
export class UntrustedStateError extends UserError {
  constructor(
    readonly problems: string[],
    message: string,
    hint: string,
  ) {
    super(message, hint);
    this.name = 'UntrustedStateError';
  }
}

function sameSelector(a: LabelSelector | undefined, b: LabelSelector | undefined): boolean {
  const norm = (s: LabelSelector | undefined) =>
    JSON.stringify({ m: Object.entries(s?.matchLabels ?? {}).sort(), e: s?.matchExpressions ?? [] });
  return norm(a) === norm(b);
}

/**
 * Reads the state off `d` and checks it against the live objects. Returns it when there is
 * none or it holds; throws UntrustedStateError otherwise. `who` is what refuses ("gke-deploy").
 */
export async function checkedState(
  kube: KubeClient,
  namespace: string,
  d: Deployment,
  who: string,
  signal?: AbortSignal,
): Promise<CheckedState> {
  const name = d.metadata?.name ?? '';
  const annotations = d.metadata?.annotations ?? {};
  const rawRecord = annotations[ROLLOUT_ANNOTATION];
  const rawLayout = annotations[TRAFFIC_ANNOTATION];
  const rawKept = annotations[KEPT_ANNOTATION];
  if (rawRecord === undefined && rawLayout === undefined && rawKept === undefined)
    return { record: undefined, layout: undefined, kept: undefined };

  const problems: string[] = [];
  const record = decodeRecord(rawRecord);
  const layout = layoutOf(d);
  const kept = keptOf(d);
  if (rawRecord !== undefined && !record)
    problems.push(
      `annotation ${ROLLOUT_ANNOTATION} cannot be parsed as a rollout record: ${JSON.stringify(rawRecord.slice(0, 160))}`,
    );
  if (rawLayout !== undefined && !layout)
    problems.push(`annotation ${TRAFFIC_ANNOTATION} cannot be parsed: ${JSON.stringify(rawLayout.slice(0, 160))}`);
  if (rawKept !== undefined && !kept)
    problems.push(`annotation ${KEPT_ANNOTATION} cannot be parsed: ${JSON.stringify(rawKept.slice(0, 160))}`);
  if (record && !(record.engine in SIDES))
    problems.push(
      `the record names engine ${JSON.stringify(record.engine)}, which is not one of ${Object.keys(SIDES).join(', ')}`,
    );

  const history = await revisions(kube, namespace, d, signal);
  const replicaSets = resource(kube, REPLICASETS, namespace);
  /** Checks that `rs` names a ReplicaSet of this Deployment. */
  const ownReplicaSet = async (rs: string, what: string): Promise<Revision | undefined> => {
    if (rs.includes('/')) {
      problems.push(
        `${what} is ${JSON.stringify(rs)}, which names another namespace; a rollout of ${namespace}/${name} only has ReplicaSets in ${namespace}`,
      );
      return undefined;
    }
    const own = history.find((r) => r.replicaSet === rs);
    if (own) return own;
    const other = NAME.test(rs) ? await replicaSets.find(rs, signal) : undefined;
    problems.push(
      other
        ? `${what} is ReplicaSet ${rs}, which belongs to ${other.metadata?.ownerReferences?.map((o) => `${o.kind} ${o.name}`).join(', ') || 'no Deployment'}, not to Deployment ${name}`
        : `${what} is ${JSON.stringify(rs)}, which is not a ReplicaSet of Deployment ${name} (its ReplicaSets: ${history.map((r) => r.replicaSet).join(', ') || 'none'})`,
    );
    return undefined;
  };

  // The side: which engine put it there, its expected name, and what is live under that name.
  const engine = record?.engine ?? (kept ? 'gke-blue-green' : undefined);
  const side = engine ? SIDES[engine] : undefined;
  const expectedSides = side ? [`${name}-${side.suffix}`] : [`${name}-canary`, `${name}-green`];
  const sideNames = new Set<string>();
  if (record && side) {
    if (record.canary) sideNames.add(record.canary);
  }
  if (layout) sideNames.add(layout.side);
  if (kept) sideNames.add(kept.green);
  const ids = new Set([record?.id, kept?.id].filter((x): x is string => !!x));
  for (const s of sideNames) {
    if (s.includes('/')) {
      problems.push(
        `the ${side?.track ?? 'new'} side is ${JSON.stringify(s)}, which names another namespace; platform-actions only puts ${expectedSides.join(' or ')} beside ${namespace}/${name}`,
      );
      continue;
    }
    if (!expectedSides.includes(s)) {
      problems.push(
        `the ${side?.track ?? 'new'} side is Deployment ${s}; for ${name} platform-actions only ever makes ${expectedSides.join(' or ')}`,
      );
      continue;
    }
    const live = await resource(kube, DEPLOYMENTS, namespace).find(s, signal);
    if (!live) continue; // Removed already: nothing of it to act on.
    const labels = live.metadata?.labels ?? {};
    const track = s.endsWith('-canary') ? 'canary' : 'green';
    const wrong: string[] = [];
    if (labels[OWNER_LABEL] !== name)
      wrong.push(
        `label ${OWNER_LABEL} is ${labels[OWNER_LABEL] === undefined ? 'missing' : JSON.stringify(labels[OWNER_LABEL])}, not ${name}`,
      );
    if (labels[TRACK_LABEL] !== track)
      wrong.push(
        `label ${TRACK_LABEL} is ${labels[TRACK_LABEL] === undefined ? 'missing' : JSON.stringify(labels[TRACK_LABEL])}, not ${track}`,
      );
    const want = {
      ...(d.spec?.selector ?? {}),
      matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), [TRACK_LABEL]: track },
    };
    if (!sameSelector(live.spec?.selector, want))
      wrong.push(`its selector is not ${name}'s plus ${TRACK_LABEL}=${track}`);
    const id = live.metadata?.annotations?.[DEPLOYMENT_ID_ANNOTATION];
    if (ids.size && (!id || !ids.has(id)))
      wrong.push(`it was made by rollout ${id ?? 'unknown'}, not ${[...ids].join(' / ')}`);
    if (wrong.length)
      problems.push(`Deployment ${s} is not the ${track} side platform-actions made for ${name}: ${wrong.join('; ')}`);
  }

  // The stable side and a kept blue: ReplicaSets of this Deployment.
  if (record?.stable) await ownReplicaSet(record.stable, `the record's stable side`);
  if (record && engine === 'gke-rolling' && record.canary) await ownReplicaSet(record.canary, `the record's new side`);
  if (kept) await ownReplicaSet(kept.blue, 'the kept blue');

  if (layout) {
    const services = resource(kube, SERVICES, namespace);
    const numbers: Array<[string, number | undefined, number]> = [
      ['replicas', layout.replicas, 10_000],
      ['stableWeight', layout.stableWeight, 1_000],
    ];
    for (const [field, value, max] of numbers) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > max))
        problems.push(`the traffic layout's ${field} is ${JSON.stringify(value)}, not a whole number from 0 to ${max}`);
    }
    if (!['route', 'replicas', 'selector'].includes(layout.mode))
      problems.push(`the traffic layout's mode is ${JSON.stringify(layout.mode)}`);
    for (const [field, value] of [
      ['service', layout.service],
      ['sideService', layout.sideService],
      ['route', layout.route],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || !NAME.test(value)))
        problems.push(
          `the traffic layout's ${field} is ${JSON.stringify(value)}, not the name of an object in ${namespace}`,
        );
    }
    if (layout.mode === 'route' && (!layout.route || !layout.sideService))
      problems.push('the traffic layout moves traffic by route but names no HTTPRoute or no side Service');
    if (
      layout.pinned !== undefined &&
      !history.some((r) => r.template.metadata?.labels?.[TEMPLATE_HASH_LABEL] === layout.pinned)
    ) {
      problems.push(
        `the traffic layout pinned ${TEMPLATE_HASH_LABEL}=${JSON.stringify(layout.pinned)}, which is no ReplicaSet of ${name}`,
      );
    }
    if (typeof layout.service === 'string' && NAME.test(layout.service)) {
      const svc = await services.find(layout.service, signal);
      const selector = svc ? ownSelector(svc) : {};
      const labels = d.spec?.template?.metadata?.labels ?? {};
      if (svc && (Object.keys(selector).length === 0 || Object.entries(selector).some(([k, v]) => labels[k] !== v))) {
        problems.push(`the traffic layout's stable Service ${layout.service} does not select the pods of ${name}`);
      }
      if (layout.sideService) {
        const suffixes = [`${layout.service}-canary`, `${layout.service}-preview`];
        if (!suffixes.includes(layout.sideService))
          problems.push(
            `the traffic layout's side Service is ${layout.sideService}; platform-actions only makes ${suffixes.join(' or ')}`,
          );
        else {
          const sideSvc = await services.find(layout.sideService, signal);
          if (sideSvc && sideSvc.metadata?.labels?.[OWNER_LABEL] !== name)
            problems.push(
              `Service ${layout.sideService} was not made by platform-actions for ${name} (label ${OWNER_LABEL} is ${JSON.stringify(sideSvc.metadata?.labels?.[OWNER_LABEL] ?? null)})`,
            );
        }
      }
      if (layout.route && NAME.test(layout.route)) {
        const route = await resource(kube, HTTPROUTES, namespace).find(layout.route, signal);
        if (!route)
          problems.push(`the traffic layout names HTTPRoute ${layout.route}, which does not exist in ${namespace}`);
        else if (readWeights(route, [layout.service]).length === 0)
          problems.push(
            `HTTPRoute ${layout.route} has no rule that routes to Service ${layout.service}, the stable Service the layout names`,
          );
      }
    }
  }

  if (problems.length === 0) return { record, layout, kept };
  throw new UntrustedStateError(problems, refusal(namespace, name, who, problems), cleanup(namespace, name, layout));
}

function refusal(namespace: string, name: string, who: string, problems: string[]): string {
  return `The rollout state on Deployment ${namespace}/${name} does not match the live objects, so ${who} acted on none of it and changed nothing:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

/** How to look at the state and clear it by hand (never "run the action that just refused"). */
function cleanup(namespace: string, name: string, layout: TrafficLayout | undefined): string {
  const n = `-n ${namespace}`;
  const steps = [
    `Someone or something wrote these annotations by hand, or an older tool left them. Look first: kubectl get deployment ${name} ${n} -o jsonpath='{.metadata.annotations}'; kubectl get deployments,services ${n} -l ${OWNER_LABEL}=${name}.`,
  ];
  if (layout?.route && DNS_LABEL.test(layout.route))
    steps.push(
      `Make sure HTTPRoute ${layout.route} sends all traffic to Service ${DNS_LABEL.test(layout.service) ? layout.service : name}: kubectl edit httproute ${layout.route} ${n}.`,
    );
  steps.push(
    `If Service ${name} has the annotation platform-actions/pinned-selector, take ${TEMPLATE_HASH_LABEL} out of its selector and remove that annotation: kubectl edit service ${name} ${n}.`,
    `Delete what platform-actions made beside ${name}, if it is there: kubectl delete deployment ${name}-canary ${name}-green ${n} --ignore-not-found.`,
    `Then remove the annotations: kubectl annotate deployment ${name} ${n} ${ROLLOUT_ANNOTATION}- ${TRAFFIC_ANNOTATION}- ${KEPT_ANNOTATION}-.`,
    `Keep patch rights on Deployments in ${namespace} to the deploy identities, since these annotations steer what is rolled back to.`,
  );
  return steps.join(' ');
}
