import { matchesAny } from '../util/glob.js';
import { scanPlanFile, type Action, type DeferredChange, type PlanHeader, type ResourceChange } from './plan-json.js';
import { canonicalChange, canonicalEntry, planId, type CanonicalEntry } from './plan-id.js';
import { createdValues, diffValues, SENSITIVE, UNKNOWN, type AttributeChange, type Leaf } from './values.js';

/** What a resource change does, with both orders of replacement folded into one. */
export type Kind = 'create' | 'update' | 'delete' | 'replace' | 'read' | 'forget' | 'no-op';

export function kindOf(actions: readonly Action[]): Kind {
  switch (actions.join(',')) {
    case 'create':
      return 'create';
    case 'update':
      return 'update';
    case 'delete':
      return 'delete';
    case 'delete,create':
    case 'create,delete':
      return 'replace';
    case 'read':
      return 'read';
    case 'no-op':
    case '':
      return 'no-op';
    default:
      return actions.includes('forget') ? 'forget' : 'update';
  }
}

/** Terraform's action_reason values, as a reader would say them. */
const REASONS: Record<string, string> = {
  replace_because_cannot_update: 'an attribute that cannot be updated in place changed',
  replace_because_tainted: 'the object is tainted',
  replace_by_request: 'replacement was requested (-replace)',
  replace_by_triggers: 'replace_triggered_by changed',
  delete_because_no_resource_config: 'removed from the configuration',
  delete_because_no_module: 'its module was removed from the configuration',
  delete_because_wrong_repetition: 'count / for_each changed the way it repeats',
  delete_because_count_index: 'its count index is no longer in range',
  delete_because_each_key: 'its for_each key is no longer in the map',
  delete_because_no_move_target: 'the target of its moved block does not exist',
  read_because_config_unknown: 'its configuration depends on values known only after apply',
  read_because_dependency_pending: 'a resource it depends on has pending changes',
  read_because_check_nested: 'a check block reads it',
};

export function describeReason(reason: string | undefined): string | undefined {
  return reason ? (REASONS[reason] ?? reason.replace(/_/g, ' ')) : undefined;
}

/** Attribute text kept per kind of change (see PlanSummariser.budget). */
const ATTRIBUTE_BUDGET = 400_000;

function textLength(leaf: Leaf | undefined): number {
  return typeof leaf === 'string' ? leaf.length : 8;
}

/** Longest string kept for an attribute value; the rest is cut with an ellipsis. */
const MAX_VALUE_LENGTH = 1000;
/** Most attributes kept per resource. */
const MAX_ATTRIBUTES = 100;

export interface PlannedChange {
  address: string;
  previousAddress?: string;
  /** `module.a.module.b`, or '' for the root module. */
  module: string;
  mode: 'managed' | 'data';
  kind: Kind;
  actions: Action[];
  reason?: string;
  importId?: string;
  deposed?: string;
  /** The attributes that change (updates, replaces), are set (creates) or are lost (deletes: none). */
  attributes: AttributeChange[];
  omittedAttributes: number;
  /** Attribute paths that force the replacement. */
  replacePaths: string[];
  /** Why Terraform deferred the change, for deferred changes. */
  deferredReason?: string;
  /** Matched protected-resources. */
  protected: boolean;
}

export interface PlanCounts {
  /** As Terraform counts: creates plus replacements. */
  add: number;
  change: number;
  /** As Terraform counts: deletes plus replacements. */
  destroy: number;
  replace: number;
  import: number;
  move: number;
  forget: number;
  read: number;
  deferred: number;
}

export interface OutputChange {
  name: string;
  kind: Kind;
  sensitive: boolean;
  before?: Leaf;
  after?: Leaf;
}

export interface PlanSummary {
  terraformVersion: string;
  counts: PlanCounts;
  /** Every change worth showing (no-ops only when they move or import). */
  changes: PlannedChange[];
  outputs: OutputChange[];
  hasChanges: boolean;
  errored: boolean;
  /** Deletes or replaces of addresses matching protected-resources. */
  protectedDestroys: string[];
  /** The meaning of the plan, for plan-id. */
  canonical: CanonicalEntry[];
  planId: string;
}

