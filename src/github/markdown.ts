/**
 * Small Markdown builders shared by job summaries, PR comments and issues. They return
 * strings, so callers can measure and budget them (comments have a size limit).
 */

/** Escapes text for a table cell or inline position. */
export function escapeText(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`).replace(/\r?\n/g, '<br>');
}

/** Inline code that survives backticks inside the value. */
export function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  const pad = fence === '``' ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}${pad}${fence}`;
}

export function heading(text: string, level: 1 | 2 | 3 | 4 = 3): string {
  return `${'#'.repeat(level)} ${text}\n`;
}

/** A table; cells are used as given, so escape or `code()` them first. */
export function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** A two-column key/value table. */
export function facts(entries: Array<[string, string]>): string {
  return table(['', ''], entries.map(([k, v]) => [`**${k}**`, v]));
}

/** A collapsible block; `open` shows it expanded. */
export function details(summary: string, body: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${summary}</summary>\n\n${body}\n</details>\n`;
}

export function codeBlock(text: string, lang = ''): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}\n`;
}

/** A hidden marker that identifies a comment or issue we own, so we can find it again. */
export function marker(id: string): string {
  return `<!-- platform-actions:${id} -->`;
}
