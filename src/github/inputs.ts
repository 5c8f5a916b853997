import { parseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';

/**
 * Typed access to an action's inputs. Every reader takes the input name as a string
 * literal (the `check-action-io` script matches them against action.yml), and a
 * fallback, where there is one, equal to the action.yml default: the runner passes an
 * empty string when a caller forwards an empty expression, and that means "default".
 *
 * Reads the runner's INPUT_* variables directly (as @actions/core does) so that an
 * action can check its inputs before it loads anything heavier.
 */

interface Bounds {
  min?: number;
  max?: number;
}

function raw(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** A non-empty string, or an error saying the input is required. */
function required(name: string): string {
  const value = raw(name);
  if (value === '') {
    throw new UserError(`Input '${name}' is required but was empty.`, `Set '${name}' in the step's \`with:\` block.`);
  }
  return value;
}

/** The value, the fallback when empty, or undefined. */
function string(name: string, fallback: string): string;
function string(name: string, fallback?: string): string | undefined;
function string(name: string, fallback?: string): string | undefined {
  const value = raw(name);
  return value === '' ? fallback : value;
}

/** Strictly `true` or `false` (any case); anything else is an error. */
function boolean(name: string, fallback: boolean): boolean {
  const value = raw(name).toLowerCase();
  if (value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UserError(`Input '${name}' must be true or false, not '${raw(name)}'.`);
}

/** Items separated by newlines or commas, trimmed, empties dropped. */
function list(name: string): string[] {
  return raw(name)
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Items one per line, trimmed, empties dropped: for values that may hold commas
 * themselves (labels, build arguments).
 */
function lines(name: string): string[] {
  return raw(name)
    .split(/\r?\n/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A whole number within bounds. */
function integer(name: string, fallback: number, bounds?: Bounds): number;
function integer(name: string, fallback: undefined, bounds?: Bounds): number | undefined;
function integer(name: string, fallback: number | undefined, bounds: Bounds = {}): number | undefined {
  const value = raw(name);
  if (value === '') return fallback;
  if (!/^-?\d+$/.test(value)) {
    throw new UserError(`Input '${name}' must be a whole number, not '${value}'.`);
  }
  const n = Number(value);
  if ((bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max)) {
    const range =
      bounds.min !== undefined && bounds.max !== undefined
        ? `between ${bounds.min} and ${bounds.max}`
        : bounds.min !== undefined
          ? `at least ${bounds.min}`
          : `at most ${bounds.max}`;
    throw new UserError(`Input '${name}' must be ${range}, not ${n}.`);
  }
  return n;
}

/** A duration such as `90s`, `5m`, `1h30m` or bare seconds, in milliseconds. */
function duration(name: string, fallback: string): number;
function duration(name: string, fallback?: string): number | undefined;
function duration(name: string, fallback?: string): number | undefined {
  const value = string(name, fallback);
  return value === undefined ? undefined : parseDuration(value, `Input '${name}'`);
}

/** One of a fixed set of words (matched case-insensitively, returned as declared). */
function choice<const T extends string>(name: string, choices: readonly T[], fallback: T): T;
function choice<const T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined;
function choice<const T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined {
  const value = raw(name);
  if (value === '') return fallback;
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (found === undefined) {
    throw new UserError(`Input '${name}' must be one of ${choices.map((c) => `'${c}'`).join(', ')}, not '${value}'.`);
  }
  return found;
}

export const inputs = { required, string, boolean, list, lines, integer, duration, choice };
