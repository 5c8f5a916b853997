/**
 * The deploy jobs of release.yml: one per environment, bound to its GitHub Environment
 * (so its OIDC token names it, and the environment's gate applies). After the first
 * environment, a promote job checks each service's digest in the previous one. Then
 * deploy-ecs.yml runs as its file says (workflow-job.ts): the environment gate, aws-auth
 * with that environment's role, ecs-deploy for bedrock-access-gateway and mcpo (rolling)
 * before open-webui (canary on task sets), the undo steps when one fails, the summary, the
 * notification, post steps last first. Each rollout is recorded as a GitHub Deployment.
 */
import { readFileSync } from 'node:fs';
import type { RolloutReport } from '../../src/delivery/report.js';
import type { StepResult } from '../../test/support/runner.js';
import type { Stack } from './infrastructure.js';
import type { Release } from './images.js';
import { analysisSpec, RELEASE_DEFAULTS, SERVICES, type Profile, type Service } from './profiles.js';
import { BREACH_ERROR_RATE, type Traffic } from './traffic.js';
import { setWorkflowRun } from '../../test/support/github-server.js';
import { runDeployJob } from './workflow-job.js';
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
  /** deploy-ecs.yml's job outputs: status, each service's status and the release it runs at the end. */
  status: string;
  statuses: Record<string, string>;
  releases: Record<string, string>;
  /** The environment gate's verdict: gated, ungated or not-required. */
  gate: string;
  /** Services returned to what ran before by the undo steps (on-failure: rollback-release), in order. */
  undone: string[];
  notified: boolean;
}

const shortDigest = (image: string) => {
  const at = image.indexOf('@sha256:');
  return at < 0 ? image : `${image.slice(0, at).split('/').pop()}@${image.slice(at + 1, at + 20)}…`;
};
const familyRevision = (arn: string | undefined) => (arn ?? '').split('/').pop() ?? '';

/** ecs-deploy reports the time from detection to 100% on stable to a tenth of a second. */
export const restoreText = (s: number | undefined) =>
  s === undefined ? '(not recorded)' : s < 0.1 ? 'within 0.1s' : `${s}s`;

function readReport(step: StepResult): RolloutReport | undefined {
  const path = step.outputs['analysis-report'];
  return path ? (JSON.parse(readFileSync(path, 'utf8')) as RolloutReport) : undefined;
}

/** The few facts of a rollout worth a line each. */
export function rolloutFacts(step: StepResult, world: World): string[] {
  const report = readReport(step);
  const facts = [
    `${step.outputs.status} (${step.outputs.engine}), ${familyRevision(step.outputs['previous-task-definition-arn'])} → ${familyRevision(step.outputs['task-definition-arn'])}, ${shortDigest(step.outputs.image ?? '')}`,
  ];
  if (step.log.includes('Resuming the paused canary rollout'))
    facts.push('resumed from the record the paused job left, in a new process: no new task definition or task set');
  if (report) {
    const weights = report.steps.map((s) =>
      s.confirmed ? `${s.confirmed.canary}%${s.analysis ? ` ${s.analysis.verdict}` : ''}` : `${s.weight}% not reached`,
    );
    if (report.engine === 'ecs-task-set')
      facts.push(`weights confirmed on the listener (new side): ${weights.join(' → ')}`);
    else if (report.steps.some((s) => s.analysis))
      facts.push(`bake after the switch: ${report.steps.map((s) => s.analysis?.verdict ?? 'not judged').join(', ')}`);
    if (report.failure) {
      facts.push(
        `rollback: ${report.failure.trigger} at ${report.failure.detectedAt.slice(11, 19)}Z, traffic back on stable ${restoreText(report.failure.recoverySeconds)} after detection`,
      );
    }
  }
  const id = Number(step.outputs['github-deployment-id']);
  const deployment = world.repo.deployments.get(id);
  if (deployment) facts.push(`GitHub Deployment #${id}: ${deployment.statuses.map((s) => s.state).join(' → ')}`);
  return facts;
}

