/**
 * Task definitions as ecs-deploy changes them: read from a JSON file or from ECS, turned
 * into a RegisterTaskDefinition request (read-only fields dropped), images and
 * environment variables rendered into named containers, and the difference between two
 * revisions as lines a reviewer reads (`dry-run`, the job summary).
 */
import { readFileSync } from 'node:fs';
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput, TaskDefinition } from '@aws-sdk/client-ecs';
import { parseReference } from '../image/reference.js';
import { errorMessage, UserError } from '../util/errors.js';

export type TaskDefinitionInput = RegisterTaskDefinitionCommandInput;

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not take. */
const READ_ONLY = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'deleteRequestedAt',
] as const;

/** A RegisterTaskDefinition request holding what `td` holds. */
export function registrationInput(td: TaskDefinition | Record<string, unknown>): TaskDefinitionInput {
  const copy: Record<string, unknown> = { ...(td as Record<string, unknown>) };
  for (const key of READ_ONLY) delete copy[key];
  return copy as unknown as TaskDefinitionInput;
}

const notATaskDefinitionFile = (path: string): UserError =>
  new UserError(
    `The task definition file '${path}' has no family or no containerDefinitions.`,
    'Write it in the shape RegisterTaskDefinition takes (family, containerDefinitions, ...), or save `aws ecs describe-task-definition` output.',
  );

/**
 * Reads a task definition JSON file: the RegisterTaskDefinition shape, or what
 * `aws ecs describe-task-definition` prints (`{"taskDefinition": {...}}`).
 */
export function readTaskDefinitionFile(path: string): TaskDefinitionInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(
      `Cannot read the task definition file '${path}': ${errorMessage(err)}.`,
      'Check out the repository before this step and give the path relative to the workspace.',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`The task definition file '${path}' is not valid JSON: ${errorMessage(err)}.`);
  }
  const body = (parsed as { taskDefinition?: unknown })?.taskDefinition ?? parsed;
  const td = body as { family?: unknown; containerDefinitions?: unknown };
  if (
    !td ||
    typeof td !== 'object' ||
    typeof td.family !== 'string' ||
    !Array.isArray(td.containerDefinitions) ||
    td.containerDefinitions.length === 0
  ) {
    throw notATaskDefinitionFile(path);
  }
  return registrationInput(body as Record<string, unknown>);
}

const imageWithoutTagOrDigest = (what: string, image: string): UserError =>
  new UserError(
    `${what} '${image}' has neither a tag nor a digest, so ECS would pull whatever 'latest' is when each task starts.`,
    "Pass the image by digest (image-build's `image` output, repository@sha256:...) or with an explicit tag.",
  );

/** An image a deploy may use: a valid reference with a tag or a digest (never "latest by default"). */
export function checkImage(image: string, what: string): string {
  const ref = parseReference(image, what);
  if (!ref.tag && !ref.digest) {
    throw imageWithoutTagOrDigest(what, image);
  }
  return image.trim();
}

export interface RenderOptions {
  /** Container → image. */
  images: Array<{ container: string; image: string }>;
  /** Variables to set (added or replaced) in one container. */
  environment?: { container: string; variables: Array<{ name: string; value: string }> };
  /** Where the task definition came from, for messages. */
  source: string;
}

const noSuchContainer = (input: string, name: string, source: string, names: string): UserError =>
  new UserError(
    `${input} names container '${name}', which task definition ${source} does not have (it has: ${names || 'none'}).`,
    `Use one of: ${names}.`,
  );

function containerOf(td: TaskDefinitionInput, name: string, source: string, input: string): ContainerDefinition {
  const container = (td.containerDefinitions ?? []).find((c) => c.name === name);
  if (!container) {
    const names = (td.containerDefinitions ?? []).map((c) => c.name).join(', ');
    throw noSuchContainer(input, name, source, names);
  }
  return container;
}

/** A copy of `base` with the images and environment variables put in. */
export function renderTaskDefinition(base: TaskDefinitionInput, options: RenderOptions): TaskDefinitionInput {
  const td: TaskDefinitionInput = JSON.parse(JSON.stringify(base)) as TaskDefinitionInput;
  for (const { container, image } of options.images)
    containerOf(td, container, options.source, `Container name '${container}' (container-name or images)`).image =
      image;
  if (options.environment && options.environment.variables.length > 0) {
    const c = containerOf(
      td,
      options.environment.container,
      options.source,
      'environment-variables (for container-name)',
    );
    const env = [...(c.environment ?? [])];
    for (const v of options.environment.variables) {
      const i = env.findIndex((e) => e.name === v.name);
      if (i >= 0) env[i] = { name: v.name, value: v.value };
      else env.push({ name: v.name, value: v.value });
    }
    c.environment = env;
  }
  return td;
}

/** The container whose image is the deploy's `image` output: the named one, else the first essential one. */
export function primaryContainer(td: TaskDefinitionInput, name?: string): ContainerDefinition | undefined {
  const containers = td.containerDefinitions ?? [];
  return (
    (name ? containers.find((c) => c.name === name) : undefined) ??
    containers.find((c) => c.essential !== false) ??
    containers[0]
  );
}

type Flat = Map<string, string>;

function flatten(value: unknown, path: string, out: Flat): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    if (value.length === 0) return;
    // Name/value pairs (environment, secrets, tags) read best as name=value.
    if (
      value.every(
        (v) =>
          v &&
          typeof v === 'object' &&
          'name' in v &&
          ('value' in v || 'valueFrom' in v) &&
          Object.keys(v).length === 2,
      )
    ) {
      for (const v of value as Array<{ name: string; value?: string; valueFrom?: string }>)
        out.set(`${path}.${v.name}`, String(v.value ?? v.valueFrom));
      return;
    }
    value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      flatten(v, path ? `${path}.${k}` : k, out);
    return;
  }
  out.set(path, String(value));
}

function flattenTaskDefinition(td: TaskDefinitionInput): Flat {
  const out: Flat = new Map();
  const { containerDefinitions, tags: _tags, ...rest } = td;
  flatten(rest, '', out);
  // Containers by name, so a reordering is not a difference.
  for (const c of containerDefinitions ?? []) flatten(c, `container[${c.name}]`, out);
  return out;
}

/**
 * What changes from `before` to `after`, one line per field: `~ container[web].image: a → b`,
 * `+ container[web].environment.FLAG: on`, `- cpu: 512`. Empty when nothing changes.
 */
export function diffTaskDefinitions(before: TaskDefinitionInput, after: TaskDefinitionInput): string[] {
  const a = flattenTaskDefinition(before);
  const b = flattenTaskDefinition(after);
  const lines: string[] = [];
  for (const [k, v] of a) {
    if (!b.has(k)) lines.push(`- ${k}: ${v}`);
    else if (b.get(k) !== v) lines.push(`~ ${k}: ${v} → ${b.get(k)}`);
  }
  for (const [k, v] of b) if (!a.has(k)) lines.push(`+ ${k}: ${v}`);
  return lines;
}

/** The containers' ports that a load balancer may route to, for checking a task set's load balancer entry. */
export function containerPorts(td: TaskDefinitionInput, container: string): number[] {
  const c = (td.containerDefinitions ?? []).find((d) => d.name === container);
  return (c?.portMappings ?? []).map((p) => p.containerPort).filter((p): p is number => p !== undefined);
}
