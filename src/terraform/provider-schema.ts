import { readFileSync } from 'node:fs';
import { covers, pathSegments, splitAddress, type PathSegments } from './ignore-changes.js';

/**
 * Attributes a provider alone decides (computed, neither optional nor required), per
 * resource type, from `terraform providers schema -json`: `load_balancer_arns` of a
 * target group, which fills in when a listener starts using it. A change to one is the
 * provider reporting, never drift from the configuration. Nested block attributes are
 * patterns with `*` for the block's index (`health_check.*.x`).
 */

interface SchemaAttribute {
  computed?: boolean;
  optional?: boolean;
  required?: boolean;
}
interface SchemaBlock {
  attributes?: Record<string, SchemaAttribute>;
  block_types?: Record<string, { block?: SchemaBlock; nesting_mode?: string }>;
}
interface ProvidersSchema {
  provider_schemas?: Record<string, { resource_schemas?: Record<string, { block?: SchemaBlock }> }>;
}

export type ComputedAttributes = Map<string, PathSegments[]>;

function collect(block: SchemaBlock | undefined, prefix: PathSegments, out: PathSegments[]): void {
  for (const [name, a] of Object.entries(block?.attributes ?? {})) {
    if (a.computed && !a.optional && !a.required) out.push([...prefix, name]);
  }
  for (const [name, nested] of Object.entries(block?.block_types ?? {})) {
    // single-nested blocks have no index; every other mode (list, set, map) has one
    collect(
      nested.block,
      nested.nesting_mode === 'single' || nested.nesting_mode === 'group' ? [...prefix, name] : [...prefix, name, '*'],
      out,
    );
  }
}

/** The computed-only attribute paths of every resource type in a schema document. */
export function computedAttributes(schema: ProvidersSchema): ComputedAttributes {
  const out: ComputedAttributes = new Map();
  for (const provider of Object.values(schema.provider_schemas ?? {})) {
    for (const [type, resource] of Object.entries(provider.resource_schemas ?? {})) {
      const paths: PathSegments[] = [];
      collect(resource.block, [], paths);
      // `id` is computed for most resources but identifies the object: a changed id is a new object.
      out.set(
        type,
        paths.filter((p) => !(p.length === 1 && p[0] === 'id')),
      );
    }
  }
  return out;
}

export function readComputedAttributes(file: string): ComputedAttributes {
  return computedAttributes(JSON.parse(readFileSync(file, 'utf8')) as ProvidersSchema);
}

/** Whether an attribute of the resource at `address` is one its provider alone decides. */
export function isComputed(computed: ComputedAttributes, address: string, path: string): boolean {
  const type = splitAddress(address).resource.split('.')[0] as string;
  const segments = pathSegments(path);
  return (computed.get(type) ?? []).some((p) => covers(p, segments));
}
