/**
 * Reading one value of the analysis spec at a time: `SpecReader` checks a field's type
 * and range and fails with a UserError that names the field's path and says what to write
 * instead (with the nearest allowed key for a misspelt one).
 */
import { formatDuration, tryParseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import type { MetricUnit } from './types.js';

/** The longest duration any field accepts. */
const MAX_DURATION_MS = 24 * 3_600_000;

export type Mapping = Record<string, unknown>;

export class SpecReader {
  constructor(readonly source: string) {}

  fail(path: string, problem: string, hint: string): never {
    const where = this.source === 'inline' ? 'the analysis spec' : `the analysis spec ${this.source}`;
    throw new UserError(`In ${where}, ${path} ${problem}.`, hint);
  }

  mapping(value: unknown, path: string, allowed: readonly string[]): Mapping {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(
        path,
        `must be a mapping (key: value lines), not ${describe(value)}`,
        `Allowed keys: ${allowed.join(', ')}.`,
      );
    }
    const obj = value as Mapping;
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        const near = suggest(key, allowed);
        this.fail(
          join(path, key),
          'is not a known field',
          near
            ? `Did you mean '${near}'? Allowed here: ${allowed.join(', ')}.`
            : `Allowed here: ${allowed.join(', ')}.`,
        );
      }
    }
    return obj;
  }

  string(obj: Mapping, key: string, path: string, hint: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(join(path, key), `must be a non-empty text, not ${describe(value)}`, hint);
    }
    return value.trim();
  }

  duration(obj: Mapping, key: string, path: string, fallback: string | undefined, minMs: number): number | undefined {
    const value = obj[key];
    const hint = `Write a duration such as 30s, 2m or 1h30m (at least ${formatDuration(minMs)}).`;
    if (value === undefined || value === null)
      return fallback === undefined ? undefined : (tryParseDuration(fallback) as number);
    const ms =
      typeof value === 'number' ? value * 1000 : typeof value === 'string' ? tryParseDuration(value) : undefined;
    if (ms === undefined || !Number.isFinite(ms))
      this.fail(join(path, key), `must be a duration, not ${describe(value)}`, hint);
    if (ms < minMs)
      this.fail(join(path, key), `must be at least ${formatDuration(minMs)}, not ${formatDuration(ms)}`, hint);
    if (ms > MAX_DURATION_MS) this.fail(join(path, key), `must be at most 24h, not ${formatDuration(ms)}`, hint);
    return ms;
  }

  integer(obj: Mapping, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.fail(
        join(path, key),
        `must be a whole number, not ${describe(value)}`,
        `Write a whole number between ${min} and ${max}, e.g. ${fallback || min}.`,
      );
    }
    if (n < min || n > max)
      this.fail(
        join(path, key),
        `must be between ${min} and ${max}, not ${n}`,
        `Write a whole number between ${min} and ${max}.`,
      );
    return n;
  }

  /** A number, a percentage (`1%` → 0.01) or a duration (`500ms` → 0.5 seconds). */
  quantity(obj: Mapping, key: string, path: string): Quantity | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    const q = parseQuantity(value);
    if (!q) {
      this.fail(
        join(path, key),
        `must be a number, not ${describe(value)}`,
        'Write a plain number (0.5), a percentage (1%) or a duration in seconds (500ms, 1.5s).',
      );
    }
    return q;
  }

  /** A fraction: 0.1 or `10%`, within bounds. */
  fraction(
    obj: Mapping,
    key: string,
    path: string,
    fallback: number,
    min: number,
    max: number,
    minExclusive = false,
  ): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    const q = parseQuantity(value);
    const ok =
      q !== undefined && q.unit !== 'seconds' && (minExclusive ? q.value > min : q.value >= min) && q.value <= max;
    if (!ok) {
      this.fail(
        join(path, key),
        `must be a fraction ${minExclusive ? 'above' : 'from'} ${pct(min)} to ${pct(max)}, not ${describe(value)}`,
        `Write it as a decimal (${fallback}) or a percentage (${pct(fallback)}).`,
      );
    }
    return q.value;
  }

  choice<T extends string>(obj: Mapping, key: string, path: string, choices: readonly T[], fallback: T): T {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      this.fail(
        join(path, key),
        `must be one of ${choices.join(', ')}, not ${describe(value)}`,
        `Write one of: ${choices.join(', ')}.`,
      );
    }
    return value as T;
  }
}

interface Quantity {
  value: number;
  unit?: MetricUnit;
}

/** `0.01` → 0.01; `'1%'` → 0.01 (ratio); `'500ms'` → 0.5 (seconds); anything else → undefined. */
export function parseQuantity(value: unknown): Quantity | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? { value } : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const percent = /^(-?\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (percent) return { value: Number(percent[1]) / 100, unit: 'ratio' };
  if (/^-?\d+(?:\.\d+)?(?:e-?\d+)?$/i.test(text)) return { value: Number(text) };
  if (/[a-z]$/i.test(text)) {
    const ms = tryParseDuration(text);
    if (ms !== undefined) return { value: ms / 1000, unit: 'seconds' };
  }
  return undefined;
}

export function join(path: string, key: string): string {
  return path === '' || path === 'the top level' ? key : `${path}.${key}`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  return String(value);
}

export function pct(n: number): string {
  return `${+(n * 100).toFixed(4)}%`;
}

/** The allowed key closest to `key`: camelCase/snake_case spellings or at most two edits away. */
function suggest(key: string, allowed: readonly string[]): string | undefined {
  const kebab = key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
  if (allowed.includes(kebab)) return kebab;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(kebab, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
