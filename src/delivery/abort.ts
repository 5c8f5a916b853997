/**
 * An abort request as one short line, kept beside the rollout record in its own tag or
 * annotation (so the owner's writes of the record never erase it):
 *
 *   v1 id=4242.1-mio3k2x t=1764000000 by=rollback run 5555.1 by octocat
 *
 * `by` is free text reduced to what a tag can hold.
 */
import type { AbortRequest } from './types.js';
import { isRecordSafe } from './record.js';

/** Who asks, reduced to the characters a resource tag can hold, at most 120 of them. */
function tagSafe(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9 +\-=._:/@]/g, '')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 120) || 'someone'
  );
}

export function encodeAbort(request: AbortRequest): string {
  if (!isRecordSafe(request.id))
    throw new Error(`abort request id has characters a tag cannot hold: ${JSON.stringify(request.id)}`);
  return `v1 id=${request.id} t=${Math.floor(request.at)} by=${tagSafe(request.by)}`;
}

/** Parses a request; undefined for text that is not one. */
export function decodeAbort(text: string | undefined): AbortRequest | undefined {
  const m = /^v1 id=(\S+) t=(\d+) by=(.+)$/.exec(text?.trim() ?? '');
  if (!m || !isRecordSafe(m[1] as string)) return undefined;
  return { id: m[1] as string, at: Number(m[2]), by: m[3] as string };
}
