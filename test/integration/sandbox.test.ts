/**
 * The sandbox end to end, short profile (dev → production): the same module
 * `npm run sandbox` runs, against its own moto, OIDC issuer, GitHub stand-in and registry.
 * One run; every case reads its outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSandbox, type SandboxResult } from '../../scripts/sandbox/pipeline.js';

const out = mkdtempSync(join(tmpdir(), 'pa-sandbox-'));
const printed: string[] = [];
let r: SandboxResult;

beforeAll(async () => {
  r = await runSandbox({ profile: 'short', outputDir: out, print: (line) => printed.push(line) });
  if (r.error) throw new Error(`the sandbox stopped: ${r.error}\n${printed.join('\n')}`);
}, 600_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const deploy = (release: number, environment: string) =>
  r.deploys.find((d) => d.release === release && d.environment === environment);
const state = (environment: string) => r.state.find((s) => s.environment === environment);
const imageOf = (release: number, service: string) =>
  r.releases.find((x) => x.number === release)?.images[service as 'open-webui'];

describe('sandbox (short profile)', () => {
  it('ends clean: no stand-in problem, no secret anywhere, passed', () => {
    expect(r.problems).toEqual([]);
    expect(r.leaks).toEqual([]);
    expect(r.ok).toBe(true);
    expect(printed.at(-1)).toMatch(/^✓ sandbox short passed in /);
  });

  it('builds every image of both releases and deploys them by digest from the registry', () => {
    expect(r.releases.map((x) => x.number)).toEqual([1, 2]);
    for (const release of r.releases) {
      for (const service of ['bedrock-access-gateway', 'mcpo', 'open-webui'])
        expect(release.images[service as 'mcpo']).toMatch(
          new RegExp(`^127\\.0\\.0\\.1:\\d+/acme/${service}@sha256:[a-f0-9]{64}$`),
        );
    }
    expect(imageOf(1, 'open-webui')).not.toBe(imageOf(2, 'open-webui'));
  });

  it('sets the account up with the github-oidc module, provisions each environment with Terraform, and authenticates with that environment’s role', () => {
    // examples/seed-workload/github-oidc, applied once: the provider for the sandbox's issuer, a deploy role per environment.
    const bootstrap = r.steps.find((s) => s.stage === 'Account bootstrap (once per account)');
    expect(bootstrap?.facts).toEqual([
      expect.stringMatching(/^arn:aws:iam::\d{12}:oidc-provider\/127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^dev: arn:aws:iam::\d{12}:role\/github-deploy-dev$/),
      expect.stringMatching(/^production: arn:aws:iam::\d{12}:role\/github-deploy-production$/),
    ]);
    const applies = r.steps.filter((s) => s.title.startsWith('terraform-apply'));
    expect(applies.map((s) => [s.environment, s.ok])).toEqual(
      expect.arrayContaining([
        ['dev', true],
        ['production', true],
      ]),
    );
    // The stacks no longer make roles: the seed workload's 26 resources each.
    expect(applies.map((s) => s.facts[0])).toEqual([
      expect.stringContaining(': +26 ~0 -0'),
      expect.stringContaining(': +26 ~0 -0'),
    ]);
    const auth = r.steps.filter((s) => s.title.startsWith('aws-auth') && !s.title.endsWith('(post)'));
    expect(auth.map((s) => s.facts[0])).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/assumed-role\/github-deploy-dev\/.*sub repo:acme\/webapp:environment:dev$/),
        expect.stringMatching(
          /assumed-role\/github-deploy-production\/.*sub repo:acme\/webapp:environment:production$/,
        ),
      ]),
    );
    // Each environment's deploy job assumed its own role only.
    expect(auth.every((s) => (s.facts[0] ?? '').includes(`github-deploy-${s.environment}/`))).toBe(true);
  });

  it('rolls release 1 through dev and production: gateway and MCP proxy first, then the open-webui canary to 100%', () => {
    for (const environment of ['dev', 'production']) {
      expect(deploy(1, environment)?.services.map((s) => [s.service, s.status])).toEqual([
        ['bedrock-access-gateway', 'succeeded'],
        ['mcpo', 'succeeded'],
        ['open-webui', 'succeeded'],
      ]);
      const canary = deploy(1, environment)?.services[2]?.report;
      expect(canary?.engine).toBe('ecs-task-set');
      expect(canary?.steps.map((s) => [s.confirmed?.canary, s.analysis?.verdict])).toEqual([
        [50, 'pass'],
        [100, undefined],
      ]);
      expect(state(environment)?.listener).toEqual({
        [`seed-${environment}-webui-blue`]: 0,
        [`seed-${environment}-webui-green`]: 100,
      });
    }
    // The same digests moved from dev to production, each through promote.
    expect(state('production')?.live).toEqual({
      'bedrock-access-gateway': imageOf(1, 'bedrock-access-gateway'),
      mcpo: imageOf(1, 'mcpo'),
      'open-webui': imageOf(1, 'open-webui'),
    });
    expect(r.steps.filter((s) => s.title.startsWith('promote') && s.environment === 'production' && s.ok)).toHaveLength(
      3,
    );
    expect(
      r.steps.some(
        (s) =>
          s.kind === 'note' &&
          /bound to the production environment: its required reviewers are auto-approved in the sandbox/.test(s.title),
      ),
    ).toBe(true);
    expect(
      r.steps.some((s) => s.kind === 'note' && /min-soak shortened to 2s \(release\.yml: 30m\)/.test(s.title)),
    ).toBe(true);
  });

  it('rolls release 2’s canary back on the SLO breach: 100% on stable, rolled-back, recorded as a failed deployment', () => {
    const two = deploy(2, 'dev');
    expect(two?.services.map((s) => [s.service, s.status])).toEqual([
      ['bedrock-access-gateway', 'succeeded'],
      ['mcpo', 'succeeded'],
      ['open-webui', 'rolled-back'],
    ]);
    const canary = two?.services[2];
    expect(canary?.report.failure?.trigger).toBe('analysis');
    expect(canary?.report.steps[0]?.analysis?.verdict).toBe('fail');
    expect(canary?.report.steps[0]?.confirmed?.canary).toBe(50);
    // The stable task set (release 1, in green) has all the traffic again.
    expect(state('dev')?.listener).toEqual({ 'seed-dev-webui-blue': 0, 'seed-dev-webui-green': 100 });
    expect(state('dev')?.live).toEqual({
      'bedrock-access-gateway': imageOf(2, 'bedrock-access-gateway'),
      mcpo: imageOf(2, 'mcpo'),
      'open-webui': imageOf(1, 'open-webui'),
    });
    expect(r.steps.find((s) => s.title === 'ecs-deploy open-webui' && s.release === 2)?.facts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Step 1 \(50%\) analysis failed: A run failed: error-rate \d+(\.\d+)?% > 1%/),
        expect.stringMatching(/GitHub Deployment #\d+: in_progress → failure$/),
      ]),
    );
    // A manual promotion of that digest is refused.
    expect(r.refusal).toMatch(/failed in dev: deployment #\d+ is 'failure'/);
    // release 2 never reached production.
    expect(deploy(2, 'production')).toBeUndefined();
  });

  it('runs each deploy job as deploy-ecs.yml says: the environment gate read from GitHub, the summary of which release each service runs, on-failure stop leaving dev mixed', () => {
    expect(deploy(1, 'dev')?.gate).toBe('not-required');
    expect(deploy(1, 'production')?.gate).toBe('gated');
    const gate = r.steps.find(
      (s) => s.environment === 'production' && s.title === "deploy-ecs.yml: Check the environment's protection",
    );
    expect(gate?.facts).toEqual([
      'Environment production is gated: required reviewers @release-manager, team platform; deploys from protected branches only.',
    ]);
    const sha = (n: number) => r.releases.find((x) => x.number === n)?.sha;
    expect(deploy(1, 'production')?.releases).toEqual({
      'bedrock-access-gateway': sha(1),
      mcpo: sha(1),
      'open-webui': sha(1),
    });
    const two = deploy(2, 'dev');
    expect(two?.status).toBe('rolled-back');
    expect(two?.statuses).toEqual({
      'bedrock-access-gateway': 'succeeded',
      mcpo: 'succeeded',
      'open-webui': 'rolled-back',
    });
    expect(two?.releases).toEqual({ 'bedrock-access-gateway': sha(2), mcpo: sha(2), 'open-webui': 'previous' });
    // The short profile runs on-failure: stop, so no undo step ran.
    expect(two?.undone).toEqual([]);
    expect(r.steps.some((s) => s.title.startsWith('rollback '))).toBe(false);
  });

  it('prints what the notify step of each deploy job sent to the local webhook receiver, with no secret in it', () => {
    expect(r.notifications.map((n) => [n.environment, n.event])).toEqual(
      expect.arrayContaining([
        ['dev', 'succeeded'],
        ['production', 'succeeded'],
        ['dev', 'rolled-back'],
      ]),
    );
    expect(r.notifications).toHaveLength(3);
    const rolledBack = r.notifications.find((n) => n.event === 'rolled-back');
    expect(rolledBack).toMatchObject({
      schema: 'platform-actions/notification@1',
      service: 'open-webui',
      summary: 'Deploy to dev: rolled-back - a MIXED release, see the run',
    });
    expect(JSON.parse(rolledBack?.facts.releases as string)).toMatchObject({ 'open-webui': 'previous' });
    expect(r.notifications.find((n) => n.environment === 'production')?.facts.gate).toBe('gated');
    expect(r.steps.filter((s) => s.title.startsWith('notification receiver got'))).toHaveLength(3);
  });

  it('catches the change made by hand in production, opens an issue, and does not call the deployments’ own changes drift', () => {
    expect(r.drift?.drifted).toEqual(['infra/production']);
    const production = r.drift?.reports.find((s) => s.stack === 'infra/production');
    expect(production?.drift.map((d) => d.address)).toEqual(['aws_security_group.services']);
    expect(production?.drift[0]?.attributes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: expect.stringMatching(/^ingress\[\d\]\.from_port$/), after: '22' }),
      ]),
    );
    const dev = r.drift?.reports.find((s) => s.stack === 'infra/dev');
    expect(dev?.status).toBe('clean');
    // What the rollouts changed is set aside: listener weights, services' task definitions.
    const ignored = Object.fromEntries(
      (dev?.ignored ?? []).map((i) => [i.address, [...new Set(i.attributes.map((a) => a.reason))]]),
    );
    expect(ignored).toMatchObject({
      'aws_lb_listener.http': ['ignore_changes'],
      'aws_ecs_service.rolling["mcpo"]': ['ignore_changes'],
      'aws_lb_target_group.open_webui["green"]': ['computed'],
    });
    expect(r.drift?.issues.map((i) => [i.title, i.state])).toEqual([['Drift detected in infra/production', 'open']]);
    expect(r.drift?.issues[0]?.body).toContain('`aws_security_group.services`');
  });

  it('reports the DORA figures of the recorded history', () => {
    const figures = Object.fromEntries((r.dora?.environments ?? []).map((e) => [e.environment, e]));
    expect(figures.dev?.counts).toMatchObject({ changes: 6, succeeded: 5, failed: 1, rollbacks: 0, openFailures: 0 });
    expect(figures.dev?.changeFailureRate).toBeCloseTo(1 / 6, 3);
    expect(figures.dev?.timeToRestore?.samples).toBe(1);
    expect(figures.dev?.leadTime?.samples).toBe(5);
    expect(figures.production?.counts).toMatchObject({ changes: 3, succeeded: 3, failed: 0 });
    expect(figures.production?.changeFailureRate).toBe(0);
    expect(figures.production?.verdicts).toMatchObject({
      leadTime: 'met',
      changeFailureRate: 'met',
      timeToRestore: 'no-data',
    });
  });

  it('leaves every step’s job summary and the timeline under the output folder', () => {
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['timeline.md', 'result.json']));
    const summaries = r.steps.filter((s) => s.summaryFile);
    expect(summaries.length).toBeGreaterThan(20);
    for (const s of summaries) expect(existsSync(join(out, s.summaryFile as string))).toBe(true);
    const rollback = r.steps.find((s) => s.title === 'ecs-deploy open-webui' && s.release === 2);
    expect(readFileSync(join(out, rollback?.summaryFile as string), 'utf8')).toContain('rolled-back');
    expect(readFileSync(join(out, 'timeline.md'), 'utf8')).toContain('❌ [ecs-deploy open-webui](');
  });
});
