import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseFileCommand, ROOT } from '../../support/runner.js';

/** The small `run:` scripts of build-and-scan.yml, run with bash as the runner does. */
type Step = { id?: string; name?: string; run?: string };
const stepsOf = (file: string, job: string) =>
  (parse(readFileSync(join(ROOT, '.github/workflows', file), 'utf8')) as { jobs: Record<string, { steps: Step[] }> })
    .jobs[job]?.steps ?? [];

function runScript(body: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'pa-wf-'));
  const output = join(dir, 'output');
  writeFileSync(output, '');
  writeFileSync(join(dir, 'step.sh'), body);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env, GITHUB_OUTPUT: output },
    encoding: 'utf8',
  });
  return { status: r.status, log: r.stdout + r.stderr, outputs: parseFileCommand(readFileSync(output, 'utf8')) };
}

describe('build-and-scan.yml', () => {
  it('configures docker for Artifact Registry hosts only, through gcloud', () => {
    const bin = mkdtempSync(join(tmpdir(), 'pa-bin-'));
    const calls = join(bin, 'calls');
    writeFileSync(join(bin, 'gcloud'), `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(join(bin, 'gcloud'), 0o755);
    for (const job of ['build', 'scan']) {
      const login = stepsOf('build-and-scan.yml', job).find((s) => s.name === 'Log in to Artifact Registry')
        ?.run as string;
      const env = { PATH: `${bin}:${process.env.PATH}` };
      expect(runScript(login, { ...env, IMAGE: 'europe-docker.pkg.dev/acme/web/open-webui' }).status).toBe(0);
      expect(runScript(login, { ...env, IMAGE: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/web' }).log).toContain(
        'is not an Artifact Registry host',
      );
    }
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      'auth configure-docker europe-docker.pkg.dev --quiet',
      'auth configure-docker europe-docker.pkg.dev --quiet',
    ]);
  });
});
