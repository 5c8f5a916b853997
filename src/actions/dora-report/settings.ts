import { inputs } from '../../github/inputs.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  windowMs: number;
  windowText: string;
  environments: string[];
  service: string | undefined;
  reportFile: string | undefined;
  token: string;
  /** Who creates trusted deployments and statuses. */
  deployer: string;
}

const YEAR = 366 * 86_400_000;

export function readSettings(): Settings {
  const windowMs = inputs.duration('window', '30d');
  if (windowMs < 3_600_000 || windowMs > YEAR) {
    throw new UserError(
      `Input 'window' must be between 1h and 366d, not ${formatDuration(windowMs)}.`,
      'Use e.g. 7d or 30d; DORA figures over minutes say nothing.',
    );
  }
  // Empty (a caller forwarding an empty value) means the default.
  const listed = inputs.list('environments');
  const environments = [...new Set(listed.length > 0 ? listed : ['production'])];
  return {
    windowMs,
    windowText: formatDuration(windowMs),
    environments,
    service: inputs.string('service', '') || undefined,
    reportFile: inputs.string('report-file', '') || undefined,
    token: inputs.string('github-token', '${{ github.token }}'),
    deployer: inputs.string('deployer', 'github-actions[bot]'),
  };
}
