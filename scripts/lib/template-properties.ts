import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * GitHub's organisation workflow templates: each `NAME.yml` in workflow-templates/ has a
 * `NAME.properties.json` with a name, a description, categories, and optionally
 * iconName (an SVG beside it, or `octicon NAME`) and filePatterns (regular expressions
 * matched against the repository's root files). Returns the problems.
 */
export function checkTemplateProperties(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const problems: string[] = [];
  const files = readdirSync(dir);
  const templates = files.filter((f) => /\.ya?ml$/.test(f)).map((f) => f.replace(/\.ya?ml$/, ''));
  for (const f of files.filter((x) => x.endsWith('.properties.json'))) {
    const name = f.slice(0, -'.properties.json'.length);
    if (!templates.includes(name)) problems.push(`workflows-templates/${f}: no ${name}.yml beside it.`);
  }
  for (const name of templates) {
    const path = join(dir, `${name}.properties.json`);
    const where = `workflows-templates/${name}.properties.json`;
    if (!existsSync(path)) {
      problems.push(`${where}: missing; every starter workflow needs one (name, description, categories).`);
      continue;
    }
    let props: Record<string, unknown>;
    try {
      props = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      problems.push(`${where}: not JSON (${String(err)}).`);
      continue;
    }
    for (const key of ['name', 'description']) {
      if (typeof props[key] !== 'string' || (props[key] as string).trim() === '')
        problems.push(`${where}: '${key}' must be a non-empty string.`);
    }
    if (
      !Array.isArray(props.categories) ||
      props.categories.length === 0 ||
      !props.categories.every((c) => typeof c === 'string')
    ) {
      problems.push(`${where}: 'categories' must be a non-empty list of strings.`);
    }
    if (props.iconName !== undefined) {
      const icon = String(props.iconName);
      if (!icon.startsWith('octicon ') && !existsSync(join(dir, `${icon}.svg`)))
        problems.push(`${where}: iconName '${icon}' is neither 'octicon NAME' nor an SVG beside the template.`);
    }
    if (props.filePatterns !== undefined) {
      if (!Array.isArray(props.filePatterns)) problems.push(`${where}: 'filePatterns' must be a list.`);
      else
        for (const p of props.filePatterns) {
          try {
            new RegExp(String(p));
          } catch {
            problems.push(`${where}: filePattern '${String(p)}' is not a regular expression.`);
          }
        }
    }
    const known = new Set(['name', 'description', 'iconName', 'categories', 'filePatterns']);
    for (const k of Object.keys(props)) if (!known.has(k)) problems.push(`${where}: unknown key '${k}'.`);
  }
  return problems;
}
