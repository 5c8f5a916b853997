import { exportVariable, getState, info } from '@actions/core';
import { EXPORTED_STATE, EXPORTED_VARIABLES } from './main.js';

/** Blanks the credentials this action exported, so later steps and post steps lose them. */
export async function post(): Promise<void> {
  if (getState(EXPORTED_STATE) !== 'true') return;
  for (const name of EXPORTED_VARIABLES) exportVariable(name, '');
  info(`Removed ${EXPORTED_VARIABLES.join(', ')} from the environment of the steps that follow.`);
}
