import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * `lifecycle { ignore_changes = [...] }` of every managed resource in a configuration:
 * the attributes its authors leave to something else (a deploy tool moving listener
 * weights, a service's task definition). Terraform's JSON plan does not carry lifecycle
 * settings, so they are read from the `.tf` and `.tf.json` files of the root module and
 * of the modules `init` installed (`.terraform/modules/modules.json`).
 *
 * Only what ignore_changes can hold is understood: attribute traversals
 * (`default_action`, `tags["Name"]`, `load_balancer[0].container_port`) and `all`.
 */

/** Attribute path segments: names, map keys and list indexes, as strings. */
export type PathSegments = string[];

export interface IgnoreRule {
  /** Module path (`net.sub` for module.net.module.sub), '' for the root module. */
  module: string;
  /** `aws_lb_listener.http` */
  resource: string;
  /** True for `ignore_changes = all`. */
  all: boolean;
  paths: PathSegments[];
}

// ---- a tokenizer for the subset of HCL that frames blocks ----

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

/** Tokens of an HCL file: comments and heredocs dropped, strings decoded (interpolations kept as text). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i] as string;
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === '<' && src[i + 1] === '<' && /[-A-Za-z_]/.test(src[i + 2] ?? '')) {
      const m = /^<<-?([A-Za-z_][\w-]*)[^\n]*\n/.exec(src.slice(i));
      if (m) {
        const marker = new RegExp(`^\\s*${m[1]}\\s*$`, 'm');
        const rest = src.slice(i + m[0].length);
        const end = marker.exec(rest);
        out.push({ kind: 'string', text: end ? rest.slice(0, end.index) : rest });
        i = end ? i + m[0].length + end.index + end[0].length : n;
        continue;
      }
    }
    if (c === '"') {
      let text = '';
      let depth = 0;
      i++;
      while (i < n) {
        const d = src[i] as string;
        if (depth === 0 && d === '"') break;
        if (d === '\\' && depth === 0) {
          const e = src[i + 1] ?? '';
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          continue;
        }
        if ((d === '$' || d === '%') && src[i + 1] === '{') {
          depth++;
          text += d + '{';
          i += 2;
          continue;
        }
        if (depth > 0 && d === '}') depth--;
        text += d;
        i++;
      }
      out.push({ kind: 'string', text });
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const ident = /^[A-Za-z_][\w-]*/.exec(src.slice(i, i + 256));
    if (ident) {
      out.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i, i + 64));
    if (num) {
      out.push({ kind: 'number', text: num[0] });
      i += num[0].length;
      continue;
    }
    out.push({ kind: 'punct', text: c });
    i++;
  }
  return out;
}

const OPEN = new Set(['{', '[', '(']);
const CLOSE = new Set(['}', ']', ')']);

/** Index just past the bracket that closes the one at `start`. */
function skipGroup(tokens: Token[], start: number): number {
  let depth = 0;
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind !== 'punct') continue;
    if (OPEN.has(t.text)) depth++;
    else if (CLOSE.has(t.text) && --depth === 0) return i + 1;
  }
  return tokens.length;
}

/** A traversal such as `tags["Name"]` or `a[0].b` as segments; undefined when it is not one. */
function traversal(tokens: Token[]): PathSegments | undefined {
  if (tokens[0]?.kind !== 'ident') return undefined;
  const out: PathSegments = [tokens[0].text];
  let i = 1;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (t.text === '.' && tokens[i + 1]?.kind === 'ident') {
      out.push((tokens[i + 1] as Token).text);
      i += 2;
    } else if (
      t.text === '[' &&
      tokens[i + 2]?.text === ']' &&
      (tokens[i + 1]?.kind === 'string' || tokens[i + 1]?.kind === 'number')
    ) {
      out.push((tokens[i + 1] as Token).text);
      i += 3;
    } else {
      return undefined;
    }
  }
  return out;
}

/** Splits the tokens between `[` and `]` at top-level commas. */
function listItems(tokens: Token[], start: number, end: number): Token[][] {
  const items: Token[][] = [];
  let current: Token[] = [];
  for (let i = start; i < end; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'punct' && OPEN.has(t.text)) {
      const stop = skipGroup(tokens, i);
      current.push(...tokens.slice(i, stop));
      i = stop - 1;
    } else if (t.text === ',' && t.kind === 'punct') {
      if (current.length) items.push(current);
      current = [];
    } else {
      current.push(t);
    }
  }
  if (current.length) items.push(current);
  return items;
}

/** The ignore_changes of a resource body (tokens between its braces). */
function ignoreChangesIn(
  tokens: Token[],
  start: number,
  end: number,
): { all: boolean; paths: PathSegments[] } | undefined {
  for (let i = start; i < end; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'punct' && OPEN.has(t.text)) {
      i = skipGroup(tokens, i) - 1;
      continue;
    }
    if (t.kind === 'ident' && t.text === 'lifecycle' && tokens[i + 1]?.text === '{') {
      const close = skipGroup(tokens, i + 1) - 1;
      for (let j = i + 2; j < close; j++) {
        const u = tokens[j] as Token;
        if (u.kind === 'punct' && OPEN.has(u.text)) {
          j = skipGroup(tokens, j) - 1;
          continue;
        }
        if (u.kind === 'ident' && u.text === 'ignore_changes' && tokens[j + 1]?.text === '=') {
          const value = tokens[j + 2];
          if (value?.kind === 'ident' && value.text === 'all') return { all: true, paths: [] };
          if (value?.text === '[') {
            const stop = skipGroup(tokens, j + 2) - 1;
            const paths = listItems(tokens, j + 3, stop)
              .map(traversal)
              .filter((p): p is PathSegments => p !== undefined);
            return { all: false, paths };
          }
        }
      }
    }
  }
  return undefined;
}

