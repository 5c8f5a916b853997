import { exportVariable, getState, info } from '@actions/core';

export const EXPORTED_STATE = 'exported';
export const EXPORTED_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'PLATFORM_ACTIONS_AWS_ROLE',
];

/** Blanks the credentials this action exported, so the steps after it lose them. */
export async function post(): Promise<void> {
  if (getState(EXPORTED_STATE) !== 'true') return;
  for (const name of EXPORTED_VARIABLES) exportVariable(name, '');
  info(`Removed ${EXPORTED_VARIABLES.join(', ')} from the environment of the steps that follow.`);
}
