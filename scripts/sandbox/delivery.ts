/**
 * The deploy jobs of release.yml: one per environment, bound to its GitHub Environment
 * (so its OIDC token names it, and the environment's gate applies), each running aws-auth
 * with that environment's role, promote from the previous environment (after the first),
 * and ecs-deploy for bedrock-access-gateway and mcpo (rolling) before open-webui (canary
 * on task sets), each recorded as a GitHub Deployment. Post steps run at the end of the
 * job, last step first, as the runner runs them.
 */
import { readFileSync } from 'node:fs';
import type { RolloutReport } from '../../src/delivery/report.js';
import type { StepResult } from '../../test/support/runner.js';
import type { Stack } from './infrastructure.js';
import type { Release } from './images.js';
import { analysisSpec, RELEASE_DEFAULTS, SERVICES, type Profile, type Service } from './profiles.js';
import { BREACH_ERROR_RATE, type Traffic } from './traffic.js';
import { OWNER, REGION, REPO, type World, type WorkflowRun } from './world.js';

export interface ServiceOutcome {
  service: Service;
  status: string;
  image: string;
  githubDeploymentId: number;
  report: RolloutReport;
}

export interface DeployOutcome {
  environment: string;
  release: number;
  /** What ecs-deploy reported per service, in deploy order (stops at a failed one). */
  services: ServiceOutcome[];
  finishedAt: number;
}

const shortDigest = (image: string) => {
  const at = image.indexOf('@sha256:');
  return at < 0 ? image : `${image.slice(0, at).split('/').pop()}@${image.slice(at + 1, at + 20)}…`;
};
const familyRevision = (arn: string | undefined) => (arn ?? '').split('/').pop() ?? '';

/** ecs-deploy reports the time from detection to 100% on stable to a tenth of a second. */
export const restoreText = (s: number | undefined) => (s === undefined ? '(not recorded)' : s < 0.1 ? 'within 0.1s' : `${s}s`);

function readReport(step: StepResult): RolloutReport | undefined {
  const path = step.outputs['analysis-report'];
  return path ? (JSON.parse(readFileSync(path, 'utf8')) as RolloutReport) : undefined;
}

/** The few facts of a rollout worth a line each. */
export function rolloutFacts(step: StepResult, world: World): string[] {
  const report = readReport(step);
  const facts = [`${step.outputs.status} (${step.outputs.engine}), ${familyRevision(step.outputs['previous-task-definition-arn'])} → ${familyRevision(step.outputs['task-definition-arn'])}, ${shortDigest(step.outputs.image ?? '')}`];
  if (report) {
    const weights = report.steps.map((s) => (s.confirmed ? `${s.confirmed.canary}%${s.analysis ? ` ${s.analysis.verdict}` : ''}` : `${s.weight}% not reached`));
    if (report.engine === 'ecs-task-set') facts.push(`weights confirmed on the listener (new side): ${weights.join(' → ')}`);
    else if (report.steps.some((s) => s.analysis)) facts.push(`bake after the switch: ${report.steps.map((s) => s.analysis?.verdict ?? 'not judged').join(', ')}`);
    if (report.failure) {
      facts.push(`rollback: ${report.failure.trigger} at ${report.failure.detectedAt.slice(11, 19)}Z, traffic back on stable ${restoreText(report.failure.recoverySeconds)} after detection`);
    }
  }
  const id = Number(step.outputs['github-deployment-id']);
  const deployment = world.repo.deployments.get(id);
  if (deployment) facts.push(`GitHub Deployment #${id}: ${deployment.statuses.map((s) => s.state).join(' → ')}`);
  return facts;
}

function serviceInputs(profile: Profile, service: Service): Record<string, string> {
  if (service === 'open-webui') {
    return { strategy: 'canary', steps: profile.canary.steps, 'step-duration': profile.canary.stepDuration, analysis: analysisSpec(profile.canary.failureLimit, 50) };
  }
  if (service === 'bedrock-access-gateway' && profile.gatewayBake !== '0s') {
    return { strategy: 'rolling', 'step-duration': profile.gatewayBake, analysis: analysisSpec(1, 20) };
  }
  // mcpo has no load balancer, so no ALB metrics to judge: a plain rolling update.
  return { strategy: 'rolling', 'step-duration': '0s', analysis: 'none' };
}

/**
 * The deployment GitHub itself records for a job bound to an environment (no payload of
 * ours): the sandbox plays GitHub here. Our actions must leave it out of every judgement.
 */
function environmentDeployment(world: World, run: WorkflowRun, environment: string) {
  const store = world.github.store;
  const d = store.createDeployment(OWNER, REPO, { environment, sha: run.sha, ref: 'main', payload: '', description: null });
  store.addDeploymentStatus(OWNER, REPO, d.id, { state: 'in_progress', log_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.runId}` });
  return (state: 'success' | 'failure') => store.addDeploymentStatus(OWNER, REPO, d.id, { state, log_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.runId}` });
}

