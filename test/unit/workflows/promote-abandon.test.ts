import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../../support/runner.js';

/** promote.yml's abandon script, run with bash and a stand-in `gh` that answers with a given state. */
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/promote.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Array<{ run?: string }> }>;
};
const script = workflow.jobs.abandon?.steps[0]?.run as string;

function abandon(state: string) {
  const dir = mkdtempSync(join(tmpdir(), 'pa-abandon-'));
  const calls = join(dir, 'calls');
  writeFileSync(
    join(dir, 'gh'),
    `#!/bin/sh\necho "$*" >> ${calls}\ncase "$*" in *"-X POST"*) echo '{}' ;; *) echo '${state}' ;; esac\n`,
  );
  chmodSync(join(dir, 'gh'), 0o755);
  writeFileSync(join(dir, 'step.sh'), script);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    env: { PATH: `${dir}:${process.env.PATH}`, GH_TOKEN: 't', REPO: 'acme/webapp', DEPLOYMENT_ID: '42' },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    log: r.stdout + r.stderr,
    calls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [],
  };
}

describe('promote.yml abandon job', () => {
  it('closes a deployment nothing took over as an error', () => {
    const r = abandon('queued');
    expect(r.status).toBe(0);
    expect(r.calls[1]).toBe(
      'api -X POST repos/acme/webapp/deployments/42/statuses -f state=error -f description=Not deployed: no deploy job took it over (rejected, cancelled or stopped before the rollout).',
    );
    expect(r.log).toContain('Deployment 42 closed as error (it was queued).');
  });

  it('leaves a deployment the deploy job recorded alone', () => {
    const r = abandon('failure');
    expect(r.status).toBe(0);
    expect(r.calls).toHaveLength(1);
    expect(r.log).toContain('Deployment 42 is failure: the deploy job recorded it.');
  });
});
