import { exportVariable, getState, info } from '@actions/core';
import { removeCredentialsFile } from '../../gcp/credentials-file.js';

export const FILE_STATE = 'credentials-file';
export const EXPORTED_STATE = 'exported';
export const CREDENTIAL_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE',
  'GOOGLE_GHA_CREDS_PATH',
];
export const PROJECT_VARIABLES = [
  'CLOUDSDK_CORE_PROJECT',
  'CLOUDSDK_PROJECT',
  'GCLOUD_PROJECT',
  'GCP_PROJECT',
  'GOOGLE_CLOUD_PROJECT',
];

/** Deletes the credentials file and blanks the variables pointing at it. */
export async function post(): Promise<void> {
  const file = getState(FILE_STATE);
  if (file) {
    await removeCredentialsFile(file);
    info(`Deleted the credentials file ${file}.`);
  }
  if (getState(EXPORTED_STATE) === 'true') {
    for (const name of CREDENTIAL_VARIABLES) exportVariable(name, '');
  }
}
