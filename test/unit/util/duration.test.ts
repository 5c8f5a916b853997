import { describe, expect, it } from '@jest/globals';
import { formatDuration, parseDuration, tryParseDuration } from '../../../src/util/duration.js';
import { UserError } from '../../../src/util/errors.js';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['45', 45_000],
    [' 10S ', 10_000],
    ['1d', 86_400_000],
  ])('parses %s', (text, ms) => {
    expect(tryParseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '5 minutes', '10x', 's', '1h-5m', '-5s'])('rejects %j', (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
  });

  it('names the input and shows the accepted forms when parsing fails', () => {
    expect(() => parseDuration('soon', "Input 'step-duration'")).toThrow(UserError);
    expect(() => parseDuration('soon', "Input 'step-duration'")).toThrow(
      "Input 'step-duration' is not a duration: 'soon'.",
    );
  });

  it.each([
    [0, '0s'],
    [450, '450ms'],
    [95_000, '1m35s'],
    [3_600_000, '1h'],
    [90_061_000, '1d1h1m1s'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
