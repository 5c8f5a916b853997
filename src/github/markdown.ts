/**
 * Small Markdown builders shared by job summaries, PR comments and issues. They return
 * strings, so callers can measure and budget them (comments have a size limit).
 */

/** A zero-width space: invisible, but it breaks what GitHub would otherwise act on. */
const ZWSP = '\u200b';

/**
 * Breaks an HTML comment opener so that a value can never look like one of our hidden
 * markers to a reader of the raw body (our own markers are written by `marker()` only).
 */
export function neutraliseComment(text: string): string {
  return text.replace(/<!--/g, `<!-${ZWSP}-`);
}

/**
 * Escapes untrusted text for a table cell or inline position: Markdown and HTML are
 * shown literally, and nothing in it mentions a user or team (`@name`), links an issue
 * (`#123`, `GH-1`), autolinks a URL or hides a marker.
 */
export function escapeText(text: string): string {
  const escaped = text.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`).replace(/\r?\n/g, '<br>');
  return neutraliseComment(escaped)
    .replace(/@(?=[A-Za-z0-9])/g, `@${ZWSP}`)
    .replace(/#(?=\d)/g, `#${ZWSP}`)
    .replace(/\b(GH)-(?=\d)/gi, `$1${ZWSP}-`)
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}${ZWSP}.`);
}

/**
 * Inline code that survives any backticks inside the value: the fence is one backtick
 * longer than the longest run in it, so the value cannot close the span early (and then
 * render an image, a link or a mention).
 */
export function code(text: string): string {
  const flat = neutraliseComment(text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|'));
  const longest = Math.max(0, ...Array.from(flat.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = longest > 0 ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
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
  return table(
    ['', ''],
    entries.map(([k, v]) => [`**${k}**`, v]),
  );
}

/** A collapsible block; `open` shows it expanded. */
export function details(summary: string, body: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${summary}</summary>\n\n${body}\n</details>\n`;
}

export function codeBlock(text: string, lang = ''): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${neutraliseComment(text)}\n${fence}\n`;
}

/** A hidden marker that identifies a comment or issue we own, so we can find it again. */
export function marker(id: string): string {
  return `<!-- platform-actions:${id} -->`;
}
