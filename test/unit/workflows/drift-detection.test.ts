import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseFileCommand, ROOT } from '../../support/runner.js';

/** The `run:` scripts of drift-detection.yml, run with bash as the runner runs them. */
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/drift-detection.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Array<{ id?: string; run?: string }> }>;
};
const script = (job: string, id: string) => workflow.jobs[job]?.steps.find((s) => s.id === id)?.run as string;

function runScript(body: string, cwd: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'pa-wf-'));
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  writeFileSync(join(dir, 'step.sh'), body);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env, ...files },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    log: r.stdout + r.stderr,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

describe('drift-detection.yml: the stack list', () => {
  const repo = mkdtempSync(join(tmpdir(), 'pa-repo-'));
  for (const d of ['infra/prod', 'infra/staging', 'infra/modules-only', 'legacy/dns'])
    mkdirSync(join(repo, d), { recursive: true });
  for (const d of ['infra/prod', 'infra/staging', 'legacy/dns']) writeFileSync(join(repo, d, 'main.tf'), '');

  it('expands globs to folders that hold .tf files, once each, as a JSON matrix', () => {
    const r = runScript(script('stacks', 'expand'), repo, { STACKS: 'infra/*\n  legacy/dns , infra/prod\n' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.outputs.matrix as string)).toEqual(['infra/prod', 'infra/staging', 'legacy/dns']);
  });

  it('fails with what to check when nothing matches', () => {
    const r = runScript(script('stacks', 'expand'), repo, { STACKS: 'nowhere/*' });
    expect(r.status).toBe(1);
    expect(r.log).toContain('::error::No stack folder with .tf files matches the stacks input.');
  });
});

describe('drift-detection.yml: one summary', () => {
  const report = (stack: string, status: string, drift = 0, pending = 0) => ({
    stacks: [
      {
        stack,
        directory: stack,
        status,
        drift: Array.from({ length: drift }, (_, i) => ({ address: `r.${i}` })),
        pending: Array.from({ length: pending }, () => ({ revertsDrift: false })),
        errors: [],
      },
    ],
  });
  function reports(entries: Array<[string, unknown]>): string {
    const dir = mkdtempSync(join(tmpdir(), 'pa-reports-'));
    for (const [name, content] of entries) {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'drift-report.json'), JSON.stringify(content));
    }
    return dir;
  }

  it('merges the per-stack reports, counts a stack without a report as errored, and fails for it', () => {
    const dir = reports([
      ['drift-report-infra-prod', report('infra/prod', 'drifted', 2, 1)],
      ['drift-report-infra-staging', report('infra/staging', 'clean')],
    ]);
    const r = runScript(script('summary', 'summary'), dir, {
      REPORTS: dir,
      EXPECTED: '["infra/prod","infra/staging","legacy/dns"]',
      FAIL_ON_DRIFT: 'false',
    });
    expect(r.outputs).toEqual({
      drifted: 'true',
      'drifted-stacks': '["infra/prod"]',
      'errored-stacks': '["legacy/dns"]',
    });
    expect(r.summary).toContain('### Drift across 3 stack(s)');
    expect(r.summary).toContain('| `infra/prod` | ⚠️ drifted | 2 | 1 |');
    expect(r.summary).toContain('| `infra/staging` | ✅ clean | 0 | 0 |');
    expect(r.summary).toContain('| `legacy/dns` | ❌ no report (the job failed before writing it) | | |');
    expect(r.status).toBe(1);
    expect(r.log).toContain('::error::Stacks that could not be checked: legacy/dns.');
  });

  it('fails on drift only when asked', () => {
    const dir = reports([['drift-report-infra-prod', report('infra/prod', 'drifted', 1)]]);
    const env = { REPORTS: dir, EXPECTED: '["infra/prod"]' };
    expect(runScript(script('summary', 'summary'), dir, { ...env, FAIL_ON_DRIFT: 'false' }).status).toBe(0);
    const failing = runScript(script('summary', 'summary'), dir, { ...env, FAIL_ON_DRIFT: 'true' });
    expect(failing.status).toBe(1);
    expect(failing.log).toContain('::error::Drift in infra/prod; fail-on-drift is true.');
  });
});