function serviceInputs(profile: Profile, service: Service): Record<string, string> {
  if (service === 'open-webui') {
    return {
      strategy: 'canary',
      steps: profile.canary.steps,
      'step-duration': profile.canary.stepDuration,
      analysis: analysisSpec(profile.canary.failureLimit, 50),
    };
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
  const d = store.createDeployment(OWNER, REPO, {
    environment,
    sha: run.sha,
    ref: 'main',
    payload: '',
    description: null,
  });
  store.addDeploymentStatus(OWNER, REPO, d.id, {
    state: 'in_progress',
    log_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.runId}`,
  });
  return (state: 'success' | 'failure') =>
    store.addDeploymentStatus(OWNER, REPO, d.id, {
      state,
      log_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.runId}`,
    });
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
  /** deploy-ecs.yml's pause-at: the canary pauses at this weight for a later resume. */
  pauseAt?: string;
  /** deploy-ecs.yml called again with resume: true (release.yml's production resume job). */
  resume?: boolean;
  /** The runner is SIGKILLed in open-webui's canary once its first step is confirmed. */
  killCanary?: boolean;
  /** The `notify` secret (the receiver's URL). */
  notify?: string;
}

function serviceFacts(world: World, environment: string, action: string, step: StepResult): string[] {
  if (step.signal)
    return [
      `the runner died (${step.signal}) with the canary at its first step: no post step, no undo, no summary, nothing more of this job`,
    ];
  if (action === 'ecs-deploy') return rolloutFacts(step, world);
  if (action === 'aws-auth')
    return [
      `${step.outputs['aws-assumed-role-arn']}, from a token with sub repo:${OWNER}/${REPO}:environment:${environment}`,
    ];
  if (action === 'rollback')
    return [`${step.outputs.status}, back on ${familyRevision(step.outputs['rolled-back-to'])}`];
  if (action === 'notify') return [`sent to ${step.outputs.sent ?? 0} target(s), ${step.outputs.failed ?? 0} failed`];
  return [];
}

