/**
 * The sandbox: the toolkit's main job rehearsed on this machine with no cloud account.
 * Used by `npm run sandbox` (scripts/sandbox.ts) and by the end-to-end test
 * (test/integration/sandbox.test.ts), which runs the short profile.
 *
 *   account bootstrap (github-oidc) → Terraform per environment ‖ release 1 build-and-scan
 *   → release 1: dev → staging → production (promote, gates auto-approved; full: production's
 *     canary pauses at 25%, then production-promote approves and a resume job promotes it)
 *     ‖ release 2: build-and-scan → dev, where its canary breaches the SLO and is rolled back
 *       (full: with the rest of the release, on-failure: rollback-release)
 *     ‖ full: release 3 → dev → staging, where its runner is killed mid-canary → reconcile
 *   → a change by hand, caught by terraform-drift (short profile: while the releases roll out)
 *   → dora-report
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { forwardPercentages } from '../../test/support/ecs-workload.js';
import { approveAndResume, protectEnvironments, reconcileEnvironment, type ReconcileOutcome } from './controller.js';
import { deployEnvironment, promoteRefused, type DeployOutcome } from './delivery.js';
import { buildRelease, type Release } from './images.js';
import { bootstrapAccount, provisionStacks, type Stack } from './infrastructure.js';
import { changeByHand, detectDrift, doraReport, type DoraReport, type DriftOutcome } from './operations.js';
import { NotificationReceiver, type Received } from './notifications.js';
import { releaseNamer, summaryLines } from './outcome.js';
import { missingPrerequisites } from './prerequisites.js';
import { PROFILES, SERVICES, type ProfileName, type Service } from './profiles.js';
import { Timeline, type StepRecord } from './timeline.js';
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
  /** dev read back right after release 2's deploy job. */
  devAfterRelease2?: EnvironmentState;
  /** The deploy job whose runner was killed mid-canary (full profile). */
  killed?: { release: number; environment: string };
  reconcile?: ReconcileOutcome;
  /** What the notification receiver got. */
  notifications: Received[];
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

const byName = (percentages: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(percentages).map(([arn, p]) => [/targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn, p]),
  );

async function readState(world: World, stack: Stack): Promise<EnvironmentState> {
  const ecs = world.clients.ecs;
  const services =
    (await ecs.send(new DescribeServicesCommand({ cluster: stack.cluster, services: [...SERVICES] }))).services ?? [];
  const live = {} as Record<Service, string>;
  for (const s of services) {
    const primary = s.taskSets?.find((t) => t.status === 'PRIMARY')?.taskDefinition ?? s.taskDefinition;
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: primary }))).taskDefinition;
    live[s.serviceName as Service] = td?.containerDefinitions?.[0]?.image ?? '';
  }
  return {
    environment: stack.environment,
    listener: byName(await forwardPercentages(world.clients.elbv2, stack.listenerArn)),
    live,
  };
}

