/** Analysis queries as written in a spec, filled in for one side of one rollout. */
import { UserError } from '../util/errors.js';
import { placeholdersOf } from './spec.js';
import { BUILTIN_PLACEHOLDERS } from './spec-types.js';
import type { SubjectLabels } from './types.js';

/** Prometheus-style duration of whole seconds, at least 1s: 300000 ms → "300s". */
export function seconds(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

/** Fills `{{label}}` placeholders from a side's labels and the built-ins. */
export function fillQuery(
  query: string,
  labels: SubjectLabels,
  builtins: Record<string, string>,
  what: string,
): string {
  for (const name of placeholdersOf(query)) {
    if (!(name in builtins) && !Object.hasOwn(labels, name)) {
      const known = [...Object.keys(labels), ...BUILTIN_PLACEHOLDERS].map((l) => `{{${l}}}`).join(', ');
      throw new UserError(
        `${what} uses {{${name}}}, which this rollout does not supply.`,
        `Placeholders available: ${known}.`,
      );
    }
  }
  return query.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, name: string) => builtins[name] ?? (labels[name] as string));
}
