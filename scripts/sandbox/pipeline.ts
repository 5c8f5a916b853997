/**
 * The sandbox: the toolkit's main job rehearsed on this machine with no cloud account.
 * Used by `npm run sandbox` (scripts/sandbox.ts) and by the end-to-end test
 * (test/integration/sandbox.test.ts), which runs the short profile.
 *
 *   account bootstrap (github-oidc) → Terraform per environment ‖ release 1 build-and-scan
 *   → release 1: dev → staging → production (promote, gates auto-approved)
 *     ‖ release 2: build-and-scan → dev, where its canary breaches the SLO and is rolled back
 *   → a change by hand, caught by terraform-drift (short profile: while the releases roll out)
 *   → dora-report
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { forwardPercentages } from '../../test/support/ecs-workload.js';
import { deployEnvironment, promoteRefused, restoreText, type DeployOutcome } from './delivery.js';
import { buildRelease, type Release } from './images.js';
import { bootstrapAccount, provisionStacks, type Stack } from './infrastructure.js';
import { changeByHand, detectDrift, doraReport, type DoraReport, type DriftOutcome } from './operations.js';
import { missingPrerequisites } from './prerequisites.js';
import { PROFILES, SERVICES, type ProfileName, type Service } from './profiles.js';
import { seconds, Timeline, type StepRecord } from './timeline.js';
import { Traffic } from './traffic.js';
import { MissingPrerequisites, World } from './world.js';

export interface SandboxOptions {
  profile: ProfileName;
  /** Where the job summaries, timeline.md and result.json go. */
  outputDir: string;
  print?: (line: string) => void;
}

export interface EnvironmentState {
  environment: string;
  /** open-webui's listener forward: target group name → percent. */
  listener: Record<string, number>;
  /** The image each service runs now, read from ECS. */
  live: Record<Service, string>;
}

export interface SandboxResult {
  profile: ProfileName;
  environments: string[];
  ok: boolean;
  /** Why the run stopped, when it did. */
  error?: string;
  durationMs: number;
  steps: StepRecord[];
  releases: Array<{ number: number; sha: string; images: Partial<Record<Service, string>> }>;
  deploys: DeployOutcome[];
  refusal?: string;
  state: EnvironmentState[];
  drift?: DriftOutcome;
  dora?: DoraReport;
  /** Requests or answers of the GitHub stand-in that GitHub's OpenAPI description rejects. */
  problems: string[];
  /** Secrets seen where they must not be. */
  leaks: string[];
  outputDir: string;
}

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const byName = (percentages: Record<string, number>) => Object.fromEntries(Object.entries(percentages).map(([arn, p]) => [/targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn, p]));

async function readState(world: World, stack: Stack): Promise<EnvironmentState> {
  const ecs = world.clients.ecs;
  const services = (await ecs.send(new DescribeServicesCommand({ cluster: stack.cluster, services: [...SERVICES] }))).services ?? [];
  const live = {} as Record<Service, string>;
  for (const s of services) {
    const primary = s.taskSets?.find((t) => t.status === 'PRIMARY')?.taskDefinition ?? s.taskDefinition;
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: primary }))).taskDefinition;
    live[s.serviceName as Service] = td?.containerDefinitions?.[0]?.image ?? '';
  }
  return { environment: stack.environment, listener: byName(await forwardPercentages(world.clients.elbv2, stack.listenerArn)), live };
}