export interface DeployRequest {
  release: Release;
  stack: Stack;
  /** Promote from this environment first (every environment after the first). */
  from?: { environment: string; healthySince: number };
  /** When set, open-webui's canary target group answers 5xx while it bakes. */
  breach?: Traffic;
  /** Told when the promote steps are done (the source environment may change again). */
  promoted?: () => void;
}

export async function deployEnvironment(world: World, profile: Profile, request: DeployRequest): Promise<DeployOutcome> {
  const { release, stack } = request;
  const environment = stack.environment;
  const stage = `Release ${release.number}: deploy`;
  const meta = { stage, environment, release: release.number };
  if (request.from) {
    world.timeline.note(stage, `deploy-${environment} is bound to the ${environment} environment: its required reviewers are auto-approved in the sandbox.`, environment);
  }
  const job = world.job(release.run, `deploy-${environment}`, { environment });
  const github = environmentDeployment(world, release.run, environment);
  const posts: Array<{ step: StepResult; title: string }> = [];
  const outcome: DeployOutcome = { environment, release: release.number, services: [], finishedAt: 0 };
  let failed = false;
  try {
    const auth = await world.step(
      job,
      'aws-auth',
      { 'role-to-assume': stack.roleArn, 'aws-region': REGION },
      { ...meta, title: `aws-auth ${stack.roleArn.split('/').pop()}` },
      { facts: (s) => [`${s.outputs['aws-assumed-role-arn']}, from a token with sub repo:${OWNER}/${REPO}:environment:${environment}`] },
    );
    posts.push({ step: auth, title: 'aws-auth' });

    const images: Partial<Record<Service, string>> = {};
    if (request.from) {
      const wait = request.from.healthySince + parseSeconds(profile.minSoak) * 1000 + 500 - Date.now();
      world.timeline.note(stage, `min-soak shortened to ${profile.minSoak} (release.yml: ${RELEASE_DEFAULTS.minSoak})${wait > 0 ? `; waiting ${(wait / 1000).toFixed(1)}s for it` : ''}.`, environment);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (const service of SERVICES) {
        const promoted = await world.step(
          job,
          'promote',
          { 'from-environment': request.from.environment, 'to-environment': environment, service, image: release.images[service] as string, 'min-soak': profile.minSoak, 'github-token': world.github.token },
          { ...meta, title: `promote ${service} from ${request.from.environment}` },
          { facts: (s) => [`${shortDigest(s.outputs.image ?? '')} healthy in ${request.from?.environment} (deployment #${s.outputs['source-deployment-id']}) → queued #${s.outputs['deployment-id']} in ${environment}`] },
        );
        images[service] = promoted.outputs.image;
      }
    } else {
      Object.assign(images, release.images);
    }
    request.promoted?.();

    for (const service of SERVICES) {
      const breaching = service === 'open-webui' && request.breach ? await request.breach.idleTargetGroup(stack) : undefined;
      if (breaching) {
        request.breach?.breach(breaching);
        world.timeline.note(stage, `5xx injected: the canary's target group ${breaching.split(':').pop()?.split('/')[1]} answers ${BREACH_ERROR_RATE * 100}% 5xx in its ALB metrics.`, environment);
      }
      const step = await world.step(
        job,
        'ecs-deploy',
        {
          cluster: stack.cluster,
          service,
          'container-name': service,
          image: images[service] as string,
          'wait-timeout': '5m',
          environment,
          'github-token': world.github.token,
          ...serviceInputs(profile, service),
        },
        { ...meta, title: `ecs-deploy ${service}` },
        { expect: breaching ? 'failure' : 'success', facts: (s) => rolloutFacts(s, world) },
      ).finally(() => breaching && request.breach?.heal(breaching));
      posts.push({ step, title: `ecs-deploy ${service}` });
      const report = readReport(step);
      if (report) outcome.services.push({ service, status: step.outputs.status as string, image: step.outputs.image as string, githubDeploymentId: Number(step.outputs['github-deployment-id']), report });
      if (step.exitCode !== 0) {
        failed = true;
        break;
      }
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const { step, title } of posts.reverse()) await world.step(job, step.action, {}, { ...meta, title }, { post: step });
    github(failed ? 'failure' : 'success');
    outcome.finishedAt = Date.now();
  }
  return outcome;
}

/** A manual promote.yml run: must refuse a digest whose rollout failed in the source. */
export async function promoteRefused(world: World, profile: Profile, release: Release, from: string, to: string): Promise<StepResult> {
  const run = world.run('promote', 'workflow_dispatch', world.repo.branches.get('main') as string);
  const job = world.job(run, 'promote', { environment: to });
  return world.step(
    job,
    'promote',
    { 'from-environment': from, 'to-environment': to, service: 'open-webui', image: release.images['open-webui'] as string, 'min-soak': profile.minSoak, 'github-token': world.github.token },
    { stage: `Release ${release.number}: promote.yml (manual)`, environment: to, release: release.number, title: `promote open-webui from ${from}: refused` },
    { expect: 'failure' },
  );
}

export function parseSeconds(text: string): number {
  const m = /^(\d+)(s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration in seconds or minutes: ${text}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}
