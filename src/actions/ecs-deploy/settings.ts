import { resolveRegion } from '../../aws/client.js';
import type { StrategyInput } from '../../aws/ecs-engine.js';
import { checkImage } from '../../aws/task-definition.js';
import { buildPlan, STRATEGIES } from '../../delivery/plan.js';
import { jobLimit, type TimeLimit } from '../../delivery/time-budget.js';
import { readRecordSettings } from '../../github/deployment-record.js';
import { inputs } from '../../github/inputs.js';
import { parseCommand } from '../../aws/run-task-input.js';
import { readPauseSettings } from '../../github/pause-inputs.js';
import { UserError } from '../../util/errors.js';
import { checkSmokeUrl } from '../../analysis/smoke.js';

/** Everything ecs-deploy needs to know, checked before anything touches AWS. */
export interface Settings {
  region: string;
  cluster: string;
  service: string;
  taskDefinition: string | undefined;
  containerName: string | undefined;
  image: string | undefined;
  images: Array<{ container: string; image: string }>;
  environmentVariables: Array<{ name: string; value: string }>;
  strategy: StrategyInput;
  steps: string;
  stepDurationMs: number;
  analysis: string;
  prometheusUrl: string | undefined;
  listenerArn: string | undefined;
  listenerRuleArn: string | undefined;
  targetGroups: string[];
  alarms: string[];
  waitTimeoutMs: number;
  /** The job's time limit (job-timeout, else 360 min assumed) the plan must fit in. */
  jobLimit: TimeLimit & { assumed: boolean };
  rollbackOnFailure: boolean;
  dryRun: boolean;
  /** A one-off task run to completion before the rollout changes anything (pre-deploy*). */
  preDeploy: PreDeploySettings | undefined;
  /** Where the smoke checks go (overrides the spec's smoke.url). */
  smokeUrl: string | undefined;
  /** The listener that gets the smoke rule; default the route's. */
  smokeListenerArn: string | undefined;
  /** Roll out even when nothing would change. */
  force: boolean;
  /** Let a production deploy use tag-only images. */
  allowTag: boolean;
  /** Continue the paused rollout on the service instead of starting one. */
  resume: boolean;
  /** How long a pause step holds the canary for a resume (then the reconciler rolls it back). */
  pauseTimeoutMs: number;
  environment: string | undefined;
  githubToken: string | undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function pairs(name: string, lines: string[], separator: string, example: string): Array<[string, string]> {
  return lines.map((line) => {
    const at = line.indexOf(separator);
    if (at <= 0)
      throw new UserError(
        `Input '${name}' has '${line}', which is not ${example.split(separator)[0]}${separator}value.`,
        `Write one per line, e.g. ${example}.`,
      );
    return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
  });
}

export function readRegion(): string {
  return resolveRegion(inputs.string('aws-region'));
}

export interface PreDeploySettings {
  command: string[] | undefined;
  taskDefinition: string | undefined;
  timeoutMs: number;
}

function readPreDeploy(): PreDeploySettings | undefined {
  const command = parseCommand(inputs.string('pre-deploy'), "Input 'pre-deploy'");
  const taskDefinition = inputs.string('pre-deploy-task-definition');
  if (
    taskDefinition &&
    !/^(arn:[^:]+:ecs:[^:]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}(:\d+)?$/.test(taskDefinition)
  ) {
    throw new UserError(
      `pre-deploy-task-definition '${taskDefinition}' is not a family, family:revision or task definition ARN.`,
      'For example open-webui-migrate:3; leave it empty to run pre-deploy in the new revision.',
    );
  }
  const timeoutMs = inputs.duration('pre-deploy-timeout', '30m');
  return command || taskDefinition ? { command, taskDefinition, timeoutMs } : undefined;
}

/** Reads and checks every input before anything touches AWS. */
export function readSettings(): Settings {
  const cluster = inputs.required('cluster');
  const service = inputs.required('service');
  const region = readRegion();
  const strategy = inputs.choice('strategy', ['auto', ...STRATEGIES], 'auto');
  const steps = inputs.string('steps', '');
  const stepDurationMs = inputs.duration('step-duration', '5m');
  // With an explicit strategy the steps are checked now; with auto once the engine is known.
  if (strategy !== 'auto') buildPlan({ strategy, steps, stepDurationMs });

  const containerName = inputs.string('container-name');
  const imageInput = inputs.string('image');
  const image = imageInput === undefined ? undefined : checkImage(imageInput, "Input 'image'");
  const images = pairs('images', inputs.lines('images'), '=', 'web=ghcr.io/acme/web@sha256:...').map(
    ([container, img]) => ({
      container,
      image: checkImage(img, `Input 'images' (${container})`),
    }),
  );
  const environmentVariables = pairs(
    'environment-variables',
    inputs.lines('environment-variables'),
    '=',
    'LOG_LEVEL=info',
  ).map(([name, value]) => {
    if (!ENV_NAME.test(name))
      throw new UserError(
        `Input 'environment-variables' has '${name}', which is not a variable name.`,
        'Names are letters, digits and _, not starting with a digit.',
      );
    return { name, value };
  });

  const listenerArn = inputs.string('listener-arn');
  const listenerRuleArn = inputs.string('listener-rule-arn');
  if (listenerArn && listenerRuleArn) {
    throw new UserError(
      'Both listener-arn and listener-rule-arn are set.',
      'Give the one whose forward action sends the service its traffic: a rule when the service is one path or host of the listener.',
    );
  }
  if (
    listenerArn &&
    !/^arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:listener\/app\/[^/]+\/[^/]+\/[^/]+$/.test(listenerArn)
  ) {
    throw new UserError(
      `listener-arn '${listenerArn}' is not an ALB listener ARN.`,
      'It looks like arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/LB_ID/LISTENER_ID.',
    );
  }
  if (
    listenerRuleArn &&
    !/^arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:listener-rule\/app\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/.test(
      listenerRuleArn,
    )
  ) {
    throw new UserError(
      `listener-rule-arn '${listenerRuleArn}' is not an ALB listener rule ARN.`,
      'It looks like arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/LB_ID/LISTENER_ID/RULE_ID.',
    );
  }
  const targetGroups = inputs.list('target-groups');
  if (targetGroups.length > 0) {
    if (targetGroups.length !== 2)
      throw new UserError(
        `target-groups names ${targetGroups.length} target group(s); task sets alternate between two.`,
        'Write the two target group ARNs: blue,green.',
      );
    for (const tg of targetGroups) {
      if (!/^arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:targetgroup\/[^/]+\/[0-9a-f]+$/.test(tg)) {
        throw new UserError(
          `target-groups has '${tg}', which is not a target group ARN.`,
          'It looks like arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID.',
        );
      }
    }
    if (targetGroups[0] === targetGroups[1])
      throw new UserError(
        'target-groups names the same target group twice.',
        'Write the two target groups the task sets alternate between.',
      );
  }

  const prometheusUrl = inputs.string('prometheus-url');
  if (prometheusUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(prometheusUrl)) {
    throw new UserError(
      `prometheus-url '${prometheusUrl}' is not an http(s) URL.`,
      'Give the base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
    );
  }

  const smokeUrlInput = inputs.string('smoke-url');
  const smokeUrl = smokeUrlInput === undefined ? undefined : checkSmokeUrl(smokeUrlInput, "Input 'smoke-url'");
  const smokeListenerArn = inputs.string('smoke-listener-arn');
  if (
    smokeListenerArn &&
    !/^arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:listener\/app\/[^/]+\/[^/]+\/[^/]+$/.test(smokeListenerArn)
  ) {
    throw new UserError(
      `smoke-listener-arn '${smokeListenerArn}' is not an ALB listener ARN.`,
      'It looks like arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/LB_ID/LISTENER_ID.',
    );
  }

  const { environment, githubToken } = readRecordSettings();
  const { resume, pauseTimeoutMs } = readPauseSettings();
  if (resume && !image && images.length === 0 && !inputs.string('task-definition')) {
    throw new UserError(
      'resume is true, but neither image, images nor task-definition says what the paused canary must run.',
      'Give the same image (or task-definition) as the deploy that paused it: the resume then continues exactly what was approved, and refuses anything else.',
    );
  }

  return {
    region,
    cluster,
    service,
    taskDefinition: inputs.string('task-definition'),
    containerName,
    image,
    images,
    environmentVariables,
    strategy,
    steps,
    stepDurationMs,
    analysis: inputs.string('analysis', ''),
    prometheusUrl,
    listenerArn,
    listenerRuleArn,
    targetGroups,
    alarms: inputs.list('alarms'),
    waitTimeoutMs: inputs.duration('wait-timeout', '30m'),
    jobLimit: jobLimit(inputs.string('job-timeout')),
    rollbackOnFailure: inputs.boolean('rollback-on-failure', true),
    dryRun: inputs.boolean('dry-run', false),
    preDeploy: readPreDeploy(),
    smokeUrl,
    smokeListenerArn,
    force: inputs.boolean('force', false),
    allowTag: inputs.boolean('allow-tag', false),
    resume,
    pauseTimeoutMs,
    environment,
    githubToken,
  };
}
