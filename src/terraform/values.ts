/**
 * Attribute values of a resource change, flattened to paths (`tags.team`,
 * `ingress[0].from_port`) with Terraform's sensitive and unknown markers applied.
 * Sensitive values never leave this module: they become SENSITIVE before anything
 * can render or hash them.
 */

export const SENSITIVE = Symbol('sensitive');
export const UNKNOWN = Symbol('unknown');
export type Leaf = string | number | boolean | null | typeof SENSITIVE | typeof UNKNOWN;

/** Empty collections and null mean the same thing to a person reading a plan (and to drift). */
export const EMPTY = null;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (
    v === null ||
    v === undefined ||
    (Array.isArray(v) && v.length === 0) ||
    (isObject(v) && Object.keys(v).length === 0)
  );
}

function child(mask: unknown, key: string | number): unknown {
  if (mask === true || mask === false || mask === null || mask === undefined) return mask === true ? true : undefined;
  if (Array.isArray(mask)) return typeof key === 'number' ? mask[key] : undefined;
  if (isObject(mask)) return mask[String(key)];
  return undefined;
}

function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? safe : `${path}.${safe}`;
}

/**
 * Flattens a value into leaf paths. Null and empty collections become EMPTY (null),
 * a sensitive path becomes SENSITIVE (its content is never read), and a path the
 * unknown mask marks becomes UNKNOWN, even where the value itself has no key for it.
 */
export function flatten(
  value: unknown,
  sensitive: unknown,
  unknown: unknown,
  out = new Map<string, Leaf>(),
  path = '',
): Map<string, Leaf> {
  if (sensitive === true) {
    out.set(path, SENSITIVE);
    return out;
  }
  if (unknown === true) {
    out.set(path, UNKNOWN);
    return out;
  }
  const unknownKeys = isObject(unknown) ? Object.keys(unknown) : Array.isArray(unknown) ? unknown.map((_, i) => i) : [];
  if (isEmpty(value) && unknownKeys.length === 0) {
    if (path !== '') out.set(path, EMPTY);
    return out;
  }
  if (Array.isArray(value) || Array.isArray(unknown)) {
    const list = Array.isArray(value) ? value : [];
    const length = Math.max(list.length, Array.isArray(unknown) ? unknown.length : 0);
    for (let i = 0; i < length; i++) flatten(list[i], child(sensitive, i), child(unknown, i), out, joinPath(path, i));
    return out;
  }
  if (isObject(value) || isObject(unknown)) {
    const obj = isObject(value) ? value : {};
    const keys =
      unknownKeys.length === 0 ? Object.keys(obj) : [...new Set([...Object.keys(obj), ...unknownKeys.map(String)])];
    for (const key of keys.sort())
      flatten(obj[key], child(sensitive, key), child(unknown, key), out, joinPath(path, key));
    return out;
  }
  out.set(path, value as Leaf);
  return out;
}

/** Whether any part of a value is sensitive (used to compare two sensitive values without showing them). */
export function sensitivePaths(sensitive: unknown): boolean {
  if (sensitive === true) return true;
  if (Array.isArray(sensitive)) return sensitive.some(sensitivePaths);
  if (isObject(sensitive)) return Object.values(sensitive).some(sensitivePaths);
  return false;
}

/** The text of every value under a sensitive mark (what must never be shown). */
export function sensitiveTexts(value: unknown, sensitive: unknown, out = new Set<string>()): Set<string> {
  if (sensitive === true) {
    if (typeof value === 'string') {
      if (value.length >= 3) out.add(value);
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      // Too short to look for elsewhere without hiding unrelated values.
    } else if (value !== null && value !== undefined) {
      sensitiveTexts(
        value,
        isObject(value)
          ? Object.fromEntries(Object.keys(value).map((k) => [k, true]))
          : (value as unknown[]).map(() => true),
        out,
      );
    }
    return out;
  }
  if (Array.isArray(value)) value.forEach((v, i) => sensitiveTexts(v, child(sensitive, i), out));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) sensitiveTexts(v, child(sensitive, k), out);
  return out;
}

/**
 * Marks as SENSITIVE every other leaf that contains a sensitive value. Terraform marks
 * only the paths a provider or the configuration declared sensitive; an attribute
 * derived from one (terraform_data's `output` from its `input`, a connection string
 * built from a password) can carry the secret unmarked.
 */
