import { afterEach, describe, expect, it } from '@jest/globals';
import { inputs } from '../../../src/github/inputs.js';

const set = (name: string, value: string) => {
  process.env[`INPUT_${name.toUpperCase()}`] = value;
};

afterEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
});

describe('inputs', () => {
  it('reads the runner variable (upper-cased, hyphens kept) and trims it', () => {
    set('role-to-assume', '  arn:aws:iam::1:role/x \n');
    expect(inputs.required('role-to-assume')).toBe('arn:aws:iam::1:role/x');
  });

  it('says which required input is empty and where to set it', () => {
    expect(() => inputs.required('cluster')).toThrow("Input 'cluster' is required but was empty.");
  });

  it('treats an empty value as the fallback (callers forward empty expressions)', () => {
    set('audience', '');
    expect(inputs.string('audience', 'sts.amazonaws.com')).toBe('sts.amazonaws.com');
    expect(inputs.string('audience')).toBeUndefined();
  });

  it('accepts only true or false for booleans', () => {
    set('dry-run', 'TRUE');
    expect(inputs.boolean('dry-run', false)).toBe(true);
    set('dry-run', 'False');
    expect(inputs.boolean('dry-run', true)).toBe(false);
    set('dry-run', '');
    expect(inputs.boolean('dry-run', true)).toBe(true);
    set('dry-run', 'yes');
    expect(() => inputs.boolean('dry-run', false)).toThrow("Input 'dry-run' must be true or false, not 'yes'.");
  });

  it('splits lists on newlines and commas and drops empties', () => {
    set('stacks', 'infra/network, infra/app\n\n  infra/dns  ,');
    expect(inputs.list('stacks')).toEqual(['infra/network', 'infra/app', 'infra/dns']);
    expect(inputs.list('nothing')).toEqual([]);
  });

  it('splits lines only on newlines, keeping commas inside values', () => {
    set('build-args', 'JAVA_OPTS=-Xms1g,-Xmx2g\r\n\n  GREETING=hello, world  \n');
    expect(inputs.lines('build-args')).toEqual(['JAVA_OPTS=-Xms1g,-Xmx2g', 'GREETING=hello, world']);
    expect(inputs.lines('nothing')).toEqual([]);
  });

  it('checks whole numbers and their bounds', () => {
    set('n', '12');
    expect(inputs.integer('n', 1, { min: 1, max: 20 })).toBe(12);
    set('n', '1.5');
    expect(() => inputs.integer('n', 1)).toThrow("Input 'n' must be a whole number, not '1.5'.");
    set('n', '30');
    expect(() => inputs.integer('n', 1, { min: 1, max: 20 })).toThrow("Input 'n' must be between 1 and 20, not 30.");
    set('n', '0');
    expect(() => inputs.integer('n', 1, { min: 1 })).toThrow("Input 'n' must be at least 1, not 0.");
  });

  it('parses durations into milliseconds', () => {
    set('step-duration', '2m');
    expect(inputs.duration('step-duration', '1m')).toBe(120_000);
    set('step-duration', '');
    expect(inputs.duration('step-duration', '1m')).toBe(60_000);
    set('step-duration', 'a while');
    expect(() => inputs.duration('step-duration', '1m')).toThrow("Input 'step-duration' is not a duration: 'a while'.");
  });

  it('matches choices case-insensitively and lists them when none fits', () => {
    set('strategy', 'Canary');
    expect(inputs.choice('strategy', ['rolling', 'canary'] as const, 'rolling')).toBe('canary');
    set('strategy', 'big-bang');
    expect(() => inputs.choice('strategy', ['rolling', 'canary'] as const, 'rolling')).toThrow(
      "Input 'strategy' must be one of 'rolling', 'canary', not 'big-bang'.",
    );
  });
});
