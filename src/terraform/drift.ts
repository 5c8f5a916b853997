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

export type StackStatus = 'clean' | 'drifted' | 'error';

export interface StackReport {
  stack: string;
  directory: string;
  status: StackStatus;
  drift: DriftedResource[];
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
      attributes: changes.map((a) => ({ path: a.path, before: renderLeaf(a.before, 300), after: renderLeaf(a.after, 300) })),
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/** Whether `path` is `drifted` or lies inside it (or contains it). */
function related(path: string, drifted: string): boolean {
  return path === drifted || path.startsWith(`${drifted}.`) || path.startsWith(`${drifted}[`) || drifted.startsWith(`${path}.`) || drifted.startsWith(`${path}[`);
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
    const revertsDrift = drift !== undefined && unexplained.length === 0 && (kind === 'update' || kind === 'create' || kind === 'replace');
    out.push({ address: rc.address, kind, attributes: kind === 'create' || kind === 'delete' ? [] : unexplained, revertsDrift });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/** Changes when the drift changes; equal for the same drift seen twice. */
export function driftFingerprint(report: Pick<StackReport, 'drift'>): string {
  return createHash('sha256').update(JSON.stringify(report.drift)).digest('hex').slice(0, 16);
}
