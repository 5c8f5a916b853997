/**
 * What the deploy actions share about a paused rollout: finding the one a resume continues,
 * checking that the paused new version runs what the resuming job was given, and the two
 * snippets a paused summary shows (resume it, or abort it with the rollback action).
 */
import { UserError } from '../util/errors.js';
import { describeRecord } from './record.js';
import type { RolloutRecord } from './types.js';

function notPaused(name: string, record: RolloutRecord): UserError {
  return new UserError(
    `resume is true, but ${name} carries ${describeRecord(record)}, which is not paused, so there is nothing to resume. Nothing was changed.`,
    'If its run is still going, wait for it; otherwise run the rollback action (or deploy with resume: false, which finishes it first).',
  );
}

function nothingToResume(name: string): UserError {
  return new UserError(
    `resume is true, but ${name} has no paused rollout (no rollout record on it). Nothing was changed.`,
    'Deploy with resume: false to start a new rollout; a resume continues only a rollout that paused at a pause step.',
  );
}

/**
 * Resume: the record on `name` (a service, a Deployment), checked to be a paused rollout
 * (the engine checks again when it takes it over).
 */
export function pausedRollout(
  name: string,
  record: RolloutRecord | undefined,
  log: (line: string) => void,
): RolloutRecord {
  if (record?.phase === 'paused') {
    log(`Resuming ${describeRecord(record)}.`);
    return record;
  }
  throw record ? notPaused(name, record) : nothingToResume(name);
}

export interface ContainerImage {
  name: string;
  image?: string | undefined;
}

/**
 * Resume: the containers whose image in the paused canary differs from what this job was
 * given, as the error to throw; undefined when every one matches.
 */
export function canaryImageMismatch(
  canary: string,
  running: ContainerImage[],
  wanted: ContainerImage[],
): UserError | undefined {
  const runs = new Map(running.map((c) => [c.name, c.image]));
  const differ = wanted.filter((c) => runs.get(c.name) !== c.image);
  if (!differ.length) return undefined;
  const found = differ.map((c) => `${c.name}: ${runs.get(c.name) ?? 'no such container'}`).join(', ');
  const given = differ.map((c) => `${c.name}: ${c.image}`).join(', ');
  return new UserError(
    `The paused canary ${canary} runs ${found}, but this job was given ${given}. Nothing was changed.`,
    'Resume with the image the paused deploy rolled out (what was approved), or roll the canary back with the rollback action and deploy the new image anew.',
  );
}

/** A workflow step as YAML: `uses:` and its `with:` lines. */
function stepYaml(uses: string, withLines: string[]): string {
  return [`- uses: ${uses}`, '  with:', ...withLines.map((l) => `    ${l}`)].join('\n');
}

/**
 * The two steps a paused rollout's summary shows: the same action with `resume: true`,
 * or the rollback action. `where` names the service; `resume` the inputs that must match.
 */
export function pauseHelp(
  action: 'ecs-deploy' | 'gke-deploy',
  platform: 'ecs' | 'gke',
  where: string[],
  resume: string[],
): { resume: string; abort: string } {
  return {
    resume: stepYaml(`org/platform-actions/actions/${action}@v1`, [...where, ...resume, 'resume: true']),
    abort: stepYaml('org/platform-actions/actions/rollback@v1', [
      `platform: ${platform}`,
      ...where,
      'reason: paused canary aborted',
    ]),
  };
}
