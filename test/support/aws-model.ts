/**
 * AWS API models (the JSON the API reference and every SDK are generated from), as
 * botocore ships them next to moto: operations with their input and output shapes,
 * required members, enum values and ranges. Stand-ins check the requests they get and
 * the answers they give against them, so a field the reference does not have, a missing
 * required member or a value outside an enum fails a test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

interface Ref {
  shape: string;
}

interface ShapeDef {
  type: string;
  members?: Record<string, Ref>;
  required?: string[];
  member?: Ref;
  key?: Ref;
  value?: Ref;
  enum?: string[];
  min?: number;
  max?: number;
  document?: boolean;
}

export interface ApiModel {
  metadata: { targetPrefix?: string; protocol: string };
  operations: Record<string, { input?: Ref; output?: Ref; errors?: Ref[] }>;
  shapes: Record<string, ShapeDef>;
}

const cache = new Map<string, ApiModel>();

/** botocore's data directory (botocore comes with moto). */
function botocoreData(): string {
  const found = spawnSync(
    'python3',
    ['-c', 'import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), "data"))'],
    { encoding: 'utf8' },
  );
  const dir = found.stdout.trim();
  if (found.status !== 0 || !dir || !existsSync(dir))
    throw new Error(`botocore (installed with moto) was not found: ${found.stderr}`);
  return dir;
}

/** The newest model of a service, e.g. `ecs`. */
export function apiModel(service: string): ApiModel {
  const hit = cache.get(service);
  if (hit) return hit;
  const root = join(botocoreData(), service);
  const version = readdirSync(root).sort().pop();
  if (!version) throw new Error(`botocore has no model for ${service}`);
  const dir = join(root, version);
  const gz = join(dir, 'service-2.json.gz');
  const text = existsSync(gz)
    ? gunzipSync(readFileSync(gz)).toString('utf8')
    : readFileSync(join(dir, 'service-2.json'), 'utf8');
  const model = JSON.parse(text) as ApiModel;
  cache.set(service, model);
  return model;
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Problems of `value` against a shape of the model; `path` names where it is. */
export function checkShape(model: ApiModel, shapeName: string, value: unknown, path: string): string[] {
  const shape = model.shapes[shapeName];
  if (!shape) return [`${path}: the model has no shape ${shapeName}`];
  if (shape.document) return [];
  const problems: string[] = [];
  const bounded = (n: number, what: string) => {
    if (shape.min !== undefined && n < shape.min)
      problems.push(`${path}: ${what} ${n} is below the minimum ${shape.min} (${shapeName})`);
    if (shape.max !== undefined && n > shape.max)
      problems.push(`${path}: ${what} ${n} is above the maximum ${shape.max} (${shapeName})`);
  };
  switch (shape.type) {
    case 'structure': {
      if (kind(value) !== 'object') return [`${path}: expected an object (${shapeName}), got ${kind(value)}`];
      const record = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (record[name] === undefined || record[name] === null)
          problems.push(`${path}: required member '${name}' is missing (${shapeName})`);
      }
      for (const [name, v] of Object.entries(record)) {
        const member = shape.members?.[name];
        if (!member) {
          problems.push(`${path}: '${name}' is not a member of ${shapeName}`);
          continue;
        }
        if (v !== undefined && v !== null) problems.push(...checkShape(model, member.shape, v, `${path}.${name}`));
      }
      return problems;
    }
    case 'list': {
      if (!Array.isArray(value)) return [`${path}: expected a list (${shapeName}), got ${kind(value)}`];
      bounded(value.length, 'length');
      value.forEach((item, i) =>
        problems.push(...checkShape(model, shape.member?.shape as string, item, `${path}[${i}]`)),
      );
      return problems;
    }
    case 'map': {
      if (kind(value) !== 'object') return [`${path}: expected a map (${shapeName}), got ${kind(value)}`];
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        problems.push(...checkShape(model, shape.value?.shape as string, v, `${path}.${k}`));
      return problems;
    }
    case 'string': {
      if (typeof value !== 'string') return [`${path}: expected a string (${shapeName}), got ${kind(value)}`];
      if (shape.enum && !shape.enum.includes(value))
        problems.push(`${path}: '${value}' is not one of ${shape.enum.join(', ')} (${shapeName})`);
      bounded(value.length, 'length');
      return problems;
    }
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return [`${path}: expected a whole number (${shapeName}), got ${JSON.stringify(value)}`];
      bounded(value, 'value');
      return problems;
    case 'double':
    case 'float':
      if (typeof value !== 'number') return [`${path}: expected a number (${shapeName}), got ${kind(value)}`];
      bounded(value, 'value');
      return problems;
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected true or false (${shapeName}), got ${kind(value)}`];
    case 'timestamp':
      // The JSON protocols send epoch seconds.
      return typeof value === 'number' ? [] : [`${path}: expected epoch seconds (${shapeName}), got ${kind(value)}`];
    case 'blob':
      return typeof value === 'string' ? [] : [`${path}: expected base64 text (${shapeName}), got ${kind(value)}`];
    default:
      return [];
  }
}

/** Problems of an operation's request body. */
export function checkRequest(model: ApiModel, operation: string, body: unknown): string[] {
  const op = model.operations[operation];
  if (!op) return [`${operation}: no such operation in the model`];
  return op.input ? checkShape(model, op.input.shape, body ?? {}, `${operation} request`) : [];
}

/** Problems of an operation's (successful) response body. */
export function checkResponse(model: ApiModel, operation: string, body: unknown): string[] {
  const op = model.operations[operation];
  if (!op) return [`${operation}: no such operation in the model`];
  return op.output ? checkShape(model, op.output.shape, body ?? {}, `${operation} response`) : [];
}

/** Problems of an error answer: the error must be one the operation declares. */
export function checkError(model: ApiModel, operation: string, code: string): string[] {
  const errors = (model.operations[operation]?.errors ?? []).map((e) => e.shape);
  return errors.includes(code)
    ? []
    : [`${operation}: error ${code} is not one the operation can return (${errors.join(', ')})`];
}
