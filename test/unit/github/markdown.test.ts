import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { code, codeBlock, details, escapeText, marker, table } from '../../../src/github/markdown.js';
import { truncateUtf8, writeSummary, SUMMARY_LIMIT_BYTES } from '../../../src/github/summary.js';

describe('markdown', () => {
  it('builds tables whose cells cannot break the table', () => {
    expect(table(['a', 'b'], [[escapeText('x|y'), code('a|b')]])).toBe('| a | b |\n| --- | --- |\n| x\\|y | `a\\|b` |\n');
  });

  it('fences code that itself contains backticks', () => {
    expect(codeBlock('a ``` b')).toBe('````\na ``` b\n````\n');
    expect(code('a`b')).toBe('`` a`b ``');
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
