import { describe, expect, it } from '@jest/globals';
import { parseRunRef, statusOfAttempt } from '../../../src/github/runs.js';

describe("run status of a record's owner", () => {
  it('reads runId.attempt and refuses anything else', () => {
    expect(parseRunRef('4242.2')).toEqual({ id: 4242, attempt: 2 });
    expect(parseRunRef('4242')).toEqual({ id: 4242, attempt: 1 });
    expect(parseRunRef('../4242')).toBeUndefined();
    expect(parseRunRef('')).toBeUndefined();
  });

  it('is alive while the attempt runs; gone when completed or superseded by a re-run', () => {
    expect(statusOfAttempt({ status: 'in_progress', run_attempt: 1 }, 1).alive).toBe(true);
    expect(statusOfAttempt({ status: 'queued', run_attempt: 1 }, 1).alive).toBe(true);
    expect(
      statusOfAttempt(
        { status: 'completed', conclusion: 'cancelled', run_attempt: 1, updated_at: '2026-12-07T10:00:00Z' },
        1,
      ),
    ).toEqual({ alive: false, detail: 'completed (cancelled)', endedAt: Date.parse('2026-12-07T10:00:00Z') });
    expect(statusOfAttempt({ status: 'in_progress', run_attempt: 2 }, 1)).toMatchObject({
      alive: false,
      detail: 'attempt 1 was superseded by attempt 2',
    });
  });
});
