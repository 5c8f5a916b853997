/**
 * Parsing what a user writes for a one-off task (command, environment, overrides,
 * placement) into the RunTask shapes, with errors that say what is wrong. No SDK here:
 * action settings run it before anything heavy is loaded.
 */
import type { CapacityProviderStrategyItem, KeyValuePair, TaskOverride } from '@aws-sdk/client-ecs';
import { UserError } from '../util/errors.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A command as a JSON array of strings, or words separated by spaces (no quoting: use JSON for that). */
export function parseCommand(text: string | undefined, what: string): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch (err) {
      throw new UserError(
        `${what} starts with '[' but is not a JSON array (${(err as Error).message}).`,
        'Write it as ["npm", "run", "migrate"], or as plain words: npm run migrate.',
      );
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) {
      throw new UserError(
        `${what} must be a non-empty JSON array of strings.`,
        'For example ["alembic", "upgrade", "head"].',
      );
    }
    return parsed as string[];
  }
  if (/["'`\\$]/.test(t)) {
    throw new UserError(
      `${what} '${t}' has quotes, a backslash or $, which are not interpreted here (there is no shell).`,
      'Write it as a JSON array, e.g. ["sh", "-c", "alembic upgrade head && echo done"].',
    );
  }
  return t.split(/\s+/);
}

/** NAME=value lines. */
export function parseEnvironment(lines: string[], what: string): KeyValuePair[] {
  return lines.map((line) => {
    const at = line.indexOf('=');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!ENV_NAME.test(name))
      throw new UserError(
        `${what} has '${line}', which is not NAME=value with a variable name.`,
        'Write one per line, e.g. LOG_LEVEL=debug.',
      );
    return { name, value: line.slice(at + 1).trim() };
  });
}

const OVERRIDE_KEYS = new Set([
  'containerOverrides',
  'cpu',
  'memory',
  'taskRoleArn',
  'executionRoleArn',
  'ephemeralStorage',
  'inferenceAcceleratorOverrides',
]);
const CONTAINER_KEYS = new Set([
  'name',
  'command',
  'environment',
  'environmentFiles',
  'cpu',
  'memory',
  'memoryReservation',
  'resourceRequirements',
]);

/** The RunTask `overrides` object, checked for the members ECS knows. */
export function parseOverrides(text: string | undefined, what: string): TaskOverride | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${what} is not JSON (${(err as Error).message}).`,
      'Give the RunTask overrides object, e.g. {"containerOverrides":[{"name":"web","memory":2048}]}.',
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UserError(
      `${what} must be a JSON object (RunTask's overrides).`,
      'For example {"cpu":"1024","memory":"2048"}.',
    );
  const o = parsed as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OVERRIDE_KEYS.has(key))
      throw new UserError(
        `${what} has '${key}', which RunTask's overrides do not have.`,
        `Use: ${[...OVERRIDE_KEYS].join(', ')}.`,
      );
  }
  if (o.containerOverrides !== undefined) {
    if (!Array.isArray(o.containerOverrides))
      throw new UserError(
        `${what}: containerOverrides must be a list.`,
        'For example [{"name":"web","command":["migrate"]}].',
      );
    for (const c of o.containerOverrides as unknown[]) {
      if (!c || typeof c !== 'object' || typeof (c as { name?: unknown }).name !== 'string')
        throw new UserError(
          `${what}: every containerOverrides entry needs a name.`,
          'Name the container each override is for.',
        );
      for (const key of Object.keys(c)) {
        if (!CONTAINER_KEYS.has(key))
          throw new UserError(
            `${what}: containerOverrides has '${key}', which a container override does not have.`,
            `Use: ${[...CONTAINER_KEYS].join(', ')}.`,
          );
      }
    }
  }
  return o as TaskOverride;
}

/** `PROVIDER:WEIGHT[:BASE]` entries. */
export function parseCapacityProviderStrategy(
  entries: string[],
  what: string,
): CapacityProviderStrategyItem[] | undefined {
  if (entries.length === 0) return undefined;
  const items = entries.map((e) => {
    const m = /^([A-Za-z0-9_-]{1,255}):(\d{1,4})(?::(\d{1,6}))?$/.exec(e.trim());
    if (!m)
      throw new UserError(
        `${what} has '${e}', which is not PROVIDER:WEIGHT or PROVIDER:WEIGHT:BASE.`,
        'For example FARGATE_SPOT:3 and FARGATE:1:1.',
      );
    return { capacityProvider: m[1] as string, weight: Number(m[2]), ...(m[3] ? { base: Number(m[3]) } : {}) };
  });
  if (items.filter((i) => i.base).length > 1)
    throw new UserError(
      `${what} gives a base to more than one provider.`,
      'Only one capacity provider of a strategy can have a base.',
    );
  return items;
}
