import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { UserError } from '../util/errors.js';
import type { Finding } from './findings.js';

/**
 * The ignore file: accepted findings, each with a reason and, usually, an expiry.
 *
 * ```yaml
 * ignores:
 *   - id: CVE-2019-1549
 *     package: libcrypto1.1     # optional: only this package
 *     reason: Not reachable: we never fork after seeding the RNG.
 *     expires: 2026-12-31       # optional: the entry stops ignoring after this day (UTC)
 * ```
 *
 * A bare list (without `ignores:`) is accepted too. Unknown keys are errors, so a typo
 * (`expiry:`) cannot silently make an entry permanent.
 */
export interface IgnoreEntry {
  id: string;
  package?: string;
  reason: string;
  /** The instant the entry stops applying (exclusive), when it has an expiry. */
  expiresAt?: Date;
  /** The expiry as written, for messages. */
  expires?: string;
  /** 1-based line of the entry in the file. */
  line: number;
}

const KEYS = ['id', 'package', 'reason', 'expires'];
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseExpiry(text: string): Date | undefined {
  const date = DATE.exec(text);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return undefined;
    // A date means "through that day": the entry expires at the next midnight, UTC.
    return new Date(day.getTime() + 86_400_000);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

export function parseIgnoreFile(text: string, what: string): IgnoreEntry[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as { message: string; linePos?: Array<{ line: number }> };
    throw new UserError(`${what} is not valid YAML (line ${e.linePos?.[0]?.line ?? '?'}): ${e.message.split('\n')[0]}`);
  }
  const hint =
    'Write a list under `ignores:`, each entry with id, reason and optionally package and expires (YYYY-MM-DD).';
  let list: Node | null = doc.contents as Node | null;
  if (list === null) return [];
  if (isMap(list)) {
    const keys = list.items.map((p) => String((p.key as { value?: unknown })?.value ?? p.key));
    const unknown = keys.filter((k) => k !== 'ignores');
    if (unknown.length > 0) throw new UserError(`${what}: unknown top-level key '${unknown[0]}'.`, hint);
    list = list.get('ignores', true) as Node | null;
    if (list === null || list === undefined) return [];
  }
  if (!isSeq(list)) throw new UserError(`${what} (line ${lineOf(list)}): expected a list of entries.`, hint);

  return list.items.map((item) => {
    const line = lineOf(item as Node);
    const where = `${what} (line ${line})`;
    if (!isMap(item)) throw new UserError(`${where}: each entry must be a mapping with id and reason.`, hint);
    const entry: Record<string, string> = {};
    for (const pair of item.items) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      if (!KEYS.includes(key))
        throw new UserError(`${where}: unknown key '${key}'.`, `Allowed keys: ${KEYS.join(', ')}.`);
      const value = (pair.value as { value?: unknown } | null)?.value;
      if (value === null || value === undefined || typeof value === 'object')
        throw new UserError(`${where}: '${key}' must be a single value.`, hint);
      entry[key] = String(value).trim();
    }
    if (!entry.id) throw new UserError(`${where}: the entry has no id.`, hint);
    if (!entry.reason) {
      throw new UserError(
        `${where}: the entry for ${entry.id} has no reason.`,
        'Say why the finding is accepted; the reason is shown in the job summary and the report.',
      );
    }
    let expiresAt: Date | undefined;
    if (entry.expires !== undefined) {
      expiresAt = parseExpiry(entry.expires);
      if (!expiresAt)
        throw new UserError(
          `${where}: expires '${entry.expires}' is not a date.`,
          'Write it as YYYY-MM-DD (valid through that day, UTC) or a full ISO 8601 timestamp.',
        );
    }
    return {
      id: entry.id,
      ...(entry.package ? { package: entry.package } : {}),
      reason: entry.reason,
      ...(expiresAt ? { expiresAt, expires: entry.expires } : {}),
      line,
    };
  });
}

/** Whether an entry names a finding: same id, and the same package when it names one. */
export function ignoreMatches(entry: IgnoreEntry, f: Finding): boolean {
  if (entry.id.toUpperCase() !== f.id.toUpperCase()) return false;
  if (!entry.package) return true;
  return entry.package === f.package || (entry.package.startsWith('pkg:') && (f.purl ?? '').startsWith(entry.package));
}

export function isExpired(entry: IgnoreEntry, now: Date): boolean {
  return entry.expiresAt !== undefined && now.getTime() >= entry.expiresAt.getTime();
}
