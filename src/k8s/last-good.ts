/**
 * Which of a Deployment's revisions completed a rollout and which were rolled back, so
 * that the rollback action's `to: previous` means "the last version that completed a
 * rollout", never one that was rolled back.
 *
 * Revision numbers do not say it: `kubectl rollout undo` (and every rollback here) moves
 * the old ReplicaSet to a new, higher revision, so "the revision before the live one" after
 * a failed and rolled-back v3 is v3 itself. What stays the same across those moves is the
 * ReplicaSet and its pod-template-hash, so the stable Deployment keeps one annotation,
 * `platform-actions/revisions`: `{"v":1,"good":[hashes],"bad":[hashes]}`, oldest first,
 * written at each promotion (good) and each rollback (bad). It is untrusted input like the
 * record: read through `readHistory`, which accepts only hashes of the Deployment's own
 * ReplicaSets; a value that does not parse is reported, not guessed at.
 */
import type { KubeClient } from './client.js';
import { DEPLOYMENTS, resource } from './resources.js';
import { revisionOf, revisions, type Revision } from './rollout.js';
import { annotateDeployment, TEMPLATE_HASH_LABEL } from './rollout-state.js';
import type { Deployment } from './types.js';

export const HISTORY_ANNOTATION = 'platform-actions/revisions';
/** Entries kept per list: far more than a revisionHistoryLimit keeps ReplicaSets. */
const KEEP = 20;
const HASH = /^[a-z0-9]{1,32}$/;

export interface RevisionHistory {
  v: 1;
  /** Pod-template-hashes of templates that completed a rollout, oldest first. */
  good: string[];
  /** Pod-template-hashes of templates that were rolled back, oldest first. */
  bad: string[];
}

export type HistoryRead = { ok: true; history: RevisionHistory | undefined } | { ok: false; problem: string };

/** The annotation, parsed and checked (undefined when it is not there). */
export function readHistory(d: Deployment | undefined): HistoryRead {
  const text = d?.metadata?.annotations?.[HISTORY_ANNOTATION];
  if (text === undefined) return { ok: true, history: undefined };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      problem: `annotation ${HISTORY_ANNOTATION} is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
    };
  }
  const v = value as Partial<RevisionHistory> | null;
  const list = (x: unknown) => Array.isArray(x) && x.every((h) => typeof h === 'string' && HASH.test(h));
  if (!v || typeof v !== 'object' || v.v !== 1 || !list(v.good) || !list(v.bad)) {
    return {
      ok: false,
      problem: `annotation ${HISTORY_ANNOTATION} is not a revision history this version wrote (${JSON.stringify(text.slice(0, 120))})`,
    };
  }
  return { ok: true, history: { v: 1, good: v.good as string[], bad: v.bad as string[] } };
}

export function hashOfRevision(r: Revision): string | undefined {
  return r.template.metadata?.labels?.[TEMPLATE_HASH_LABEL];
}

async function write(
  kube: KubeClient,
  namespace: string,
  name: string,
  change: (h: RevisionHistory) => RevisionHistory,
  signal?: AbortSignal,
): Promise<void> {
  const d = await resource(kube, DEPLOYMENTS, namespace).get(name, signal);
  const read = readHistory(d);
  // A garbled value is replaced: what it said cannot be used anyway, and the gke-deploy that writes here has checked the rest of the state.
  const base: RevisionHistory = read.ok && read.history ? read.history : { v: 1, good: [], bad: [] };
  const next = change({ v: 1, good: [...base.good], bad: [...base.bad] });
  next.good = next.good.slice(-KEEP);
  next.bad = next.bad.slice(-KEEP);
  await annotateDeployment(kube, namespace, name, { [HISTORY_ANNOTATION]: JSON.stringify(next) }, signal);
}

/** The Deployment's current template completed a rollout. Returns its hash (undefined when the controller has no ReplicaSet for it). */
export async function markGood(
  kube: KubeClient,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const d = await resource(kube, DEPLOYMENTS, namespace).get(name, signal);
  const current = (await revisions(kube, namespace, d, signal)).find((r) => r.revision === revisionOf(d));
  const hash = current && hashOfRevision(current);
  if (!hash) return undefined;
  await write(
    kube,
    namespace,
    name,
    (h) => ({ v: 1, good: [...h.good.filter((x) => x !== hash), hash], bad: h.bad.filter((x) => x !== hash) }),
    signal,
  );
  return hash;
}

/** The template with this hash was rolled back: never "previous" again, and an explicit `to:` needs allow-any-revision. */
export async function markRolledBack(
  kube: KubeClient,
  namespace: string,
  name: string,
  hash: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  if (!hash) return;
  await write(
    kube,
    namespace,
    name,
    (h) => ({ v: 1, good: h.good.filter((x) => x !== hash), bad: [...h.bad.filter((x) => x !== hash), hash] }),
    signal,
  );
}

export type RevisionStanding = 'completed' | 'rolled-back' | 'unrecorded';

/** What the history says about one revision. */
export function standingOf(history: RevisionHistory | undefined, r: Revision): RevisionStanding {
  const hash = hashOfRevision(r);
  if (hash && history?.bad.includes(hash)) return 'rolled-back';
  if (hash && history?.good.includes(hash)) return 'completed';
  return 'unrecorded';
}

/**
 * What `to: previous` returns to: the newest template that completed a rollout and is not
 * the live one; when none is recorded (a Deployment rolled out before this version), the
 * newest earlier revision that was not rolled back. Undefined when neither exists.
 */
export function previousGood(
  history: RevisionHistory | undefined,
  all: Revision[],
  current: Revision | undefined,
): { revision: Revision; standing: RevisionStanding } | undefined {
  const others = all.filter((r) => r.replicaSet !== current?.replicaSet);
  for (const hash of [...(history?.good ?? [])].reverse()) {
    const r = others.find((x) => hashOfRevision(x) === hash);
    if (r) return { revision: r, standing: 'completed' };
  }
  const below = current ? current.revision : Infinity;
  const earlier = others.filter((r) => r.revision < below && standingOf(history, r) !== 'rolled-back').at(-1);
  return earlier ? { revision: earlier, standing: 'unrecorded' } : undefined;
}
