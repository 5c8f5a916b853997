import {
  countBySeverity,
  findingKey,
  sortFindings,
  type Counts,
  type Finding,
  type ScanReport,
  type Severity,
} from './findings.js';
import { ignoreMatches, isExpired, type IgnoreEntry } from './ignore.js';

/**
 * The gate: a policy over the findings model, independent of the scanner and of any
 * output format. Every finding gets exactly one verdict, decided in this order:
 *
 * 1. `baseline`: present in the baseline scan (only new findings are judged),
 * 2. `suppressed`: suppressed by the scanner itself (Amazon Inspector rules),
 * 3. `ignored`: an unexpired ignore entry names it,
 * 4. `below-threshold`: its severity is not in fail-on,
 * 5. `unfixed`: only-fixed is on and the scanner knows no fix exists,
 * 6. `failing`: everything else; any failing finding fails the gate.
 */
export type Verdict = 'baseline' | 'suppressed' | 'ignored' | 'below-threshold' | 'unfixed' | 'failing';

export interface Policy {
  /** Severities that fail the gate; empty never fails. */
  failOn: Severity[];
  onlyFixed: boolean;
  ignores: IgnoreEntry[];
  /** Findings of the baseline image; when set, only findings not in it are judged. */
  baseline?: Finding[];
  now: Date;
}

export interface JudgedFinding extends Finding {
  verdict: Verdict;
  /** The ignore entry that applied (ignored) or that had expired (failing etc.). */
  ignore?: { reason: string; expires?: string; line: number; expired: boolean };
}

export interface ExpiredEntry {
  entry: IgnoreEntry;
  /** Findings it would have ignored; they are judged like any other now. */
  matched: number;
}

export interface GateResult {
  passed: boolean;
  /** All findings of the report, by severity. */
  counts: Counts;
  /** Failing findings, by severity. */
  failingCounts: Counts;
  findings: JudgedFinding[];
  failing: JudgedFinding[];
  ignored: JudgedFinding[];
  expired: ExpiredEntry[];
  /** Entries that matched no finding (candidates for removal). */
  unused: IgnoreEntry[];
  /** Findings absent from the baseline; every finding when there is no baseline. */
  newFindings: number;
  baselineUsed: boolean;
}

export function evaluate(report: ScanReport, policy: Policy): GateResult {
  const baselineKeys = policy.baseline ? new Set(policy.baseline.map(findingKey)) : undefined;
  const failOn = new Set(policy.failOn);
  const active = policy.ignores.filter((e) => !isExpired(e, policy.now));
  const expired = policy.ignores.filter((e) => isExpired(e, policy.now));
  const used = new Set<IgnoreEntry>();
  const expiredMatches = new Map<IgnoreEntry, number>();

  const judged = sortFindings(report.findings).map((f): JudgedFinding => {
    const isNew = !baselineKeys?.has(findingKey(f));
    const entry = active.find((e) => ignoreMatches(e, f));
    const lapsed = expired.find((e) => ignoreMatches(e, f));
    if (lapsed) expiredMatches.set(lapsed, (expiredMatches.get(lapsed) ?? 0) + 1);
    const note = (e: IgnoreEntry, wasExpired: boolean) => ({
      reason: e.reason,
      ...(e.expires ? { expires: e.expires } : {}),
      line: e.line,
      expired: wasExpired,
    });
    let verdict: Verdict;
    if (!isNew) verdict = 'baseline';
    else if (f.suppressed) verdict = 'suppressed';
    else if (entry) verdict = 'ignored';
    else if (!failOn.has(f.severity)) verdict = 'below-threshold';
    else if (policy.onlyFixed && f.fixable === 'no') verdict = 'unfixed';
    else verdict = 'failing';
    if (entry) used.add(entry);
    return {
      ...f,
      verdict,
      ...(entry && verdict === 'ignored'
        ? { ignore: note(entry, false) }
        : lapsed && !entry
          ? { ignore: note(lapsed, true) }
          : {}),
    };
  });

  const failing = judged.filter((f) => f.verdict === 'failing');
  return {
    passed: failing.length === 0,
    counts: countBySeverity(report.findings),
    failingCounts: countBySeverity(failing),
    findings: judged,
    failing,
    ignored: judged.filter((f) => f.verdict === 'ignored' || f.verdict === 'suppressed'),
    expired: expired.map((entry) => ({ entry, matched: expiredMatches.get(entry) ?? 0 })),
    unused: active.filter((e) => !used.has(e)),
    newFindings: judged.filter((f) => f.verdict !== 'baseline').length,
    baselineUsed: baselineKeys !== undefined,
  };
}
