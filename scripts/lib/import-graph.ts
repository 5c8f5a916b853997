/**
 * The import graph of src/ (relative imports only, type-only ones included: a cycle of
 * types still ties two modules together) and the cycles in it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/** file (relative to root) → the files it imports. */
export function importGraph(root: string, dir = 'src'): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const path = join(root, dir, file);
    const text = readFileSync(path, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) =>
      relative(root, resolve(dirname(path), (m[1] ?? '').replace(/\.js$/, '.ts'))),
    );
    graph.set(relative(root, path), targets);
  }
  return graph;
}

/** Each cycle once, as the files along it (first file repeated at the end). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The domain folder of a file under src/ (`src/k8s/client.ts` → `src/k8s`); none for src/actions or src/ itself. */
function domainOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts.length < 3 || parts[0] !== 'src' || parts[1] === 'actions') return undefined;
  return `${parts[0]}/${parts[1]}`;
}

/**
 * Cycles between the domain folders of src/ (src/actions left out: it sits above them all),
 * each as the folders along it with, for every arrow, one import that makes it. A file-level
 * graph without cycles can still tie two domains to each other through different files.
 */
export function folderCycles(graph: Map<string, string[]>): Array<{ folders: string[]; imports: string[] }> {
  const folders = new Map<string, string[]>();
  const because = new Map<string, string>();
  for (const [file, targets] of graph) {
    const from = domainOf(file);
    if (!from) continue;
    if (!folders.has(from)) folders.set(from, []);
    for (const target of targets) {
      const to = domainOf(target);
      if (!to || to === from || !graph.has(target)) continue;
      const arrows = folders.get(from) as string[];
      if (!arrows.includes(to)) arrows.push(to);
      if (!because.has(`${from} ${to}`)) because.set(`${from} ${to}`, `${file} → ${target}`);
    }
  }
  for (const to of [...folders.values()].flat()) if (!folders.has(to)) folders.set(to, []);
  return importCycles(folders).map((cycle) => ({
    folders: cycle,
    imports: cycle.slice(1).map((to, i) => because.get(`${cycle[i]} ${to}`) as string),
  }));
}
