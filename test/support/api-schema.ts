import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/** What a field may hold, as the published type declares it. */
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object';
export type Shape = Record<string, Kind>;

const require = createRequire(import.meta.url);
const cache = new Map<string, Map<string, Shape>>();

function kindOf(node: ts.TypeNode | undefined): Kind {
  if (!node) return 'object';
  if (ts.isUnionTypeNode(node)) {
    const kinds = node.types
      .filter((t) => !(ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword))
      .map(kindOf);
    return kinds[0] ?? 'object';
  }
  if (ts.isArrayTypeNode(node)) return 'array';
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return 'string';
    case ts.SyntaxKind.NumberKeyword:
      return 'number';
    case ts.SyntaxKind.BooleanKeyword:
      return 'boolean';
    default:
      return 'object';
  }
}

/**
 * Reads the `Schema$...` interfaces of a generated @googleapis/<api> package: Google's
 * published discovery document as TypeScript. Field names and kinds only.
 */
export function googleApiShapes(pkg: string, version = 'v1'): Map<string, Shape> {
  const key = `${pkg}/${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const file = join(dirname(require.resolve(`${pkg}/package.json`)), 'build', `${version}.d.ts`);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const shapes = new Map<string, Shape>();
  const visit = (node: ts.Node): void => {
    if (ts.isInterfaceDeclaration(node) && node.name.text.startsWith('Schema$')) {
      const shape: Shape = {};
      for (const member of node.members) {
        if (ts.isPropertySignature(member) && member.name)
          shape[member.name.getText(sf).replace(/['"]/g, '')] = kindOf(member.type);
      }
      shapes.set(node.name.text.slice('Schema$'.length), shape);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  cache.set(key, shapes);
  return shapes;
}

/** Problems of `value` against `shape`: unknown fields and wrong kinds. */
export function checkShape(value: unknown, shape: Shape, where: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected an object`];
  const problems: string[] = [];
  for (const [field, v] of Object.entries(value)) {
    const kind = shape[field];
    if (!kind) {
      problems.push(`${where}: unknown field '${field}'`);
      continue;
    }
    const actual: Kind = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : (typeof v as Kind);
    if (v !== null && actual !== kind)
      problems.push(`${where}: field '${field}' is ${actual}, the schema says ${kind}`);
  }
  return problems;
}