/** The rules of one HCL file. */
export function rulesFromHcl(src: string, module = ''): IgnoreRule[] {
  const tokens = tokenize(src);
  const rules: IgnoreRule[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === 'punct' && OPEN.has(t.text)) {
      i = skipGroup(tokens, i) - 1;
      continue;
    }
    if (
      t.kind === 'ident' &&
      t.text === 'resource' &&
      tokens[i + 1]?.kind === 'string' &&
      tokens[i + 2]?.kind === 'string' &&
      tokens[i + 3]?.text === '{'
    ) {
      const end = skipGroup(tokens, i + 3);
      const found = ignoreChangesIn(tokens, i + 4, end - 1);
      if (found)
        rules.push({ module, resource: `${(tokens[i + 1] as Token).text}.${(tokens[i + 2] as Token).text}`, ...found });
      i = end - 1;
    }
  }
  return rules;
}

/** The rules of one `.tf.json` file (ignore_changes as traversal strings, or "all"). */
export function rulesFromJson(src: string, module = ''): IgnoreRule[] {
  const doc = JSON.parse(src) as { resource?: Record<string, Record<string, unknown>> };
  const rules: IgnoreRule[] = [];
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    for (const [name, bodies] of Object.entries(byName ?? {})) {
      for (const body of Array.isArray(bodies) ? bodies : [bodies]) {
        const lifecycles = (body as { lifecycle?: unknown }).lifecycle;
        for (const lc of Array.isArray(lifecycles) ? lifecycles : lifecycles ? [lifecycles] : []) {
          const value = (lc as { ignore_changes?: unknown }).ignore_changes;
          if (value === 'all') rules.push({ module, resource: `${type}.${name}`, all: true, paths: [] });
          else if (Array.isArray(value)) {
            const paths = value
              .map((v) => traversal(tokenize(String(v))))
              .filter((p): p is PathSegments => p !== undefined);
            rules.push({ module, resource: `${type}.${name}`, all: false, paths });
          }
        }
      }
    }
  }
  return rules;
}

function rulesInDir(dir: string, module: string): IgnoreRule[] {
  if (!existsSync(dir)) return [];
  const rules: IgnoreRule[] = [];
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    if (file.endsWith('.tf')) rules.push(...rulesFromHcl(readFileSync(path, 'utf8'), module));
    else if (file.endsWith('.tf.json')) {
      try {
        rules.push(...rulesFromJson(readFileSync(path, 'utf8'), module));
      } catch {
        // Terraform itself reports a malformed file; drift detection reads what it can.
      }
    }
  }
  return rules;
}

/** Every ignore_changes rule of the configuration in `dir` (after init). */
export function ignoreRules(dir: string): IgnoreRule[] {
  const rules = rulesInDir(dir, '');
  const manifest = join(dir, '.terraform', 'modules', 'modules.json');
  if (existsSync(manifest)) {
    try {
      const { Modules } = JSON.parse(readFileSync(manifest, 'utf8')) as {
        Modules?: Array<{ Key: string; Dir: string }>;
      };
      for (const m of Modules ?? []) if (m.Key) rules.push(...rulesInDir(resolve(dir, m.Dir), m.Key));
    } catch {
      // An unreadable manifest: only the root module's rules apply.
    }
  }
  return rules;
}

/** `module.a["x"].module.b.aws_s3_bucket.c[0]` → { module: 'a.b', resource: 'aws_s3_bucket.c' }. */
export function splitAddress(address: string): { module: string; resource: string } {
  const segments: string[] = [];
  for (const m of address.matchAll(/(?:^|\.)([A-Za-z_][\w-]*)(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?/g))
    segments.push(m[1] as string);
  const modules: string[] = [];
  let i = 0;
  while (segments[i] === 'module' && i + 1 < segments.length) {
    modules.push(segments[i + 1] as string);
    i += 2;
  }
  return { module: modules.join('.'), resource: segments.slice(i, i + 2).join('.') };
}

/** `a[0].b."c d"` → ['a', '0', 'b', 'c d'] (the paths the drift report uses). */
export function pathSegments(path: string): PathSegments {
  const out: PathSegments = [];
  for (const m of path.matchAll(/\[(\d+)\]|\.?("(?:[^"\\]|\\.)*"|[^.[]+)/g)) {
    if (m[1] !== undefined) out.push(m[1]);
    else out.push((m[2] as string).startsWith('"') ? (JSON.parse(m[2] as string) as string) : (m[2] as string));
  }
  return out;
}

/** Whether `pattern` covers `path` (a prefix of it; `*` matches any one segment). */
export function covers(pattern: PathSegments, path: PathSegments): boolean {
  if (pattern.length > path.length) return false;
  return pattern.every((p, i) => p === '*' || p === path[i]);
}

/** Whether an attribute of a resource is ignored by one of the rules. */
export function isIgnored(rules: readonly IgnoreRule[], address: string, path: string): boolean {
  const { module, resource } = splitAddress(address);
  const segments = pathSegments(path);
  return rules.some(
    (r) => r.module === module && r.resource === resource && (r.all || r.paths.some((p) => covers(p, segments))),
  );
}