export function redact(map: Map<string, Leaf>, secrets: Set<string>): Map<string, Leaf> {
  if (secrets.size === 0) return map;
  for (const [path, leaf] of map) {
    if (typeof leaf === 'string' && [...secrets].some((secret) => leaf.includes(secret))) map.set(path, SENSITIVE);
  }
  return map;
}

export interface AttributeChange {
  path: string;
  /** Absent for a create. */
  before?: Leaf;
  /** Absent for a delete. */
  after?: Leaf;
}

/** The value at a path of a raw value, for comparing two sensitive leaves without rendering them. */
function rawAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current = value;
  for (const m of path.matchAll(/\[(\d+)\]|\.?("(?:[^"\\]|\\.)*"|[^.[]+)/g)) {
    if (current === null || current === undefined) return undefined;
    if (m[1] !== undefined) current = (current as unknown[])[Number(m[1])];
    else {
      const key = (m[2] as string).startsWith('"') ? (JSON.parse(m[2] as string) as string) : (m[2] as string);
      current = (current as Record<string, unknown>)[key];
    }
  }
  return current;
}

/**
 * The attributes that differ between before and after, null and empty alike. A
 * sensitive attribute appears (as SENSITIVE) only when its hidden value really changed.
 */
export function diffValues(
  before: unknown,
  after: unknown,
  masks: { beforeSensitive?: unknown; afterSensitive?: unknown; afterUnknown?: unknown },
): AttributeChange[] {
  const secrets = sensitiveTexts(before, masks.beforeSensitive);
  sensitiveTexts(after, masks.afterSensitive, secrets);
  const b = redact(flatten(before, masks.beforeSensitive, undefined), secrets);
  const a = redact(flatten(after, masks.afterSensitive, masks.afterUnknown), secrets);
  const paths = [...new Set([...b.keys(), ...a.keys()])].sort();
  const changes: AttributeChange[] = [];
  // A collection that flattened to leaves on one side and to EMPTY on the other must
  // not be reported twice: `tags: {} → {a=1}` is the leaf `tags.a`, not `tags` too.
  const parentsOf = (map: Map<string, Leaf>) => {
    const parents = new Set<string>();
    for (const key of map.keys()) {
      for (let i = key.length - 1; i > 0; i--) if (key[i] === '.' || key[i] === '[') parents.add(key.slice(0, i));
    }
    return parents;
  };
  const parentsA = parentsOf(a);
  const parentsB = parentsOf(b);
  const covered = (p: string, map: Map<string, Leaf>) => (map === a ? parentsA : parentsB).has(p);
  for (const path of paths) {
    const hasB = b.has(path);
    const hasA = a.has(path);
    const vb = hasB ? (b.get(path) as Leaf) : EMPTY;
    const va = hasA ? (a.get(path) as Leaf) : EMPTY;
    if (vb === EMPTY && !hasA && covered(path, a)) continue;
    if (va === EMPTY && !hasB && covered(path, b)) continue;
    if (vb === SENSITIVE || va === SENSITIVE) {
      if (
        va === UNKNOWN ||
        JSON.stringify(rawAt(before, path) ?? null) !== JSON.stringify(rawAt(after, path) ?? null)
      ) {
        changes.push({
          path,
          before: vb === EMPTY ? EMPTY : SENSITIVE,
          after: va === UNKNOWN ? UNKNOWN : va === EMPTY ? EMPTY : SENSITIVE,
        });
      }
      continue;
    }
    if (va === UNKNOWN || vb !== va) changes.push({ path, before: vb, after: va });
  }
  return changes;
}

/** The attributes a create sets (known, non-empty ones, plus those known only after apply). */
export function createdValues(after: unknown, afterSensitive: unknown, afterUnknown: unknown): AttributeChange[] {
  const changes: AttributeChange[] = [];
  const secrets = sensitiveTexts(after, afterSensitive);
  for (const [path, leaf] of redact(flatten(after, afterSensitive, afterUnknown), secrets)) {
    if (leaf !== EMPTY) changes.push({ path, after: leaf });
  }
  return changes;
}

/** A leaf as a person reads it in a plan; never the content of a sensitive value. */
export function renderLeaf(leaf: Leaf | undefined, maxLength = 200): string {
  if (leaf === SENSITIVE) return '(sensitive value)';
  if (leaf === UNKNOWN) return '(known after apply)';
  if (leaf === undefined || leaf === null) return 'null';
  const text = JSON.stringify(leaf);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
