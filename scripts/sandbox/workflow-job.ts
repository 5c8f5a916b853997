/**
 * deploy-ecs.yml run as its file says, on the sandbox's runner: the plan job's script, then
 * the deploy job's steps in order. Each `if:`, `with:` and `env:` is evaluated by GitHub's
 * expression evaluator (test/support/expressions.ts), each `run:` step by bash
 * (test/support/workflow-steps.ts: the environment gate, the failed-service finder, the
 * summary), each `uses:` step is the bundled action in dist/ (actions/checkout is skipped:
 * the job's workspace stands for the checkout). Post steps run at the end, last first, as
 * the runner runs them. The undo steps of `on-failure: rollback-release` and the notify step
 * are therefore the workflow's own, not the sandbox's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { condition, renderAll } from '../../test/support/expressions.js';
import { ROOT, type Job, type StepResult } from '../../test/support/runner.js';
import {
  callInputs,
  loadWorkflow,
  runScriptStepAsync,
  stepOf,
  type ScriptResult,
  type WorkflowStep,
} from '../../test/support/workflow-steps.js';
import { OWNER, REPO, SandboxError, type StepMeta, type World, type WorkflowRun } from './world.js';

type Outcome = 'success' | 'failure' | 'cancelled' | 'skipped';
interface StepContext {
  outcome: Outcome;
  conclusion: Outcome;
  outputs: Record<string, string>;
}

/** What the caller decides for one deploy step (by service): how it must end, whether the runner dies in it. */
export interface DeployStepPlan {
  expect?: 'success' | 'failure';
  killAt?: RegExp;
  /** Called when the step has ended (e.g. to heal an injected breach). */
  after?: () => void;
}

export interface DeployJobCall {
  run: WorkflowRun;
  /** deploy-ecs.yml's workflow_call inputs (defaults filled from the file). */
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  meta: Omit<StepMeta, 'title'>;
  deploy: (service: string) => Promise<DeployStepPlan>;
  /** Key facts of an action step's result. */
  facts: (action: string, step: StepResult) => string[];
  /** Names a commit in the scripts' lines (the summary prints the release as a commit). */
  describe: (text: string) => string;
}

export interface DeployJobResult {
  /** Every action step that ran, in order, with the workflow step id. */
  actions: Array<{ id: string; action: string; with: Record<string, string>; step: StepResult }>;
  /** The deploy job's outputs, as the workflow maps them (status, statuses, releases, mixed, gate...). */
  outputs: Record<string, string>;
  gate?: ScriptResult;
  summary?: ScriptResult;
  /** The runner died (SIGKILL): nothing after that step ran, no post step. */
  killed: boolean;
}

const FILE = 'deploy-ecs.yml';
const actionName = (uses: string) => /^org\/platform-actions\/actions\/([^@/]+)@/.exec(uses)?.[1];
const hasPost = (action: string) => {
  const file = join(ROOT, 'actions', action, 'action.yml');
  return existsSync(file) && Boolean((parse(readFileSync(file, 'utf8')) as { runs?: { post?: string } }).runs?.post);
};

/** Runs a `run:` step and records it (the summary it wrote is saved like an action's). */
async function script(
  world: World,
  step: WorkflowStep,
  contexts: Record<string, unknown>,
  meta: StepMeta,
  record: boolean,
  describe: (text: string) => string = (t) => t,
): Promise<ScriptResult> {
  const startedAt = world.timeline.now();
  const ran = await runScriptStepAsync(step, contexts, {
    GITHUB_API_URL: world.github.env().GITHUB_API_URL ?? world.github.url,
  });
  const lines = ran.log
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.replace(/\b[0-9a-f]{40}\b/g, describe));
  const error = lines.find((l) => l.startsWith('::error'))?.replace(/^::error[^:]*::/, '');
  if (record || ran.status !== 0) {
    world.timeline.add(
      {
        kind: 'action',
        ...meta,
        startedAt,
        durationMs: world.timeline.now() - startedAt,
        ok: ran.status === 0,
        facts: error ? [error] : lines.filter((l) => !l.startsWith('::')).slice(-1),
      },
      ran.summary,
    );
  }
  return ran;
}

