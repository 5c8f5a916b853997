import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ResourceChange } from './plan-json.js';
import { createdValues, diffValues, SENSITIVE, UNKNOWN, type AttributeChange, type Leaf } from './values.js';

/**
 * What a resource change means, for comparing a plan with the one that was reviewed.
 * Kept: address (and the address it moves from), actions, import id, and the known
 * attribute values it sets or changes. Left out: no-ops and data reads, values known
 * only after apply, attributes whose value does not change (where refresh noise lives),
 * null versus empty collections, and the content of sensitive values (only the fact
 * that a sensitive value changes is kept, never the value or a hash of it).
 */
export interface CanonicalChange {
  address: string;
  from?: string;
  actions: string[];
  importId?: string;
  /** path → [before, after] as JSON text; null for absent/empty. */
  attributes: Record<string, [string | null, string | null]>;
}

const SENSITIVE_TEXT = '(sensitive)';

function text(leaf: Leaf | undefined): string | null {
  if (leaf === undefined || leaf === null) return null;
  if (leaf === SENSITIVE) return SENSITIVE_TEXT;
  return JSON.stringify(leaf);
}

/**
 * `attributes`: the change's attributes as the summary computed them (summary.ts
 * attributesOf), so they are not computed twice; computed here when absent.
 */
export function canonicalChange(rc: ResourceChange, attributes?: AttributeChange[]): CanonicalChange | undefined {
  const c = rc.change;
  const actions = [...c.actions];
  const moved = rc.previous_address !== undefined && rc.previous_address !== rc.address;
  if (actions.includes('read') || rc.mode === 'data') return undefined;
  if (actions.length === 1 && actions[0] === 'no-op' && !moved && !c.importing) return undefined;
  const out: Record<string, [string | null, string | null]> = {};
  if (actions.length === 1 && actions[0] === 'create') {
    for (const a of attributes ?? createdValues(c.after, c.after_sensitive, c.after_unknown)) {
      if (a.after !== UNKNOWN) out[a.path] = [null, text(a.after)];
    }
  } else if (['update', 'delete,create', 'create,delete', 'no-op'].includes(actions.join(','))) {
    const changes =
      attributes ??
      diffValues(c.before, c.after, {
        beforeSensitive: c.before_sensitive,
        afterSensitive: c.after_sensitive,
        afterUnknown: c.after_unknown,
      });
    for (const a of changes) if (a.after !== UNKNOWN) out[a.path] = [text(a.before), text(a.after)];
  }
  return {
    address: rc.deposed ? `${rc.address} (deposed ${rc.deposed})` : rc.address,
    ...(moved ? { from: rc.previous_address } : {}),
    actions,
    ...(c.importing ? { importId: c.importing.id ?? '' } : {}),
    attributes: out,
  };
}

/**
 * A canonical change as kept in memory: its hash always, its stable JSON text while
 * the plan is small enough for the text to be useful (the PR comment's digest, diffs).
 */
export interface CanonicalEntry {
  address: string;
  hash: string;
  text?: string;
}

type StableForm = [string, string | null, string[], string | null, Array<[string, [string | null, string | null]]>];

/** Stable JSON: fixed field order, attributes sorted. */
export function canonicalEntry(change: CanonicalChange): CanonicalEntry {
  const attrs = Object.keys(change.attributes)
    .sort()
    .map((k) => [k, change.attributes[k]]);
  const text = JSON.stringify([change.address, change.from ?? null, change.actions, change.importId ?? null, attrs]);
  return { address: change.address, hash: createHash('sha256').update(text).digest('base64'), text };
}

function fromStable([address, from, actions, importId, attrs]: StableForm): CanonicalChange {
  return {
    address,
    ...(from !== null ? { from } : {}),
    actions,
    ...(importId !== null ? { importId } : {}),
    attributes: Object.fromEntries(attrs),
  };
}

/** The entries back as objects (to diff them); entries kept without text are skipped. */
export function canonicalChanges(entries: CanonicalEntry[]): CanonicalChange[] {
  return entries.filter((e) => e.text !== undefined).map((e) => fromStable(JSON.parse(e.text as string) as StableForm));
}

function sorted(entries: CanonicalEntry[]): CanonicalEntry[] {
  return [...entries].sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : a.hash < b.hash ? -1 : 1,
  );
}

/** The plan's id: sha256 over the hashes of its canonical changes in address order. Equal ids mean the same changes. */
export function planId(entries: CanonicalEntry[]): string {
  const hash = createHash('sha256').update('platform-actions/plan-id/v1\n');
  for (const entry of sorted(entries)) hash.update(entry.hash).update('\n');
  return hash.digest('hex');
}

/**
 * The canonical changes compressed for a hidden comment field; undefined when over
 * `maxChars` or when the texts were not kept (a large plan).
 */
export function encodeDigest(entries: CanonicalEntry[], maxChars: number): string | undefined {
  if (entries.some((e) => e.text === undefined)) return undefined;
  const encoded = gzipSync(
    Buffer.from(
      `[${sorted(entries)
        .map((e) => e.text)
        .join(',')}]`,
    ),
  ).toString('base64');
  return encoded.length <= maxChars ? encoded : undefined;
}

export function decodeDigest(encoded: string): CanonicalChange[] | undefined {
  try {
    const value = JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as unknown;
    return Array.isArray(value) ? (value as StableForm[]).map(fromStable) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How two plans differ in meaning, one line per difference, for a person deciding
 * whether to re-review.
 */
export function diffCanonical(reviewed: CanonicalChange[], current: CanonicalChange[], maxLines = 200): string[] {
  const lines: string[] = [];
  const before = new Map(reviewed.map((c) => [c.address, c]));
  const after = new Map(current.map((c) => [c.address, c]));
  const verb = (c: CanonicalChange) => c.actions.join(' then ');
  for (const address of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const r = before.get(address);
    const c = after.get(address);
    if (r && !c) {
      lines.push(`- ${address}: reviewed ${verb(r)}, now no change`);
      continue;
    }
    if (!r && c) {
      lines.push(`+ ${address}: not in the reviewed plan, now ${verb(c)}`);
      continue;
    }
    if (!r || !c || canonicalEntry(r).text === canonicalEntry(c).text) continue;
    if (verb(r) !== verb(c)) lines.push(`~ ${address}: reviewed ${verb(r)}, now ${verb(c)}`);
    if ((r.from ?? '') !== (c.from ?? ''))
      lines.push(`~ ${address}: reviewed move from ${r.from ?? '(none)'}, now from ${c.from ?? '(none)'}`);
    if ((r.importId ?? '') !== (c.importId ?? ''))
      lines.push(`~ ${address}: reviewed import of ${r.importId ?? '(none)'}, now ${c.importId ?? '(none)'}`);
    for (const path of [...new Set([...Object.keys(r.attributes), ...Object.keys(c.attributes)])].sort()) {
      const ra = r.attributes[path];
      const ca = c.attributes[path];
      if (JSON.stringify(ra) === JSON.stringify(ca)) continue;
      const show = (v: [string | null, string | null] | undefined) =>
        v ? `${v[0] ?? 'null'} → ${v[1] ?? 'null'}` : 'unchanged';
      lines.push(`~ ${address}.${path}: reviewed ${show(ra)}, now ${show(ca)}`);
    }
  }
  if (lines.length > maxLines)
    return [...lines.slice(0, maxLines), `… and ${lines.length - maxLines} more differences`];
  return lines;
}