export async function runSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const profile = PROFILES[options.profile];
  const print = options.print ?? ((line: string) => console.log(line));
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new MissingPrerequisites(missing);

  const timeline = new Timeline(options.outputDir, print);
  const envs = profile.environments;
  print(`platform-actions sandbox · profile ${profile.name} · environments ${envs.join(' → ')} · output ${options.outputDir}`);
  const result: SandboxResult = { profile: profile.name, environments: envs, ok: false, durationMs: 0, steps: timeline.steps, releases: [], deploys: [], state: [], problems: [], leaks: [], outputDir: options.outputDir };

  const startedAt = timeline.now();
  const world = await World.start(timeline);
  timeline.add({
    kind: 'world',
    stage: 'Emulated cloud',
    title: 'moto_server, AWS proxy (STS trust checks), OIDC issuer, GitHub REST stand-in (OpenAPI-checked), docker-registry',
    startedAt,
    durationMs: timeline.now() - startedAt,
    ok: true,
    facts: [`AWS ${world.proxy.url} → moto ${world.moto.endpoint}; GitHub ${world.github.url}; OIDC ${world.issuer.url}; registry ${world.registry.host}`],
  });
  const traffic = new Traffic(world, profile);
  try {
    const account = await bootstrapAccount(world, envs);
    const release1: Release = { number: 1, sha: world.commit('Open WebUI, gateway and MCP proxy: release 1'), run: undefined as never, images: {} };
    release1.run = world.run('release', 'push', release1.sha);
    result.releases.push(release1);
    const [stacks] = await Promise.all([provisionStacks(world, envs, account, profile.planOnMain), buildRelease(world, release1)]);
    for (const stack of stacks) traffic.start(stack);
    timeline.note(
      'Traffic',
      `synthetic ALB metrics into moto's CloudWatch every ${profile.tickMs / 1000}s per environment: ${profile.requests.web} open-webui requests split by the listener's weights, ${profile.requests.gateway} on the gateway.`,
    );

    const devDone = deferred();
    const sourceFree = deferred();
    const last = stacks.at(-1) as Stack;
    const checkDrift = async () => {
      await changeByHand(world, last);
      result.drift = await detectDrift(world, stacks);
    };
    let drift: Promise<void> | undefined;
    if (profile.driftDuringRollouts) {
      drift = checkDrift();
      drift.catch(() => undefined); // awaited below; this only keeps it from being unhandled meanwhile
    }
    const releaseOne = (async () => {
      let from: { environment: string; healthySince: number } | undefined;
      for (const [i, stack] of stacks.entries()) {
        const outcome = await deployEnvironment(world, profile, { release: release1, stack, from, promoted: i === 1 ? sourceFree.resolve : undefined });
        result.deploys.push(outcome);
        from = { environment: stack.environment, healthySince: outcome.finishedAt };
        if (i === 0) devDone.resolve();
      }
    })();
    releaseOne.catch((err: unknown) => {
      devDone.reject(err);
      sourceFree.reject(err);
    });

    // Release 2 is pushed once release 1 is live in dev; it may use dev once release 1
    // has been promoted out of it (concurrency is per environment, as in release.yml).
    const releaseTwo = (async () => {
      await devDone.promise;
      const release2: Release = { number: 2, sha: world.commit('Open WebUI: release 2'), run: undefined as never, images: {} };
      release2.run = world.run('release', 'push', release2.sha);
      result.releases.push(release2);
      await buildRelease(world, release2);
      await sourceFree.promise;
      const outcome = await deployEnvironment(world, profile, { release: release2, stack: stacks[0] as Stack, breach: traffic });
      result.deploys.push(outcome);
      timeline.note(`Release 2: deploy`, `deploy-${envs[0]} failed, so release.yml skips ${envs.slice(1).join(' and ')}.`);
      const refused = await promoteRefused(world, profile, release2, envs[0] as string, envs[1] as string);
      result.refusal = refused.failure;
    })();
    await Promise.all([releaseOne, releaseTwo]);
    await (drift ?? checkDrift());
    result.dora = await doraReport(world, envs);

    result.state = await Promise.all(stacks.map((s) => readState(world, s)));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await traffic.stop();
    result.problems = [...world.github.problems];
    result.leaks = world.leaks();
    await world.stop();
  }
  result.durationMs = timeline.now();
  result.ok = !result.error && result.problems.length === 0 && result.leaks.length === 0;

  const footer = summaryLines(result);
  for (const line of ['', ...footer]) print(line);
  writeFileSync(join(options.outputDir, 'timeline.md'), timeline.markdown(`Sandbox run, profile ${profile.name}`, footer.map((l) => `    ${l}`)));
  writeFileSync(join(options.outputDir, 'result.json'), `${JSON.stringify({ ...result, deploys: result.deploys.map(({ services, ...d }) => ({ ...d, services: services.map(({ report: _report, ...s }) => s) })) }, null, 2)}\n`);
  return result;
}

