/**
 * Strategy and steps → a plan: which weights, and how long each is judged. Every mistake
 * is a UserError naming the input, raised before anything is changed.
 */
import { formatDuration, parseDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import type { RolloutPlan, Step, Strategy } from './types.js';

export const STRATEGIES: readonly Strategy[] = ['rolling', 'blue-green', 'canary', 'linear'];

/** Default weights per strategy when `steps` is empty. */
export const DEFAULT_STEPS: Record<Strategy, readonly number[]> = {
  rolling: [100],
  'blue-green': [100],
  canary: [10, 50, 100],
  linear: [25, 50, 75, 100],
};

export interface PlanInput {
  strategy: Strategy;
  /**
   * The `steps` input: weights separated by commas or spaces (`10,50,100`), each optionally
   * with its own bake (`10:2m,50:10m,100`) and an optional `%`. For linear, one weight below
   * 100 is the increment (`20` = 20,40,60,80,100). Empty: the strategy's default. A step
   * may pause after its bake (`25:pause`, or `25:10m:pause` with its own bake): the job
   * then ends with the canary held there until a later job resumes it.
   */
  steps: string;
  /** Default bake per step (the `step-duration` input), in ms. */
  stepDurationMs: number;
  /** Name of the steps input in messages. Default `steps`. */
  inputName?: string;
}

const STEP = /^(\d+(?:\.\d+)?)%?(?::(.+?))?(?::(pause))?$/i;

/**
 * Builds the plan. Canary and linear bake after every step but the last (reaching 100% is
 * the promotion); blue-green and rolling bake after the switch, while the previous version
 * is still there to return to.
 */
export function buildPlan(input: PlanInput): RolloutPlan {
  const name = input.inputName ?? 'steps';
  const text = input.steps.trim();
  const items = text === '' ? DEFAULT_STEPS[input.strategy].map(String) : text.split(/[\s,]+/).filter(Boolean);
  const parsed = items.map((item) => parseItem(item, name));

  if (input.strategy === 'linear' && parsed.length === 1 && (parsed[0] as Parsed).weight < 100) {
    const { weight: increment, bakeMs, pause } = parsed[0] as Parsed;
    if (pause) {
      throw new UserError(
        `Input '${name}' (${text}) is a linear increment with a pause, so it is not clear at which weight to pause.`,
        `Write the weights out and mark the one to pause at, e.g. ${[increment, 2 * increment]
          .filter((w) => w < 100)
          .map((w, i) => (i === 0 ? `${w}:pause` : String(w)))
          .join(',')},100.`,
      );
    }
    parsed.length = 0;
    for (let w = increment; w < 100; w += increment)
      parsed.push({ weight: Math.round(w * 100) / 100, bakeMs, pause: false });
    parsed.push({ weight: 100, bakeMs: undefined, pause: false });
  }

  checkWeights(
    parsed.map((p) => p.weight),
    input.strategy,
    name,
    text || DEFAULT_STEPS[input.strategy].join(','),
  );
  const pauseAtEnd = parsed.findIndex((p, i) => p.pause && i === parsed.length - 1);
  if (pauseAtEnd >= 0) {
    throw new UserError(
      `Input '${name}' (${text}) pauses at its last step (${parsed[pauseAtEnd]?.weight}%): reaching 100% is the promotion, so there would be nothing left to resume.`,
      input.strategy === 'rolling' || input.strategy === 'blue-green'
        ? `${input.strategy} moves all traffic at once, so it cannot pause; use strategy canary or linear with a pause below 100, e.g. 25:pause,100.`
        : 'Pause at a weight below 100, e.g. 10:5m,25:pause,100.',
    );
  }

  const last = parsed.length - 1;
  const steps: Step[] = parsed.map((p, i) => {
    const judgedByDefault = i < last || input.strategy === 'rolling' || input.strategy === 'blue-green';
    return {
      weight: p.weight,
      bakeMs: p.bakeMs ?? (judgedByDefault ? input.stepDurationMs : 0),
      ...(p.pause ? { pause: true } : {}),
    };
  });
  return { strategy: input.strategy, steps };
}

interface Parsed {
  weight: number;
  bakeMs: number | undefined;
  pause: boolean;
}

function parseItem(item: string, name: string): Parsed {
  const m = STEP.exec(item);
  if (!m) {
    throw new UserError(
      `Input '${name}' has '${item}', which is not a weight.`,
      'Write percentages of traffic for the new version, increasing and ending at 100, e.g. 10,50,100 (optionally with a bake per step: 10:5m,50:10m,100, and a pause: 10:5m,25:pause,100).',
    );
  }
  const weight = Number(m[1]);
  // `25:pause`: the lazy bake group takes "pause" when no bake is given.
  const pause = m[3] !== undefined || m[2]?.toLowerCase() === 'pause';
  const bakeText = m[3] !== undefined ? m[2] : m[2]?.toLowerCase() === 'pause' ? undefined : m[2];
  const bakeMs =
    bakeText !== undefined ? parseDuration(bakeText, `The bake of step '${item}' in '${name}'`) : undefined;
  return { weight, bakeMs, pause };
}

function checkWeights(weights: number[], strategy: Strategy, name: string, shown: string): void {
  const hint =
    'Write percentages of traffic for the new version, each above the one before, ending at 100: e.g. 10,50,100.';
  for (const w of weights) {
    if (!Number.isInteger(w) || w < 1 || w > 100) {
      throw new UserError(
        `Input '${name}' (${shown}) has weight ${w}; weights are whole percentages from 1 to 100.`,
        hint,
      );
    }
  }
  for (let i = 1; i < weights.length; i++) {
    if ((weights[i] as number) <= (weights[i - 1] as number)) {
      throw new UserError(
        `Input '${name}' (${shown}) is not increasing: ${weights[i]} comes after ${weights[i - 1]}.`,
        hint,
      );
    }
  }
  if (weights[weights.length - 1] !== 100) {
    throw new UserError(
      `Input '${name}' (${shown}) ends at ${weights[weights.length - 1]}%, not 100%: the rollout would never finish.`,
      hint,
    );
  }
  if ((strategy === 'rolling' || strategy === 'blue-green') && weights.length !== 1) {
    throw new UserError(
      `Input '${name}' (${shown}) has ${weights.length} weights, but ${strategy} moves all traffic at once.`,
      `Leave '${name}' empty for ${strategy} (optionally '100:10m' for the bake), or use strategy canary or linear for stepped traffic.`,
    );
  }
}

/** "10% for 5m → 25% for 5m, then pause → 100%" */
export function describePlan(plan: RolloutPlan): string {
  return plan.steps
    .map((s) => `${s.weight}%${s.bakeMs > 0 ? ` for ${formatDuration(s.bakeMs)}` : ''}${s.pause ? ', then pause' : ''}`)
    .join(' → ');
}

/**
 * The part of a plan one job runs: from step `from` up to and including the first pause
 * (or the end). What the time budget of a pausing or resuming job is checked against.
 */
export function planSegment(plan: RolloutPlan, from = 0): RolloutPlan {
  const rest = plan.steps.slice(from);
  const pause = rest.findIndex((s) => s.pause);
  return { ...plan, steps: pause >= 0 ? rest.slice(0, pause + 1) : rest };
}

/** Index of the first pausing step, or -1. */
export function firstPause(plan: RolloutPlan): number {
  return plan.steps.findIndex((s) => s.pause);
}

/** Time the plan takes at least: the sum of its bakes. */
export function planDurationMs(plan: RolloutPlan): number {
  return plan.steps.reduce((sum, s) => sum + s.bakeMs, 0);
}
