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

/** How users refer to this repository in `uses:`; rewritten at release. */
export const PUBLISHED_AS = 'org/platform-actions';
export const PUBLISHED_VERSION = 'v1';

export interface WorkflowInfo {
  id: string;
  path: string;
  doc: Record<string, unknown>;
}

/** Reusable workflows: .github/workflows/*.yml with an `on.workflow_call` trigger. */
export function listReusableWorkflows(): WorkflowInfo[] {
  const base = join(ROOT, '.github', 'workflows');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({
      id: f.replace(/\.ya?ml$/, ''),
      path: join(base, f),
      doc: parse(readFileSync(join(base, f), 'utf8')) as Record<string, unknown>,
    }))
    .filter((w) => {
      const on = w.doc.on;
      return typeof on === 'object' && on !== null && 'workflow_call' in on;
    });
}
