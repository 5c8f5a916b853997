import { setOutput } from '@actions/core';

/**
 * Sets a step output. Objects and arrays are written as JSON; names are checked
 * against action.yml by the `check-action-io` script, so pass them as literals.
 */
function set(name: string, value: string | number | boolean | object): void {
  setOutput(name, typeof value === 'string' ? value : JSON.stringify(value));
}

export const outputs = { set };
