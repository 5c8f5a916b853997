/**
 * Checks that every action reads only inputs its action.yml declares, sets only
 * outputs it declares, and that nothing declared is left unread or unset. Input
 * fallbacks in code must equal the action.yml defaults, and `inputs.required` must
 * match `required: true`. Follows the entry's relative imports through src/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { listActions, ROOT, type ActionInfo } from './lib/actions.js';

interface Use {
  kind: 'input' | 'output';
  reader: string;
  name: string;
  fallback?: string;
  where: string;
}

function sourceFile(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (existsSync(candidate)) return candidate;
  return undefined;
}

function literal(node: ts.Expression | undefined): string | undefined {
  if (!node) return undefined;
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isNumericLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return 'true';
  if (node.kind === ts.SyntaxKind.FalseKeyword) return 'false';
  if (
    ts.isPrefixUnaryExpression(node) &&
    node.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(node.operand)
  )
    return `-${node.operand.text}`;
  return undefined;
}

/** All input/output uses reachable from the entry, plus problems found on the way. */
function collect(entry: string): { uses: Use[]; problems: string[] } {
  const uses: Use[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = [entry];
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const sf = sourceFile(file);
    const visit = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const target = resolveImport(file, node.moduleSpecifier.text);
        if (target) queue.push(target);
      }
      if (ts.isCallExpression(node)) {
        if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
          const target = literal(node.arguments[0]) && resolveImport(file, literal(node.arguments[0]) as string);
          if (target) queue.push(target);
        }
        const callee = node.expression;
        const where = `${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
          const object = callee.expression.text;
          const method = callee.name.text;
          if (object === 'inputs' || (object === 'outputs' && method === 'set')) {
            const name = literal(node.arguments[0]);
            if (name === undefined) {
              problems.push(
                `${where}: ${object}.${method} needs the ${object === 'inputs' ? 'input' : 'output'} name as a string literal.`,
              );
            } else if (object === 'inputs') {
              const fallbackArg =
                method === 'choice'
                  ? node.arguments[2]
                  : method === 'required' || method === 'list' || method === 'lines'
                    ? undefined
                    : node.arguments[1];
              uses.push({ kind: 'input', reader: method, name, fallback: literal(fallbackArg), where });
            } else {
              uses.push({ kind: 'output', reader: method, name, where });
            }
          }
        }
        if (
          ts.isIdentifier(callee) &&
          ['getInput', 'getBooleanInput', 'getMultilineInput', 'setOutput'].includes(callee.text) &&
          file.includes('/src/actions/')
        ) {
          problems.push(`${where}: use inputs.* / outputs.set from src/github instead of core.${callee.text}.`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { uses, problems };
}

function checkAction(action: ActionInfo): string[] {
  if (!existsSync(action.entry)) return [`${action.id}: no entry at ${relative(ROOT, action.entry)}.`];
  const { uses, problems } = collect(action.entry);
  const declaredInputs = action.meta.inputs ?? {};
  const declaredOutputs = action.meta.outputs ?? {};
  const out = problems.map((p) => `${action.id}: ${p}`);

  for (const use of uses.filter((u) => u.kind === 'input')) {
    const spec = declaredInputs[use.name];
    if (!spec) {
      out.push(`${action.id}: ${use.where} reads input '${use.name}', which action.yml does not declare.`);
      continue;
    }
    if (use.reader === 'required' && spec.required !== true)
      out.push(`${action.id}: ${use.where} requires '${use.name}' but action.yml has required: false.`);
    if (use.reader !== 'required' && spec.required === true)
      out.push(`${action.id}: '${use.name}' is required in action.yml; read it with inputs.required (${use.where}).`);
    const yamlDefault = spec.default === undefined ? undefined : String(spec.default);
    if (use.fallback !== undefined && yamlDefault !== undefined && use.fallback !== yamlDefault) {
      out.push(
        `${action.id}: ${use.where} falls back to '${use.fallback}' for '${use.name}' but action.yml's default is '${yamlDefault}'.`,
      );
    }
    if (
      use.fallback === undefined &&
      yamlDefault !== undefined &&
      yamlDefault !== '' &&
      use.reader !== 'list' &&
      use.reader !== 'lines' &&
      use.reader !== 'required'
    ) {
      out.push(
        `${action.id}: ${use.where} reads '${use.name}' without a fallback; pass action.yml's default '${yamlDefault}' so an empty value means the default.`,
      );
    }
  }
  const read = new Set(uses.filter((u) => u.kind === 'input').map((u) => u.name));
  for (const name of Object.keys(declaredInputs))
    if (!read.has(name)) out.push(`${action.id}: action.yml declares input '${name}', which the code never reads.`);

  const set = new Set(uses.filter((u) => u.kind === 'output').map((u) => u.name));
  for (const use of uses.filter((u) => u.kind === 'output')) {
    if (!declaredOutputs[use.name])
      out.push(`${action.id}: ${use.where} sets output '${use.name}', which action.yml does not declare.`);
  }
  for (const name of Object.keys(declaredOutputs))
    if (!set.has(name)) out.push(`${action.id}: action.yml declares output '${name}', which the code never sets.`);

  for (const [name, spec] of Object.entries(declaredInputs)) {
    if (!spec.description) out.push(`${action.id}: input '${name}' has no description.`);
    if (spec.required !== true && spec.default === undefined)
      out.push(`${action.id}: optional input '${name}' has no default (use '' for none).`);
  }
  for (const [name, spec] of Object.entries(declaredOutputs))
    if (!spec.description) out.push(`${action.id}: output '${name}' has no description.`);
  const main = action.meta.runs.main;
  if (action.meta.runs.using !== 'node24') out.push(`${action.id}: runs.using must be node24.`);
  if (main !== `../../dist/${action.id}/index.js`)
    out.push(`${action.id}: runs.main must be ../../dist/${action.id}/index.js.`);
  if (action.meta.runs.post && action.meta.runs.post !== main)
    out.push(`${action.id}: runs.post must be the same bundle as runs.main.`);
  return out;
}

const problems = listActions().flatMap(checkAction);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`Inputs and outputs of ${listActions().length} action(s) match their action.yml.`);