/** The end of the printed timeline: where things stand, and whether the run is clean. */
function summaryLines(r: SandboxResult): string[] {
  const out = [`── Outcome ${'─'.repeat(68)}`];
  for (const s of r.state) {
    out.push(`  ${s.environment.padEnd(11)} listener ${Object.entries(s.listener).sort(([a], [b]) => a.localeCompare(b)).map(([tg, p]) => `${tg} ${p}%`).join(', ')}`);
    for (const [service, image] of Object.entries(s.live)) out.push(`  ${''.padEnd(11)} ${service.padEnd(23)} ${image}`);
  }
  const rolledBack = r.deploys.flatMap((d) => d.services.filter((s) => s.status === 'rolled-back').map((s) => ({ d, s })));
  for (const { d, s } of rolledBack) {
    out.push(`  rollback    release ${d.release} ${s.service} in ${d.environment}: ${s.status} on ${s.report.failure?.trigger ?? '?'}, 100% back on stable ${restoreText(s.report.failure?.recoverySeconds)} after detection`);
  }
  if (r.refusal) out.push(`  refused     promote of release 2's open-webui: ${(r.refusal.split('\n')[0] as string).replace(/ \(Step .*$/, '')}`);
  if (r.drift) out.push(`  drift       ${r.drift.drifted.join(', ') || 'none'}; issues: ${r.drift.issues.map((i) => `#${i.number} ${i.state} "${i.title}"`).join(', ') || 'none'}`);
  const mark = (v: string | undefined) => (v === 'met' ? '✓' : v === 'missed' ? '✗' : '·');
  for (const e of r.dora?.environments ?? []) {
    const v = e.verdicts;
    out.push(
      `  DORA        ${e.environment.padEnd(11)} frequency ${e.deploymentFrequency.perDay}/day ${mark(v.deploymentFrequency)}, lead time ${e.leadTime ? `${e.leadTime.medianSeconds}s` : '-'} ${mark(v.leadTime)}, ` +
        `change failure rate ${e.changeFailureRate === null ? '-' : `${Math.round(e.changeFailureRate * 1000) / 10}%`} ${mark(v.changeFailureRate)}, time to restore ${e.timeToRestore ? `${e.timeToRestore.medianSeconds}s` : '-'} ${mark(v.timeToRestore)}`,
    );
  }
  if (r.dora) out.push(`  ${''.padEnd(11)} (✓ meets, ✗ misses the seed's targets: 10+/day, < 1h, < 5%, < 10m; · no data; the sandbox's day is a few minutes long)`);
  out.push(`  GitHub stand-in: ${r.problems.length === 0 ? 'every request and answer fits GitHub\'s OpenAPI description' : `${r.problems.length} problem(s):`}`);
  for (const p of r.problems) out.push(`    - ${p}`);
  out.push(`  secrets: ${r.leaks.length === 0 ? 'none in any log, summary, comment, issue or deployment' : `${r.leaks.length} leak(s):`}`);
  for (const l of r.leaks) out.push(`    - ${l}`);
  if (r.error) out.push('', `✗ stopped: ${r.error}`);
  out.push('', `${r.ok ? '✓' : '✗'} sandbox ${r.profile} ${r.ok ? 'passed' : 'FAILED'} in ${seconds(r.durationMs)}; job summaries in ${r.outputDir}`);
  return out;
}
