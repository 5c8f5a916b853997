import { inputs } from '../../github/inputs.js';
import { BINARIES, type Binary } from '../../terraform/binaries.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  stacks: string[];
  varFiles: string[];
  backendConfig: string[];
  createIssues: boolean;
  issueLabel: string;
  failOnDrift: boolean;
  concurrency: number;
  lockTimeout: string;
  binary: Binary;
  token: string;
}

export function readSettings(): Settings {
  const stacks = inputs
    .required('stacks')
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (stacks.length === 0)
    throw new UserError(
      "Input 'stacks' lists no stack.",
      'Give the stack folders, one a line, or a glob such as infra/*.',
    );
  return {
    stacks,
    varFiles: inputs.list('var-files'),
    backendConfig: inputs.list('backend-config'),
    createIssues: inputs.boolean('create-issues', true),
    issueLabel: inputs.string('issue-label', 'drift'),
    failOnDrift: inputs.boolean('fail-on-drift', false),
    concurrency: inputs.integer('concurrency', 2, { min: 1, max: 32 }),
    lockTimeout: `${Math.ceil(inputs.duration('lock-timeout', '5m') / 1000)}s`,
    binary: inputs.choice('terraform-binary', BINARIES, 'terraform'),
    token: inputs.string('github-token', '${{ github.token }}'),
  };
}