export async function runSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const profile = PROFILES[options.profile];
  const print = options.print ?? ((line: string) => console.log(line));
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new MissingPrerequisites(missing);

  const timeline = new Timeline(options.outputDir, print);
  const envs = profile.environments;
  print(
    `platform-actions sandbox · profile ${profile.name} · environments ${envs.join(' → ')} · output ${options.outputDir}`,
  );
  const result: SandboxResult = {
    profile: profile.name,
    environments: envs,
    ok: false,
    durationMs: 0,
    steps: timeline.steps,
    releases: [],
    deploys: [],
    state: [],
    notifications: [],
    problems: [],
    leaks: [],
    outputDir: options.outputDir,
  };

  const startedAt = timeline.now();
  const world = await World.start(timeline);
  timeline.add({
    kind: 'world',
    stage: 'Emulated cloud',
    title:
      'moto_server, AWS proxy (STS trust checks), OIDC issuer, GitHub REST stand-in (OpenAPI-checked), docker-registry',
    startedAt,
    durationMs: timeline.now() - startedAt,
    ok: true,
    facts: [
      `AWS ${world.proxy.url} → moto ${world.moto.endpoint}; GitHub ${world.github.url}; OIDC ${world.issuer.url}; registry ${world.registry.host}`,
    ],
  });
  const traffic = new Traffic(world, profile);
  let receiver: NotificationReceiver | undefined;
  const newRelease = (number: number, message: string): Release => {
    const sha = world.commit(message);
    const release: Release = { number, sha, run: world.run('release', 'push', sha), images: {} };
    result.releases.push(release);
    return release;
  };
  try {
    receiver = await NotificationReceiver.start(timeline, releaseNamer(result));
    world.secrets.add(receiver.url);
    const notify = `webhook=${receiver.url}`;
    protectEnvironments(world, envs);
    const account = await bootstrapAccount(world, envs);
    const release1 = newRelease(1, 'Open WebUI, gateway and MCP proxy: release 1');
    const [stacks] = await Promise.all([
      provisionStacks(world, envs, account, profile.planOnMain),
      buildRelease(world, release1),
    ]);
    for (const stack of stacks) traffic.start(stack);
    timeline.note(
      'Traffic',
      `synthetic ALB metrics into moto's CloudWatch every ${profile.tickMs / 1000}s per environment: ${profile.requests.web} open-webui requests split by the listener's weights, ${profile.requests.gateway} on the gateway.`,
    );

    const devDone = deferred();
    // freed[i]: release 1 has been promoted out of environment i (the next release may use it).
    const freed = stacks.map(() => deferred());
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
        const pauseAt = i === stacks.length - 1 ? profile.productionPauseAt : '';
        let outcome = await deployEnvironment(world, profile, {
          release: release1,
          stack,
          from,
          promoted: freed[i - 1]?.resolve,
          pauseAt,
          notify,
        });
        result.deploys.push(outcome);
        if (outcome.status === 'paused') {
          outcome = await approveAndResume(world, profile, release1, stack, outcome, notify);
          result.deploys.push(outcome);
        }
        from = { environment: stack.environment, healthySince: outcome.finishedAt };
        if (i === 0) devDone.resolve();
      }
    })();
    releaseOne.catch((err: unknown) => {
      devDone.reject(err);
      for (const f of freed) f.reject(err);
    });

    // Release 3 fixes release 2: dev, then staging, where its runner dies mid-canary.
    const releaseThree = async (dev: string) => {
      const release3 = newRelease(3, 'Open WebUI: release 2 fixed');
      await buildRelease(world, release3);
      const inDev = await deployEnvironment(world, profile, { release: release3, stack: stacks[0] as Stack, notify });
      result.deploys.push(inDev);
      await freed[1]?.promise;
      const staging = stacks[1] as Stack;
      const killed = await deployEnvironment(world, profile, {
        release: release3,
        stack: staging,
        from: { environment: dev, healthySince: inDev.finishedAt },
        killCanary: true,
        notify,
      });
      result.deploys.push(killed);
      result.killed = { release: 3, environment: staging.environment };
      timeline.note(
        'Release 3: deploy',
        `GitHub ends the job and the run as failed once it loses the runner; no post step, undo step or notification ran. open-webui's record still names run ${release3.run.runId}, now finished.`,
        staging.environment,
      );
      result.reconcile = await reconcileEnvironment(world, staging);
      timeline.note(
        'Reconcile (scheduled)',
        'reconcile restores the rollout the dead run left (open-webui); bedrock-access-gateway and mcpo keep release 3, which deployed fine, until the next deploy or the rollback workflow returns them.',
        staging.environment,
      );
    };
    // Release 2 is pushed once release 1 is live in dev; it may use dev once release 1
    // has been promoted out of it (concurrency is per environment, as in release.yml).
    const releaseTwo = (async () => {
      await devDone.promise;
      const release2 = newRelease(2, 'Open WebUI: release 2');
      await buildRelease(world, release2);
      await freed[0]?.promise;
      const outcome = await deployEnvironment(world, profile, {
        release: release2,
        stack: stacks[0] as Stack,
        breach: traffic,
        notify,
      });
      result.deploys.push(outcome);
      result.devAfterRelease2 = await readState(world, stacks[0] as Stack);
      const name = releaseNamer(result);
      timeline.note(
        'Release 2: deploy',
        `deploy-${envs[0]} failed, so release.yml skips ${envs.slice(1).join(' and ')}; ${envs[0]} now runs ${Object.entries(
          result.devAfterRelease2.live,
        )
          .map(([service, image]) => `${service} ${name(image)}`)
          .join(', ')} (on-failure: ${profile.onFailure}).`,
        envs[0],
      );
      const refused = await promoteRefused(world, profile, release2, envs[0] as string, envs[1] as string);
      result.refusal = refused.failure;
      if (profile.killAndReconcile) await releaseThree(envs[0] as string);
    })();
    await Promise.all([releaseOne, releaseTwo]);
    await (drift ?? checkDrift());
    result.dora = await doraReport(world, envs);

    result.state = await Promise.all(stacks.map((s) => readState(world, s)));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await traffic.stop();
    await receiver?.close();
    result.notifications = receiver?.received ?? [];
    result.problems = [...world.github.problems];
    result.leaks = world.leaks();
    for (const secret of world.secrets)
      if (secret.length >= 8 && JSON.stringify(result.notifications).includes(secret))
        result.leaks.push('a notification carried a secret');
    await world.stop();
  }
  result.durationMs = timeline.now();
  result.ok = !result.error && result.problems.length === 0 && result.leaks.length === 0;

  const footer = summaryLines(result);
  for (const line of ['', ...footer]) print(line);
  writeFileSync(
    join(options.outputDir, 'timeline.md'),
    timeline.markdown(
      `Sandbox run, profile ${profile.name}`,
      footer.map((l) => `    ${l}`),
    ),
  );
  writeFileSync(
    join(options.outputDir, 'result.json'),
    `${JSON.stringify({ ...result, deploys: result.deploys.map(({ services, ...d }) => ({ ...d, services: services.map(({ report: _report, ...s }) => s) })) }, null, 2)}\n`,
  );
  return result;
}