function cut(leaf: Leaf | undefined): Leaf | undefined {
  return typeof leaf === 'string' && leaf.length > MAX_VALUE_LENGTH ? `${leaf.slice(0, MAX_VALUE_LENGTH)}…` : leaf;
}

function pathText(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The attributes a change sets (create), changes (update, replace, import) or reads; none for deletes. */
export function attributesOf(rc: ResourceChange, kind: Kind = kindOf(rc.change.actions)): AttributeChange[] {
  const c = rc.change;
  if (kind === 'create') return createdValues(c.after, c.after_sensitive, c.after_unknown);
  if (kind === 'update' || kind === 'replace' || kind === 'no-op') {
    if (kind === 'no-op' && !c.importing && !(rc.previous_address && rc.previous_address !== rc.address)) return [];
    return diffValues(c.before, c.after, {
      beforeSensitive: c.before_sensitive,
      afterSensitive: c.after_sensitive,
      afterUnknown: c.after_unknown,
    });
  }
  if (kind === 'read')
    return createdValues(c.after, c.after_sensitive, c.after_unknown).filter((a) => a.after !== UNKNOWN);
  return [];
}

/** One resource change as the summary keeps it: values flattened, cut and masked. */
export function plannedChange(
  rc: ResourceChange,
  protectedPatterns: string[] = [],
  all?: AttributeChange[],
): PlannedChange {
  const c = rc.change;
  const kind = kindOf(c.actions);
  let attributes = all ?? attributesOf(rc, kind);
  const omittedAttributes = Math.max(0, attributes.length - MAX_ATTRIBUTES);
  attributes = attributes.slice(0, MAX_ATTRIBUTES).map((a) => ({ ...a, before: cut(a.before), after: cut(a.after) }));
  for (const a of attributes) {
    if (a.before === undefined) delete a.before;
    if (a.after === undefined) delete a.after;
  }
  const destructive = kind === 'delete' || kind === 'replace';
  const addresses = [rc.address, ...(rc.previous_address ? [rc.previous_address] : [])];
  return {
    address: rc.address,
    ...(rc.previous_address && rc.previous_address !== rc.address ? { previousAddress: rc.previous_address } : {}),
    module: rc.module_address ?? '',
    mode: rc.mode,
    kind,
    actions: c.actions,
    ...(rc.action_reason ? { reason: rc.action_reason } : {}),
    ...(c.importing ? { importId: c.importing.id ?? '(by identity)' } : {}),
    ...(rc.deposed ? { deposed: rc.deposed } : {}),
    attributes,
    omittedAttributes,
    replacePaths: (c.replace_paths ?? []).map(pathText),
    protected: destructive && protectedPatterns.length > 0 && addresses.some((a) => matchesAny(a, protectedPatterns)),
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const ORDER: Record<Kind, number> = { delete: 0, replace: 1, update: 2, create: 3, forget: 4, 'no-op': 5, read: 6 };

/**
 * Builds the summary one resource change at a time (the plan is streamed, see
 * plan-json.ts), keeping only what is shown: flattened, cut attribute values.
 */
export class PlanSummariser {
  private readonly changes: PlannedChange[] = [];
  private readonly canonical: CanonicalEntry[] = [];
  /** Characters of attribute text kept per kind; past ATTRIBUTE_BUDGET only addresses are kept. */
  private readonly retained = new Map<Kind, number>();
  readonly counts: PlanCounts = {
    add: 0,
    change: 0,
    destroy: 0,
    replace: 0,
    import: 0,
    move: 0,
    forget: 0,
    read: 0,
    deferred: 0,
  };

  private canonicalText = 0;

  /**
   * `keepCanonicalText`: characters of canonical text to keep (for the PR comment's
   * digest and apply's diff); past it only hashes are kept, which is all plan-id needs.
   */
  constructor(
    private readonly protectedPatterns: string[] = [],
    private readonly keepCanonicalText = 300_000,
  ) {}

  add(rc: ResourceChange): void {
    const all = attributesOf(rc);
    const entry = plannedChange(rc, this.protectedPatterns, all);
    const n = this.counts;
    if (entry.kind === 'create') n.add++;
    if (entry.kind === 'update') n.change++;
    if (entry.kind === 'delete') n.destroy++;
    if (entry.kind === 'replace') {
      n.replace++;
      n.add++;
      n.destroy++;
    }
    if (entry.kind === 'forget') n.forget++;
    if (entry.kind === 'read') n.read++;
    if (entry.importId !== undefined) n.import++;
    if (entry.previousAddress !== undefined) n.move++;
    const canonical = canonicalChange(rc, all);
    if (canonical) {
      const entry = canonicalEntry(canonical);
      if (this.canonicalText > this.keepCanonicalText) {
        delete entry.text;
      } else {
        this.canonicalText += entry.text?.length ?? 0;
        if (this.canonicalText > this.keepCanonicalText) for (const e of [...this.canonical, entry]) delete e.text;
      }
      this.canonical.push(entry);
    }
    this.budget(entry);
    if (entry.kind !== 'no-op' || entry.importId !== undefined || entry.previousAddress !== undefined)
      this.changes.push(entry);
  }

  /**
   * Nothing renders more than the job summary's 1 MiB, so once a kind has kept that much
   * attribute text, later entries of it keep only their address and a count.
   */
  private budget(entry: PlannedChange): void {
    let size = 0;
    for (const a of entry.attributes) size += a.path.length + textLength(a.before) + textLength(a.after) + 8;
    const used = this.retained.get(entry.kind) ?? 0;
    if (used + size > ATTRIBUTE_BUDGET) {
      entry.omittedAttributes += entry.attributes.length;
      entry.attributes = [];
    } else {
      this.retained.set(entry.kind, used + size);
    }
  }

  addDeferred(dc: DeferredChange): void {
    this.counts.deferred++;
    this.changes.push({ ...plannedChange(dc.resource_change, this.protectedPatterns), deferredReason: dc.reason });
  }

  finish(header: PlanHeader): PlanSummary {
    const outputs: OutputChange[] = Object.entries(header.output_changes ?? {})
      .map(([name, c]): OutputChange => {
        const kind = kindOf(c.actions);
        const sensitive = c.before_sensitive === true || c.after_sensitive === true;
        return {
          name,
          kind,
          sensitive,
          before: sensitive ? SENSITIVE : cut(leafOf(c.before)),
          after: sensitive ? SENSITIVE : c.after_unknown === true ? UNKNOWN : cut(leafOf(c.after)),
        };
      })
      .filter((o) => o.kind !== 'no-op');
    const n = this.counts;
    this.changes.sort((a, b) => {
      const deferred = Number(a.deferredReason !== undefined) - Number(b.deferredReason !== undefined);
      if (deferred !== 0) return deferred;
      return ORDER[a.kind] - ORDER[b.kind] || compare(a.module, b.module) || compare(a.address, b.address);
    });
    return {
      terraformVersion: header.terraform_version ?? '',
      counts: n,
      changes: this.changes,
      outputs,
      hasChanges: n.add + n.change + n.destroy + n.import + n.move + n.forget > 0 || outputs.length > 0,
      errored: header.errored === true,
      protectedDestroys: this.changes.filter((c) => c.protected).map((c) => c.address),
      canonical: this.canonical,
      planId: planId(this.canonical),
    };
  }
}

function leafOf(value: unknown): Leaf {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') return JSON.stringify(value);
  return value as Leaf;
}

/** Reads a JSON plan file (streamed) and summarises it. */
export async function summarisePlanFile(
  path: string,
  protectedPatterns: string[] = [],
  keepCanonicalText?: number,
): Promise<PlanSummary> {
  const summariser = new PlanSummariser(protectedPatterns, keepCanonicalText);
  const header = await scanPlanFile(path, {
    resourceChange: (rc) => summariser.add(rc),
    deferredChange: (dc) => summariser.addDeferred(dc),
  });
  return summariser.finish(header);
}
