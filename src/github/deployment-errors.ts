import { httpStatus } from './client.js';
import { errorMessage, UserError } from '../util/errors.js';

/** Why a call to GitHub's Deployments API failed, and what the user can do about it. */

const DEPLOY_HINT =
  'Give the job `permissions: deployments: write` (and `contents: read`), or pass a github-token that may create deployments in this repository.';

export function deploymentError(err: unknown, what: string): UserError {
  const status = httpStatus(err);
  const hint =
    status === 403 || status === 404
      ? DEPLOY_HINT
      : status === 401
        ? 'The token is not valid: check github-token.'
        : status === 422
          ? 'Check that the ref (the commit the image was built from) exists in this repository and that the environment name is valid.'
          : undefined;
  return new UserError(`GitHub refused to ${what}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err)}`, hint, {
    cause: err,
  });
}
