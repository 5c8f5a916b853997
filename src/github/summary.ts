import { summary, warning } from '@actions/core';

/** GitHub refuses a step summary above 1 MiB; keep a margin for the truncation note. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 1024;

/**
 * Appends Markdown to the job summary, cutting it at the limit with a note rather than
 * failing the step. Does nothing (but say so in debug) outside a runner.
 */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  let text = markdown.endsWith('\n') ? markdown : `${markdown}\n`;
  if (Buffer.byteLength(text) > SUMMARY_LIMIT_BYTES) {
    text = truncateUtf8(text, SUMMARY_LIMIT_BYTES) + "\n\n_Summary cut at GitHub's 1 MiB limit._\n";
    warning('The job summary was longer than 1 MiB and was cut; the full report is in the step outputs.');
  }
  await summary.addRaw(text).write();
}

/** Cuts text to at most `bytes` bytes of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, bytes: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= bytes) return text;
  let end = bytes;
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString();
}
