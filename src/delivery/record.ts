/**
 * The rollout record as one short line of text, so it fits where targets keep it: an ECS
 * resource tag (value at most 256 characters of letters, digits, spaces and `+ - = . _ : / @`)
 * or a Kubernetes annotation.
 *
 *   v1 id=4242-1 e=ecs-task-set p=shifting s=ecs-svc/123 c=ecs-svc/456 w=50 i=1 t=1764000000 r=4242.1 l=1764000180
 *
 * Unknown fields are ignored (a newer version may add some); a text that is not a record
 * decodes to undefined. Callers that must tell "no record" from "a record we cannot read"
 * use `readRecordText`.
 */
import type { RolloutPhase, RolloutRecord } from './types.js';

const PHASES: readonly RolloutPhase[] = ['starting', 'shifting', 'promoting', 'rolling-back', 'held', 'paused'];
const VALUE = /^[A-Za-z0-9+\-=._:/@]*$/;

/** Characters an id may use to fit the record. */
export function isRecordSafe(value: string): boolean {
  return VALUE.test(value);
}

export function encodeRecord(record: RolloutRecord): string {
  const fields: Array<[string, string]> = [
    ['id', record.id],
    ['e', record.engine],
    ['p', record.phase],
    ['s', record.stable],
    ['c', record.canary],
    ['w', String(record.weight)],
    ['i', String(record.step)],
    ['t', String(record.at)],
    ...(record.run ? ([['r', record.run]] as Array<[string, string]>) : []),
    ...(record.lease !== undefined ? ([['l', String(record.lease)]] as Array<[string, string]>) : []),
    ...(record.pauseUntil !== undefined ? ([['pu', String(record.pauseUntil)]] as Array<[string, string]>) : []),
    ...(record.githubDeployment !== undefined
      ? ([['gd', String(record.githubDeployment)]] as Array<[string, string]>)
      : []),
  ];
  for (const [key, value] of fields) {
    if (!isRecordSafe(value))
      throw new Error(`rollout record field ${key} has characters a tag cannot hold: ${JSON.stringify(value)}`);
  }
  return ['v1', ...fields.map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** Parses a record; undefined for text that is not one (so a hand-edited tag is ignored, not fatal). */
export function decodeRecord(text: string | undefined): RolloutRecord | undefined {
  if (!text) return undefined;
  const [version, ...parts] = text.trim().split(/\s+/);
  if (version !== 'v1') return undefined;
  const f = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    f.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const phase = f.get('p') as RolloutPhase | undefined;
  const weight = Number(f.get('w'));
  const step = Number(f.get('i'));
  const at = Number(f.get('t'));
  const lease = f.has('l') ? Number(f.get('l')) : undefined;
  if (lease !== undefined && !Number.isFinite(lease)) return undefined;
  const pauseUntil = f.has('pu') ? Number(f.get('pu')) : undefined;
  if (pauseUntil !== undefined && !Number.isFinite(pauseUntil)) return undefined;
  // A Deployment id is a positive integer; anything else is dropped (the record stays usable).
  const gd = f.has('gd') && /^\d{1,15}$/.test(f.get('gd') as string) ? Number(f.get('gd')) : undefined;
  if (
    !f.get('id') ||
    !f.get('e') ||
    !phase ||
    !PHASES.includes(phase) ||
    !Number.isFinite(weight) ||
    !Number.isInteger(step) ||
    !Number.isFinite(at)
  ) {
    return undefined;
  }
  return {
    id: f.get('id') as string,
    engine: f.get('e') as string,
    phase,
    stable: f.get('s') ?? '',
    canary: f.get('c') ?? '',
    weight,
    step,
    at,
    ...(f.get('r') ? { run: f.get('r') as string } : {}),
    ...(lease !== undefined ? { lease } : {}),
    ...(pauseUntil !== undefined ? { pauseUntil } : {}),
    ...(gd !== undefined && gd > 0 ? { githubDeployment: gd } : {}),
  };
}

/** What a stored record text holds: nothing, a record, or text that is not one (garbled or forged). */
export type RecordText =
  { kind: 'none' } | { kind: 'record'; record: RolloutRecord } | { kind: 'unreadable'; text: string };

export function readRecordText(text: string | undefined): RecordText {
  if (!text) return { kind: 'none' };
  const record = decodeRecord(text);
  return record ? { kind: 'record', record } : { kind: 'unreadable', text };
}

/** "rollout 4242-1 (ecs-task-set), shifting at step 2 with up to 50% on ecs-svc/456, written by run 4242 at …" */
export function describeRecord(record: RolloutRecord): string {
  const when = new Date(record.at * 1000).toISOString();
  const where =
    record.phase === 'starting'
      ? 'starting (no traffic moved yet)'
      : record.phase === 'held'
        ? `held after a failed check with up to ${record.weight}% on the new version`
        : record.phase === 'paused'
          ? `paused at step ${record.step + 1} with ${record.weight}% on the new version${record.pauseUntil ? ` until ${new Date(record.pauseUntil * 1000).toISOString()}` : ''}`
          : `${record.phase} at step ${record.step + 1} with up to ${record.weight}% on the new version`;
  const lease = record.lease !== undefined ? `, lease until ${new Date(record.lease * 1000).toISOString()}` : '';
  return `rollout ${record.id} (${record.engine}), ${where}${record.canary ? ` (${record.canary}; stable ${record.stable || 'unknown'})` : ''}, written${record.run ? ` by run ${record.run}` : ''} at ${when}${lease}`;
}