export async function deployEnvironment(
  world: World,
  profile: Profile,
  request: DeployRequest,
): Promise<DeployOutcome> {
  const { release, stack } = request;
  const environment = stack.environment;
  const stage = `Release ${release.number}: ${request.resume ? 'resume' : 'deploy'}`;
  const meta = { stage, environment, release: release.number };
  const images: Partial<Record<Service, string>> = { ...release.images };
  if (request.from) {
    const promoteJob = world.job(release.run, `promote-${environment}`, { environment });
    const wait = request.from.healthySince + parseSeconds(profile.minSoak) * 1000 + 500 - Date.now();
    world.timeline.note(
      stage,
      `min-soak shortened to ${profile.minSoak} (release.yml: ${RELEASE_DEFAULTS.minSoak})${wait > 0 ? `; waiting ${(wait / 1000).toFixed(1)}s for it` : ''}.`,
      environment,
    );
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const service of SERVICES) {
      const promoted = await world.step(
        promoteJob,
        'promote',
        {
          'from-environment': request.from.environment,
          'to-environment': environment,
          service,
          image: release.images[service] as string,
          'min-soak': profile.minSoak,
          'github-token': world.github.token,
        },
        { ...meta, title: `promote ${service} from ${request.from.environment}` },
        {
          facts: (s) => [
            `${shortDigest(s.outputs.image ?? '')} healthy in ${request.from?.environment} (deployment #${s.outputs['source-deployment-id']}) → queued #${s.outputs['deployment-id']} in ${environment}`,
          ],
        },
      );
      images[service] = promoted.outputs.image;
    }
  }
  request.promoted?.();
  if (request.from || request.resume) {
    world.timeline.note(
      stage,
      `the deploy job is bound to the ${environment} environment: its required reviewers are auto-approved in the sandbox.`,
      environment,
    );
  }

  const job = world.job(release.run, request.resume ? `${environment}-resume` : `deploy-${environment}`, {
    environment,
  });
  const github = environmentDeployment(world, release.run, environment);
  const entries = SERVICES.map((service) => ({
    service,
    'container-name': service,
    image: images[service] as string,
    'wait-timeout': '5m',
    ...serviceInputs(profile, service),
  }));
  const ran = await runDeployJob(world, job, {
    run: release.run,
    inputs: {
      environment,
      services: JSON.stringify(entries),
      cluster: stack.cluster,
      'aws-region': REGION,
      'role-to-assume': stack.roleArn,
      'on-failure': profile.onFailure,
      'pause-at': request.pauseAt ?? '',
      resume: request.resume ?? false,
    },
    secrets: request.notify ? { notify: request.notify } : {},
    meta,
    facts: (action, step) => serviceFacts(world, environment, action, step),
    describe: (text) => (text === release.sha ? `release ${release.number}` : text),
    deploy: async (service) => {
      if (service !== 'open-webui') return {};
      if (request.killCanary) return { expect: 'failure', killAt: /Step 1\/\d+: \d+% on the new version/ };
      const breaching = request.breach ? await request.breach.idleTargetGroup(stack) : undefined;
      if (!breaching) return {};
      request.breach?.breach(breaching);
      world.timeline.note(
        stage,
        `5xx injected: the canary's target group ${breaching.split(':').pop()?.split('/')[1]} answers ${BREACH_ERROR_RATE * 100}% 5xx in its ALB metrics.`,
        environment,
      );
      return { expect: 'failure', after: () => request.breach?.heal(breaching) };
    },
  });
  if (ran.killed) {
    // GitHub notices the lost runner and ends the job, and with it the run, as failed.
    setWorkflowRun(world.github.store, OWNER, REPO, Number(release.run.runId), {
      status: 'completed',
      conclusion: 'failure',
    });
  }
  github(ran.outputs.status === 'succeeded' || ran.outputs.status === 'paused' ? 'success' : 'failure');
  const services: ServiceOutcome[] = [];
  for (const { action, with: w, step } of ran.actions) {
    const report = action === 'ecs-deploy' && step.phase === 'main' ? readReport(step) : undefined;
    if (report)
      services.push({
        service: w.service as Service,
        status: step.outputs.status as string,
        image: step.outputs.image as string,
        githubDeploymentId: Number(step.outputs['github-deployment-id']),
        report,
      });
  }
  const json = (text: string | undefined) => (text ? (JSON.parse(text) as Record<string, string>) : {});
  return {
    environment,
    release: release.number,
    services,
    finishedAt: Date.now(),
    status: ran.killed ? 'killed' : (ran.outputs.status ?? ''),
    statuses: json(ran.outputs.statuses),
    releases: json(ran.outputs.releases),
    gate: ran.outputs.gate ?? '',
    undone: ran.actions.filter((a) => a.action === 'rollback').map((a) => a.with.service as string),
    notified: ran.actions.some((a) => a.action === 'notify'),
  };
}

/** A manual promote.yml run: must refuse a digest whose rollout failed in the source. */
export async function promoteRefused(
  world: World,
  profile: Profile,
  release: Release,
  from: string,
  to: string,
): Promise<StepResult> {
  const run = world.run('promote', 'workflow_dispatch', world.repo.branches.get('main') as string);
  const job = world.job(run, 'promote', { environment: to });
  return world.step(
    job,
    'promote',
    {
      'from-environment': from,
      'to-environment': to,
      service: 'open-webui',
      image: release.images['open-webui'] as string,
      'min-soak': profile.minSoak,
      'github-token': world.github.token,
    },
    {
      stage: `Release ${release.number}: promote.yml (manual)`,
      environment: to,
      release: release.number,
      title: `promote open-webui from ${from}: refused`,
    },
    { expect: 'failure' },
  );
}

export function parseSeconds(text: string): number {
  const m = /^(\d+)(s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration in seconds or minutes: ${text}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}
