import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startGitHubServer, type GitHubServer } from '../support/github-server.js';
import { ROOT } from '../support/runner.js';

/**
 * The environment set-up of docs/getting-started.md, run as written with bash and a `gh`
 * that records its API calls, which are then sent to the GitHub stand-in, where GitHub's
 * OpenAPI description checks every path and body.
 */
let gh: GitHubServer;
beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());

function environmentScript(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 4. GitHub Environments'), doc.indexOf('## 5.'));
  return /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
}

describe('getting started: GitHub Environments', () => {
  it('creates the environments and their branch policies with requests GitHub accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-gs-'));
    const log = join(dir, 'calls');
    writeFileSync(
      join(dir, 'gh'),
      [
        '#!/bin/sh',
        'method=GET; path=',
        'while [ $# -gt 0 ]; do case "$1" in api) ;; -X) method=$2; shift ;; --input) shift ;; *) path=$1 ;; esac; shift; done',
        `printf '%s %s %s\\n' "$method" "$path" "$(cat)" >> ${log}`,
      ].join('\n'),
    );
    chmodSync(join(dir, 'gh'), 0o755);
    writeFileSync(join(dir, 'setup.sh'), environmentScript());
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'setup.sh')], {
      env: { PATH: `${dir}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [method, path, ...body] = line.split(' ');
        return {
          method: method as string,
          path: path as string,
          body: JSON.parse(body.join(' ')) as Record<string, unknown>,
        };
      });
    const environments = ['dev', 'staging', 'production', 'dev-rollback', 'staging-rollback', 'production-rollback'];
    expect(calls.filter((c) => c.method === 'PUT').map((c) => c.path)).toEqual(
      environments.map((e) => `repos/acme/webui/environments/${e}`),
    );
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(
      environments.map((e) => `repos/acme/webui/environments/${e}/deployment-branch-policies`),
    );
    const production = calls.find((c) => c.path === 'repos/acme/webui/environments/production');
    expect(production?.body).toMatchObject({
      wait_timer: 30,
      prevent_self_review: true,
      reviewers: [{ type: 'Team', id: 1234567 }],
    });

    for (const c of calls) {
      await fetch(`${gh.url}/${c.path}`, {
        method: c.method,
        headers: { authorization: `Bearer ${gh.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(c.body),
      });
    }
    expect(gh.calls.map((c) => c.operationId)).toEqual([
      ...environments.map(() => 'repos/create-or-update-environment'),
      ...environments.map(() => 'repos/create-deployment-branch-policy'),
    ]);
    // The stand-in answers neither operation; everything else GitHub's description checks.
    expect(gh.problems.filter((p) => !p.includes('the stand-in has no handler'))).toEqual([]);
  });
});

describe('getting started: the customised OIDC subject', () => {
  it('sets a subject template GitHub accepts, with the immutable ids and job_workflow_ref', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Tighter: the repository'), doc.indexOf('## 3.'));
    const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    expect(script).toContain('gh api -X PUT');
    const dir = mkdtempSync(join(tmpdir(), 'pa-gs-sub-'));
    const log = join(dir, 'calls');
    writeFileSync(
      join(dir, 'gh'),
      [
        '#!/bin/sh',
        'method=GET; path=',
        'while [ $# -gt 0 ]; do case "$1" in api) ;; -X) method=$2; shift ;; --input) shift ;; *) path=$1 ;; esac; shift; done',
        `printf '%s %s %s\\n' "$method" "$path" "$(cat | tr -d '\\n')" >> ${log}`,
      ].join('\n'),
    );
    chmodSync(join(dir, 'gh'), 0o755);
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const [method, path, ...rest] = readFileSync(log, 'utf8').trim().split(' ');
    const body = JSON.parse(rest.join(' ')) as { use_default: boolean; include_claim_keys: string[] };
    expect(method).toBe('PUT');
    expect(body).toEqual({
      use_default: false,
      include_claim_keys: ['repository_owner_id', 'repository_id', 'context', 'job_workflow_ref'],
    });
    // GitHub's OpenAPI description accepts the request.
    const before = gh.calls.length;
    await fetch(`${gh.url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${gh.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(gh.calls.slice(before).map((c) => c.operationId)).toEqual(['actions/set-custom-oidc-sub-claim-for-repo']);
    expect(gh.problems.filter((p) => !p.includes('the stand-in has no handler'))).toEqual([]);
  });
});

describe('getting started: database migrations', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 6. Database migrations'));

  it('runs the migration as pre-deploy, with inputs each action declares', () => {
    const steps = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
      (m) => (parse(m[1] ?? '') as Array<{ uses: string; with: Record<string, string> }>)[0],
    );
    expect(steps.map((s) => s?.uses)).toEqual([
      'org/platform-actions/actions/ecs-deploy@v1',
      'org/platform-actions/actions/gke-deploy@v1',
    ]);
    for (const step of steps) {
      const id = /actions\/([a-z-]+)@/.exec(step?.uses ?? '')?.[1] as string;
      const declared = parse(readFileSync(join(ROOT, 'actions', id, 'action.yml'), 'utf8')) as {
        inputs: Record<string, unknown>;
      };
      const given = Object.keys(step?.with ?? {});
      expect(given.filter((name) => !(name in declared.inputs))).toEqual([]);
      const command = JSON.parse(step?.with['pre-deploy'] ?? '[]') as string[];
      expect(command.join(' ')).toContain('alembic upgrade head');
    }
  });

  it("says what the deploy workflows' services entries take: no pre-deploy", () => {
    expect(section).toContain('do not pass `pre-deploy` through their `services` entries');
    for (const workflow of ['deploy-ecs.yml', 'deploy-gke.yml']) {
      const text = readFileSync(join(ROOT, '.github', 'workflows', workflow), 'utf8');
      const keys = JSON.parse(/ENTRY_KEYS: '(.*)'/.exec(text)?.[1] ?? '[]') as string[];
      expect(keys.length).toBeGreaterThan(5);
      expect(keys).not.toContain('pre-deploy');
    }
  });
});
