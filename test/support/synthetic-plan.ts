/**
 * A generated JSON plan shaped like Terraform's (`show -json`): resource changes of
 * every kind across modules, with the repeated sections (planned_values, prior_state,
 * configuration) real plans carry. For unit tests and the summariser benchmark.
 */
export interface SyntheticPlanOptions {
  resources: number;
  /** Characters of filler per resource value (policies, user data...). */
  padding?: number;
}

const KINDS = [
  'create',
  'create',
  'create',
  'update',
  'update',
  'delete',
  'replace',
  'no-op',
  'create',
  'update',
] as const;

function values(i: number, version: number, padding: number) {
  return {
    id: `res-${i}`,
    name: `resource-${i}`,
    arn: `arn:aws:s3:::resource-${i}`,
    tags: { team: version === 1 ? 'web' : 'platform', index: String(i) },
    tags_all: { team: version === 1 ? 'web' : 'platform', index: String(i) },
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::resource-${i}/*`, Sid: 'x'.repeat(padding) },
      ],
    }),
    ingress: [{ from_port: 443, to_port: 443, protocol: 'tcp', cidr_blocks: ['10.0.0.0/8'] }],
    password: `secret-${i}`,
    size: version * 10,
  };
}

export function syntheticPlan(o: SyntheticPlanOptions): string {
  const padding = o.padding ?? 200;
  const changes: unknown[] = [];
  const planned: unknown[] = [];
  const prior: unknown[] = [];
  for (let i = 0; i < o.resources; i++) {
    const kind = KINDS[i % KINDS.length] as (typeof KINDS)[number];
    const module = `module.m${i % 20}`;
    const address = `${module}.aws_s3_bucket.r${i}`;
    const before = kind === 'create' ? null : values(i, 1, padding);
    const after = kind === 'delete' ? null : values(i, kind === 'no-op' ? 1 : 2, padding);
    const actions = kind === 'replace' ? ['delete', 'create'] : [kind];
    changes.push({
      address,
      module_address: module,
      mode: 'managed',
      type: 'aws_s3_bucket',
      name: `r${i}`,
      provider_name: 'registry.terraform.io/hashicorp/aws',
      change: {
        actions,
        before,
        after,
        after_unknown: kind === 'create' ? { id: true, arn: true } : {},
        before_sensitive: before ? { password: true } : false,
        after_sensitive: after ? { password: true } : false,
        ...(kind === 'replace' ? { replace_paths: [['name']] } : {}),
      },
      ...(kind === 'replace'
        ? { action_reason: 'replace_because_cannot_update' }
        : kind === 'delete'
          ? { action_reason: 'delete_because_no_resource_config' }
          : {}),
    });
    if (after)
      planned.push({
        address,
        mode: 'managed',
        type: 'aws_s3_bucket',
        name: `r${i}`,
        values: after,
        sensitive_values: { password: true },
      });
    if (before)
      prior.push({
        address,
        mode: 'managed',
        type: 'aws_s3_bucket',
        name: `r${i}`,
        values: before,
        sensitive_values: { password: true },
      });
  }
  return JSON.stringify({
    format_version: '1.2',
    terraform_version: '1.11.4',
    planned_values: { root_module: { resources: planned } },
    resource_changes: changes,
    prior_state: { format_version: '1.0', values: { root_module: { resources: prior } } },
    configuration: { root_module: { resources: [] } },
    timestamp: '2026-11-22T00:00:00Z',
    applyable: true,
    complete: true,
    errored: false,
  });
}
