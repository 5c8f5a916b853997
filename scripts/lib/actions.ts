import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

export interface ActionInput {
  description?: string;
  required?: boolean;
  default?: string;
  deprecationMessage?: string;
}

export interface ActionMeta {
  name: string;
  description?: string;
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description?: string; value?: string }>;
  runs: { using: string; main?: string; post?: string; 'post-if'?: string; pre?: string };
  branding?: { icon?: string; color?: string };
}

export interface ActionInfo {
  /** Folder name under actions/ and src/actions/. */
  id: string;
  dir: string;
  metaPath: string;
  meta: ActionMeta;
  /** src/actions/<id>/index.ts, the bundle entry. */
  entry: string;
}

/** Every action in the repository, found by folder: adding one needs no edit here. */
export function listActions(): ActionInfo[] {
  const base = join(ROOT, 'actions');
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'action.yml')))
    .map((d) => d.name)
    .sort()
    .map((id) => {
      const metaPath = join(base, id, 'action.yml');
      return {
        id,
        dir: join(base, id),
        metaPath,
        meta: parse(readFileSync(metaPath, 'utf8')) as ActionMeta,
        entry: join(ROOT, 'src', 'actions', id, 'index.ts'),
      };
    });
}
