import { inputs } from '../../github/inputs.js';
import { BINARIES, type Binary } from '../../terraform/binaries.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  workingDirectory: string;
  stackName: string;
  varFiles: string[];
  variables: string | undefined;
  backendConfig: string[];
  workspace: string;
  comment: 'update' | 'new' | 'off';
  failOnDestroy: boolean;
  allowDestroyLabel: string;
  protectedResources: string[];
  fmtCheck: 'report' | 'fail' | 'off';
  /** Terraform's syntax, e.g. `300s`. */
  lockTimeout: string;
  parallelism: number;
  binary: Binary;
  token: string;
}

const WORKSPACE = /^[\w.-]{1,90}$/;

export function readSettings(): Settings {
  const workingDirectory = inputs.string('working-directory', '.');
  const workspace = inputs.string('workspace', 'default');
  if (!WORKSPACE.test(workspace)) {
    throw new UserError(
      `workspace '${workspace}' is not a valid workspace name.`,
      'Use letters, digits, dots, dashes and underscores.',
    );
  }
  return {
    workingDirectory,
    stackName: inputs.string('stack-name') ?? workingDirectory,
    varFiles: inputs.list('var-files'),
    variables: inputs.string('variables'),
    backendConfig: inputs.list('backend-config'),
    workspace,
    comment: inputs.choice('comment', ['update', 'new', 'off'], 'update'),
    failOnDestroy: inputs.boolean('fail-on-destroy', false),
    allowDestroyLabel: inputs.string('allow-destroy-label', 'allow-destroy'),
    protectedResources: inputs.list('protected-resources'),
    fmtCheck: inputs.choice('fmt-check', ['report', 'fail', 'off'], 'report'),
    lockTimeout: `${Math.ceil(inputs.duration('lock-timeout', '5m') / 1000)}s`,
    parallelism: inputs.integer('parallelism', 10, { min: 1, max: 256 }),
    binary: inputs.choice('terraform-binary', BINARIES, 'terraform'),
    token: inputs.string('github-token', '${{ github.token }}'),
  };
}
