/**
 * The escape helpers judged by what a real CommonMark + GFM-table renderer makes of
 * their output (markdown-it with HTML passed through and URLs linkified, as GitHub's
 * renderer does before it sanitises): a hostile value must come out as text, never as
 * an element, a link, a mention or a comment.
 */
import { describe, expect, it } from '@jest/globals';
import MarkdownIt from 'markdown-it';
import { code, codeBlock, escapeText, marker, table } from '../../../src/github/markdown.js';

const md = new MarkdownIt({ html: true, linkify: true });
const render = (markdown: string) => md.render(markdown);

/** The text GitHub scans for @mentions and #references: what is outside tags and code. */
function textOutsideCode(html: string): string {
  return html
    .replace(/<code>[\s\S]*?<\/code>/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const ATTACKS = [
  'x`` <img src=x onerror=alert(1)> ``',
  '` ![p](https://evil.example/p.png) `',
  '``` [click](https://evil.example) ```',
  '`@acme/admins` <!-- platform-actions:plan-id:' + 'a'.repeat(64) + ' -->',
  'a|b`|`c',
];

describe('escaped values rendered by markdown-it', () => {
  it.each(ATTACKS)('code() keeps %j one code span, in a paragraph and in a table cell', (value) => {
    const inline = render(`Image ${code(value)} done.`);
    expect(inline.match(/<code>/g)).toHaveLength(1);
    expect(inline).not.toMatch(/<(img|a)\b/);
    expect(inline).not.toContain('<!--');
    const cell = render(table(['Image', 'Status'], [[code(value), 'ok']]));
    expect(cell.match(/<td>/g)).toHaveLength(2);
    expect(cell.match(/<code>/g)).toHaveLength(1);
    expect(cell).not.toMatch(/<(img|a)\b/);
    // In the cell the reader sees the whole value, as it is (the table unescapes the pipes;
    // in a paragraph they would show as \|: code() is made for table cells).
    const inside = /<code>([\s\S]*?)<\/code>/.exec(cell)?.[1] ?? '';
    const shown = inside
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/\u200b/g, '');
    expect(shown.trim()).toBe(value.trim());
  });

  it('escapeText() shows markup, links, mentions, references and markers as plain text', () => {
    const value =
      '**urgent** @acme/admins fix #123 at https://evil.example or www.evil.example <img src=x onerror=alert(1)> [x](https://evil.example) <!-- platform-actions:plan-id:abc -->';
    for (const html of [render(`Reason: ${escapeText(value)}`), render(table(['Reason'], [[escapeText(value)]]))]) {
      expect(html).not.toMatch(/<(strong|img|a)\b/);
      expect(html).not.toContain('<!--');
      const text = textOutsideCode(html);
      expect(text).not.toMatch(/@[A-Za-z0-9]/);
      expect(text).not.toMatch(/#\d/);
      // What a reader sees is the value, but for invisible characters.
      expect(text.replace(/\u200b/g, '')).toContain(value);
    }
    // A value with a pipe and a newline stays in its cell and its row.
    const cells = render(table(['a', 'b'], [[escapeText('x|y\nnext'), 'z']]));
    expect(cells.match(/<td>/g)).toHaveLength(2);
  });

  it('codeBlock() holds a value with fences of its own, and never a marker', () => {
    const value = 'before\n```\n<img src=x onerror=alert(1)>\n```\n' + marker('plan-id:abc');
    const html = render(`${codeBlock(value)}\nafter`);
    expect(html.match(/<pre>/g)).toHaveLength(1);
    expect(html).not.toMatch(/<img\b/);
    expect(html).not.toContain('<!--');
    expect(html).toMatch(/<\/pre>\n<p>after<\/p>/);
  });

  it('without the helpers the same values do break out (the test can tell)', () => {
    expect(render(`Image \`\`${ATTACKS[0]}\`\` done.`)).toMatch(/<img\b/);
    expect(render(`Reason: @acme/admins #123 ${'<!-- platform-actions:x -->'}`)).toContain('<!--');
  });
});
