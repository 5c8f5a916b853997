import { createHash } from 'node:crypto';
import type { ResourceChange } from './plan-json.js';
import { kindOf, type Kind } from './summary.js';
import { diffValues, renderLeaf, UNKNOWN } from './values.js';
import type { Diagnostic } from './diagnostics.js';

/** One attribute as the drift report shows it; sensitive values read "(sensitive value)". */
export interface DriftAttribute {
  path: string;
  before: string;
  after: string;
}

export interface DriftedResource {
  address: string;
  /** `changed`: attributes differ from the state; `deleted`: the object is gone. */
  change: 'changed' | 'deleted';
  attributes: DriftAttribute[];
}

export interface PendingChange {
  address: string;
  kind: Kind;
  /** Attributes the plan would change that the drift does not explain. */
  attributes: string[];
  /** True when applying would only undo the drift (no configuration change behind it). */
  revertsDrift: boolean;
}

/** Attributes changed outside Terraform that the configuration leaves to others: not drift. */
export interface IgnoredDrift {
  address: string;
  attributes: Array<{ path: string; reason: IgnoreReason }>;
}

/**
 * `ignore_changes`: the resource's lifecycle says something else manages the attribute;
 * `computed`: the provider alone decides it (the configuration cannot set it).
 */
export type IgnoreReason = 'ignore_changes' | 'computed';

export type StackStatus = 'clean' | 'drifted' | 'error';

export interface StackReport {
  stack: string;
  directory: string;
  status: StackStatus;
  drift: DriftedResource[];
  /** Changed outside Terraform, but not the configuration's to keep (see IgnoreReason). */
  ignored: IgnoredDrift[];
  pending: PendingChange[];
  errors: Diagnostic[];
}

/**
 * The resources whose real objects differ from the state, from `resource_drift` of a
 * refresh-only plan. Null and empty collections count as the same value, so an
 * untagged resource reading back `tags: {}` after `tags: null` is not drift (and nor
 * is Terraform's exit code 2 for it, which is why it is not used).
 */
export function driftedResources(drift: ResourceChange[]): DriftedResource[] {
  const out: DriftedResource[] = [];
  for (const rc of drift) {
    if (rc.mode === 'data') continue;
    const kind = kindOf(rc.change.actions);
    if (kind === 'delete') {
      out.push({ address: rc.address, change: 'deleted', attributes: [] });
      continue;
    }
    const changes = diffValues(rc.change.before, rc.change.after, {
      beforeSensitive: rc.change.before_sensitive,
      afterSensitive: rc.change.after_sensitive,
      afterUnknown: rc.change.after_unknown,
    }).filter((a) => a.after !== UNKNOWN);
    if (changes.length === 0) continue;
    out.push({
      address: rc.address,
      change: 'changed',
      attributes: changes.map((a) => ({
        path: a.path,
        before: renderLeaf(a.before, 300),
        after: renderLeaf(a.after, 300),
      })),
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/**
 * Takes out of the drift the attributes `reasonFor` names a reason for; a resource whose
 * every changed attribute is ignored is no longer drifted. A deleted object always is.
 */
export function setAsideIgnored(
  drifted: DriftedResource[],
  reasonFor: (address: string, path: string) => IgnoreReason | undefined,
): { drift: DriftedResource[]; ignored: IgnoredDrift[] } {
  const drift: DriftedResource[] = [];
  const ignored: IgnoredDrift[] = [];
  for (const d of drifted) {
    if (d.change === 'deleted') {
      drift.push(d);
      continue;
    }
    const kept: DriftAttribute[] = [];
    const set: IgnoredDrift['attributes'] = [];
    for (const a of d.attributes) {
      const reason = reasonFor(d.address, a.path);
      if (reason) set.push({ path: a.path, reason });
      else kept.push(a);
    }
    if (kept.length > 0) drift.push({ ...d, attributes: kept });
    if (set.length > 0) ignored.push({ address: d.address, attributes: set });
  }
  return { drift, ignored };
}

/** Whether `path` is `drifted` or lies inside it (or contains it). */
function related(path: string, drifted: string): boolean {
  return (
    path === drifted ||
    path.startsWith(`${drifted}.`) ||
    path.startsWith(`${drifted}[`) ||
    drifted.startsWith(`${path}.`) ||
    drifted.startsWith(`${path}[`)
  );
}

/**
 * Changes a normal plan would make, each marked as either undoing the drift or coming
 * from configuration that was not applied yet.
 */
export function pendingChanges(changes: ResourceChange[], drifted: DriftedResource[]): PendingChange[] {
  const byAddress = new Map(drifted.map((d) => [d.address, d]));
  const out: PendingChange[] = [];
  for (const rc of changes) {
    const kind = kindOf(rc.change.actions);
    if (kind === 'no-op' || kind === 'read') {
      if (!(rc.previous_address && rc.previous_address !== rc.address) && !rc.change.importing) continue;
    }
    const paths = diffValues(rc.change.before, rc.change.after, {
      beforeSensitive: rc.change.before_sensitive,
      afterSensitive: rc.change.after_sensitive,
      afterUnknown: rc.change.after_unknown,
    }).map((a) => a.path);
    const drift = byAddress.get(rc.address);
    let unexplained = paths;
    if (drift?.change === 'deleted') unexplained = kind === 'create' ? [] : paths;
    else if (drift) unexplained = paths.filter((p) => !drift.attributes.some((d) => related(p, d.path)));
    const revertsDrift =
      drift !== undefined && unexplained.length === 0 && (kind === 'update' || kind === 'create' || kind === 'replace');
    out.push({
      address: rc.address,
      kind,
      attributes: kind === 'create' || kind === 'delete' ? [] : unexplained,
      revertsDrift,
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/** Changes when the drift changes; equal for the same drift seen twice. */
export function driftFingerprint(report: Pick<StackReport, 'drift'>): string {
  return createHash('sha256').update(JSON.stringify(report.drift)).digest('hex').slice(0, 16);
}
