/**
 * Smoke checks as a gate before the first shift, behind the Target interface: the new
 * side's waitHealthy() also runs the analysis spec's `smoke:` checks against a URL that
 * reaches the new side only. A failure makes the new side "unhealthy" to the engine, which
 * then rolls back (removes the new side) without ever having shifted production weight.
 * The engine itself is unchanged.
 */
import type { SmokeSpec } from '../analysis/smoke.js';
import { runSmokeChecks } from '../analysis/smoke.js';
import { errorMessage, UserError } from '../util/errors.js';
import type { Target } from './types.js';

export interface SmokeGateOptions {
  spec: SmokeSpec;
  /** The base URL that reaches only the new side (asked once it is healthy). */
  newSideUrl: (signal?: AbortSignal) => Promise<string> | string;
  /** Headers that route a request to the new side (a header-matched test rule). */
  headers?: Record<string, string>;
  log: (line: string) => void;
  /**
   * Undoes what `newSideUrl` set up (a test listener rule, a header-matched route rule),
   * after the checks, whether they passed or not, and also when the job is cancelled. A
   * failure after passing checks fails the gate (the engine's rollback then cleans up);
   * after failed checks it is only logged.
   */
  release?: () => Promise<void>;
}

/** Makes `target.waitHealthy` run the smoke checks after the new side is healthy; returns the same target. */
export function withSmokeGate<T extends Target>(target: T, o: SmokeGateOptions): T {
  const inner = target.waitHealthy.bind(target);
  const gate = smokeGate(o);
  target.waitHealthy = async (signal?: AbortSignal) => {
    await inner(signal);
    await gate(signal);
  };
  return target;
}

/**
 * The gate alone: sets up the routing, runs the checks, undoes the routing, and throws
 * when a check failed. For a target that runs it at a point of its own (blue-green: before
 * its preview analysis).
 */
export function smokeGate(o: SmokeGateOptions): (signal?: AbortSignal) => Promise<void> {
  return async (signal?: AbortSignal) => {
    let result: Awaited<ReturnType<typeof runSmokeChecks>>;
    try {
      const url = await o.newSideUrl(signal);
      o.log(
        `Smoke checks on the new side (${url}) before any production traffic: ${o.spec.checks.map((c) => c.name).join(', ')}.`,
      );
      result = await runSmokeChecks(o.spec, url, {
        ...(o.headers ? { headers: o.headers } : {}),
        ...(signal ? { signal } : {}),
        log: o.log,
      });
    } catch (err) {
      if (o.release) {
        try {
          await o.release();
        } catch (releaseErr) {
          o.log(
            `Could not undo the smoke checks' test routing (${errorMessage(releaseErr)}); the rollback removes it.`,
          );
        }
      }
      throw err;
    }
    if (o.release) {
      try {
        await o.release();
      } catch (releaseErr) {
        if (result.passed) throw releaseErr;
        o.log(`Could not undo the smoke checks' test routing (${errorMessage(releaseErr)}); the rollback removes it.`);
      }
    }
    if (!result.passed) {
      const failed = result.results.filter((r) => !r.passed);
      throw new UserError(
        `smoke checks failed on the new side: ${failed.map((r) => `${r.name} (${r.detail})`).join('; ')}. It never had production traffic.`,
        'Fix the new version (or the check) and deploy again; the smoke checks are in the analysis spec.',
      );
    }
  };
}
