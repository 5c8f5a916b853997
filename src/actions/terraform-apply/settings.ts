import { inputs } from '../../github/inputs.js';
import { BINARIES, type Binary } from '../../terraform/binaries.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  workingDirectory: string;
  planFile: string;
  /** Empty: read the reviewed id from the pull request's plan comment. */
  planId: string | undefined;
  stackName: string;
  lockTimeout: string;
  binary: Binary;
  token: string;
  /** The identity whose commit status (and comment) is trusted for the reviewed plan-id. */
  planAuthor: string;
}

export function readSettings(): Settings {
  const workingDirectory = inputs.string('working-directory', '.');
  const planId = inputs.string('plan-id')?.toLowerCase();
  if (planId !== undefined && !/^[0-9a-f]{64}$/.test(planId)) {
    throw new UserError(
      `plan-id '${planId}' is not a plan id.`,
      "Pass terraform-plan's plan-id output: 64 hexadecimal characters.",
    );
  }
  return {
    workingDirectory,
    planFile: inputs.required('plan-file'),
    planId,
    stackName: inputs.string('stack-name') ?? workingDirectory,
    lockTimeout: `${Math.ceil(inputs.duration('lock-timeout', '5m') / 1000)}s`,
    binary: inputs.choice('terraform-binary', BINARIES, 'terraform'),
    token: inputs.string('github-token', '${{ github.token }}'),
    planAuthor: inputs.string('plan-author', 'github-actions[bot]'),
  };
}