export async function runDeployJob(world: World, job: Job, call: DeployJobCall): Promise<DeployJobResult> {
  const doc = loadWorkflow(FILE);
  const inputs = callInputs(doc, call.inputs);
  const github = {
    token: world.github.token,
    repository: `${OWNER}/${REPO}`,
    sha: call.run.sha,
    run_id: call.run.runId,
    server_url: 'https://github.com',
    event_name: call.run.event,
  };
  const plan = await script(
    world,
    stepOf(doc.jobs.plan!, 'plan'),
    { inputs, github },
    { ...call.meta, title: `${FILE} plan: check and resolve the services list` },
    false,
  );
  if (plan.status !== 0) throw new SandboxError(`${FILE}'s plan job refused the sandbox's services list:\n${plan.log}`);
  const needs = { plan: { result: 'success', outputs: plan.outputs } };
  const deployJob = doc.jobs.deploy!;
  const env = renderAll((deployJob as { env?: Record<string, unknown> }).env, {
    inputs,
    secrets: call.secrets,
    github,
  });
  const steps: Record<string, StepContext> = {};
  const result: DeployJobResult = { actions: [], outputs: {}, killed: false };
  let status: 'success' | 'failure' = 'success';

  for (const step of deployJob.steps ?? []) {
    const contexts = { inputs, needs, github, steps, secrets: call.secrets, env };
    const runs = condition(step.if, contexts, status);
    let outcome: Outcome = 'skipped';
    let outputs: Record<string, string> = {};
    if (runs && step.run !== undefined) {
      const ran = await script(
        world,
        step,
        contexts,
        { ...call.meta, title: `${FILE}: ${step.name ?? step.id}` },
        step.id !== 'failed',
        call.describe,
      );
      if (step.id === 'gate') result.gate = ran;
      if (step.id === 'summary') result.summary = ran;
      outcome = ran.status === 0 ? 'success' : 'failure';
      outputs = ran.outputs;
    } else if (runs && step.uses) {
      const action = actionName(step.uses);
      if (action) {
        const w = renderAll(step.with, contexts);
        const deploying = action === 'ecs-deploy';
        const decided: DeployStepPlan = deploying ? await call.deploy(w.service as string) : {};
        const title = deploying
          ? `ecs-deploy ${w.service}`
          : action === 'rollback'
            ? `rollback ${w.service} (${step.id}: on-failure rollback-release)`
            : action === 'aws-auth'
              ? `aws-auth ${w['role-to-assume']?.split('/').pop()}`
              : action;
        const ran = await world
          .step(
            job,
            action,
            w,
            { ...call.meta, title },
            { expect: decided.expect, killAt: decided.killAt, facts: (s) => call.facts(action, s) },
          )
          .finally(() => decided.after?.());
        result.actions.push({ id: step.id ?? action, action, with: w, step: ran });
        if (decided.killAt) {
          result.killed = true;
          return result;
        }
        outcome = ran.exitCode === 0 ? 'success' : 'failure';
        outputs = ran.outputs;
      } else {
        outcome = 'success'; // actions/checkout: the job's workspace is the checkout
      }
    }
    if (outcome === 'failure') status = 'failure';
    if (step.id) steps[step.id] = { outcome, conclusion: outcome, outputs };
  }

  for (const { action, with: w, step } of [...result.actions].reverse()) {
    if (hasPost(action))
      await world.step(
        job,
        action,
        {},
        { ...call.meta, title: action === 'ecs-deploy' ? `ecs-deploy ${w.service}` : action },
        { post: step },
      );
  }
  result.outputs = renderAll(deployJob.outputs, { steps });
  return result;
}
