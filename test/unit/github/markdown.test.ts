import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { code, codeBlock, details, escapeText, marker, table } from '../../../src/github/markdown.js';
import { truncateUtf8, writeSummary, SUMMARY_LIMIT_BYTES } from '../../../src/github/summary.js';

describe('markdown', () => {
  it('builds tables whose cells cannot break the table', () => {
    expect(table(['a', 'b'], [[escapeText('x|y'), code('a|b')]])).toBe(
      '| a | b |\n| --- | --- |\n| x\\|y | `a\\|b` |\n',
    );
  });

  it('fences code that itself contains backticks', () => {
    expect(codeBlock('a ``` b')).toBe('````\na ``` b\n````\n');
    expect(code('a`b')).toBe('`` a`b ``');
  });

  it('fences inline code longer than any backtick run in the value, so the value cannot close it', () => {
    const attack = 'x`` ![p](https://evil.example/p.png) ``';
    const rendered = code(attack);
    expect(rendered).toBe('``` x`` ![p](https://evil.example/p.png) `` ```');
    // CommonMark closes a code span only at a run of exactly the opening length: the value's
    // runs (1 and 2 long) never reach 3, so everything up to the closing fence is code.
    const runs = Array.from(rendered.matchAll(/`+/g), (m) => m[0].length);
    expect(runs[0]).toBe(3);
    expect(runs.at(-1)).toBe(3);
    expect(runs.slice(1, -1).every((n) => n < 3)).toBe(true);
    expect(code('plain')).toBe('`plain`');
  });

  it('never lets a value pose as a hidden marker, mention, issue link or autolink', () => {
    const forged = '<!-- platform-actions:plan-id:' + 'a'.repeat(64) + ' -->';
    for (const out of [code(forged), codeBlock(forged), escapeText(forged)]) {
      expect(out).not.toContain('<!--');
      expect(out).not.toContain(marker('plan-id:' + 'a'.repeat(64)));
    }
    const text = escapeText('ping @acme/admins about #123, see https://evil.example or www.evil.example');
    expect(text).not.toMatch(/@[A-Za-z]/);
    expect(text).not.toMatch(/#\d/);
    expect(text).not.toContain('://');
    expect(text).not.toMatch(/www\./);
    // What the reader sees is unchanged but for invisible characters.
    expect(text.replace(/\u200b/g, '')).toBe(
      'ping @acme/admins about #123, see https://evil.example or www.evil.example',
    );
  });

  it('makes collapsible blocks and hidden markers', () => {
    expect(details('Plan', 'body')).toContain('<details><summary>Plan</summary>\n\nbody\n</details>');
    expect(details('Plan', 'body', true)).toContain('<details open>');
    expect(marker('tf-plan:infra/app')).toBe('<!-- platform-actions:tf-plan:infra/app -->');
  });
});

describe('job summary', () => {
  const saved = process.env.GITHUB_STEP_SUMMARY;
  afterEach(() => {
    process.env.GITHUB_STEP_SUMMARY = saved;
  });

  it('never splits a UTF-8 character when cutting', () => {
    const text = 'é'.repeat(10); // 2 bytes each
    expect(truncateUtf8(text, 5)).toBe('éé');
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });

  it('cuts a summary over 1 MiB with a note instead of failing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pa-summary-')), 'summary');
    writeFileSync(file, '');
    process.env.GITHUB_STEP_SUMMARY = file;
    await writeSummary('x'.repeat(2 * 1024 * 1024));
    const written = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(written)).toBeLessThan(1024 * 1024);
    expect(Buffer.byteLength(written)).toBeGreaterThan(SUMMARY_LIMIT_BYTES - 10);
    expect(written).toContain("Summary cut at GitHub's 1 MiB limit");
  });
});
