import { getState, info, warning } from '@actions/core';
import { BuildahBuilder, DockerBuilder } from '../../image/builder.js';
import { errorMessage } from '../../util/errors.js';

export const LOGINS_STATE = 'logins';

/** A registry login this action made, to undo in the post step. */
export interface Login {
  builder: 'docker' | 'buildah';
  registry: string;
}

/** Logs out of the registries main logged in to, so later steps do not inherit the login. */
export async function post(): Promise<void> {
  const text = getState(LOGINS_STATE);
  if (!text) return;
  for (const login of JSON.parse(text) as Login[]) {
    const builder = login.builder === 'docker' ? new DockerBuilder('') : new BuildahBuilder('');
    try {
      await builder.logout(login.registry);
      info(`Logged out of ${login.registry}.`);
    } catch (err) {
      warning(`Could not log out of ${login.registry}: ${errorMessage(err)}`);
    }
  }
}
