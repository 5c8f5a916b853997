/**
 * What this repository's own CI installs from outside npm is pinned: moto and every
 * package it imports at exact versions, installed without resolving anything else, and
 * the set-up (scripts/setup.sh, which .ci/run calls) refuses a machine whose moto is not the pinned one.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../support/runner.js';
import { loadWorkflow } from '../../support/workflow-steps.js';

const REQUIREMENTS = readFileSync(join(ROOT, '.ci/moto-requirements.txt'), 'utf8');
// Continuation lines (how pip-compile writes hashes) joined to their requirement.
const requirements = REQUIREMENTS.replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#') && !l.startsWith('--'));

describe('moto for the integration tests', () => {
  it('pins every package of the set to an exact version, and hashes all or none', () => {
    expect(requirements.length).toBeGreaterThan(10);
    for (const line of requirements)
      expect(line).toMatch(/^[a-z0-9][a-z0-9._-]*(\[[a-z,]+\])?==[0-9][^\s;]*(\s+--hash=sha256:[a-f0-9]{64})*$/);
    expect(requirements).toContain('moto[server]==5.2.1');
    const hashed = requirements.filter((l) => l.includes('--hash='));
    if (hashed.length > 0) {
      expect(hashed).toHaveLength(requirements.length);
      expect(REQUIREMENTS).toMatch(/^--require-hashes$/m);
    }
  });

  it('is the moto this machine runs the tests with', () => {
    const found = spawnSync('python3', ['-c', 'import importlib.metadata as m; print(m.version("moto"))'], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(requirements).toContain(`moto[server]==${found}`);
  });

  it.each(['ci.yml', 'release-toolkit.yml'])('%s installs exactly that set, resolving nothing else', (file) => {
    const runs = Object.values(loadWorkflow(file).jobs).flatMap((job) => (job.steps ?? []).map((s) => s.run ?? ''));
    const installs = runs.flatMap((r) => r.split('\n')).filter((l) => /\b(pip|pipx|uv)\b.*\binstall\b/.test(l));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toContain('--no-deps -r .ci/moto-requirements.txt');
  });

  it('release-toolkit.yml runs the release from the default branch, the version passed as data', () => {
    const doc = loadWorkflow('release-toolkit.yml');
    const job = doc.jobs.release as unknown as {
      if: string;
      permissions: Record<string, string>;
      steps: Array<{ run?: string; env?: Record<string, string> }>;
    };
    expect(job.if).toBe("github.ref == format('refs/heads/{0}', github.event.repository.default_branch)");
    expect(job.permissions).toEqual({ contents: 'write' });
    const step = job.steps.find((st) => st.run?.includes('npm run release'));
    expect(step?.env?.VERSION).toBe('${{ inputs.version }}');
    expect(step?.run).toContain('npm run release -- "$VERSION" --repository "$GITHUB_REPOSITORY"');
    for (const st of job.steps) expect(st.run ?? '').not.toContain('${{');
  });

  it('the set-up .ci/run calls refuses a moto other than the pinned one, saying how to install the pinned set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-ci-run-'));
    mkdirSync(join(dir, '.ci'));
    writeFileSync(
      join(dir, '.ci/moto-requirements.txt'),
      REQUIREMENTS.replace('moto[server]==5.2.1', 'moto[server]==9.9.9'),
    );
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^scripts\/setup\.sh$/m);
    const script = readFileSync(join(ROOT, 'scripts/setup.sh'), 'utf8');
    // Only the moto part, with the script's message helpers: the rest installs packages.
    const helpers = script.slice(script.indexOf('say() {'), script.indexOf('# 1. Debian packages'));
    const check = helpers + script.slice(script.indexOf("# 2. moto's server"), script.indexOf('# 3. Terraform'));
    expect(check.length).toBeGreaterThan(100);
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', check], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('but the tests are pinned to moto 9.9.9 (.ci/moto-requirements.txt)');
    const ok = spawnSync('bash', ['-euo', 'pipefail', '-c', check], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('moto 5.2.1 already installed');
    expect(ok.status).toBe(0);
  });
});
