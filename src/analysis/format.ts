import type { MetricUnit } from './types.js';

/** A metric's number the way people read it: 0.0321 ratio → "3.21%", 0.412 seconds → "412 ms". */
export function formatValue(value: number | undefined, unit: MetricUnit = 'none'): string {
  if (value === undefined || Number.isNaN(value)) return 'no data';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'ratio':
      return `${significant(value * 100)}%`;
    case 'seconds':
      return Math.abs(value) < 1 ? `${significant(value * 1000)} ms` : `${significant(value)} s`;
    case 'count':
      return Number.isInteger(value) ? String(value) : significant(value);
    default:
      return significant(value);
  }
}

/** Up to three significant digits, no exponent for everyday magnitudes, no trailing zeros. */
export function significant(n: number): string {
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1000) return String(Math.round(n));
  if (abs < 1e-4) return n.toExponential(2);
  return String(Number(n.toPrecision(3)));
}

/** "0.0123" style p-values, with a floor so tiny ones stay readable. */
export function formatP(p: number): string {
  if (p < 0.0001) return '< 0.0001';
  return p < 0.01 ? String(Number(p.toPrecision(2))) : String(Number(p.toFixed(3)));
}

/** A count with its noun: 1 request, 412 requests. */
export function plural(n: number, noun: string): string {
  const rounded = Number.isInteger(n) ? n : Math.round(n);
  return `${rounded} ${noun}${rounded === 1 ? '' : 's'}`;
}
