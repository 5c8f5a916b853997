import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driftedResources, setAsideIgnored } from '../../../src/terraform/drift.js';
import {
  ignoreRules,
  isIgnored,
  pathSegments,
  rulesFromHcl,
  rulesFromJson,
  splitAddress,
} from '../../../src/terraform/ignore-changes.js';
import { computedAttributes, isComputed } from '../../../src/terraform/provider-schema.js';
import type { ResourceChange } from '../../../src/terraform/plan-json.js';

const HCL = `
# A comment with resource "fake" "one" { lifecycle { ignore_changes = all } }
resource "aws_lb_listener" "http" {
  port = 80
  default_action {
    type = "forward"
  }
  /* block comment { */
  description = "braces in a string { } and \${var.name} ] ["
  policy = <<-EOT
    { "lifecycle": { "ignore_changes": "not here" } }
  EOT
  lifecycle {
    create_before_destroy = true
    ignore_changes = [
      default_action, // the weights belong to deployments
      tags["Owner"],
      load_balancer[0].container_port,
    ]
  }
}

resource "aws_ecs_service" "web" {
  for_each = { a = 1 }
  lifecycle { ignore_changes = all }
}

resource "aws_s3_bucket" "plain" {
  bucket = "b"
  dynamic "lifecycle_rule" {
    for_each = []
    content {}
  }
}

module "net" {
  source = "./net"
}
`;

describe('ignore_changes from the configuration', () => {
  it('reads traversals and `all` from resource lifecycles, past comments, strings and heredocs', () => {
    expect(rulesFromHcl(HCL)).toEqual([
      {
        module: '',
        resource: 'aws_lb_listener.http',
        all: false,
        paths: [['default_action'], ['tags', 'Owner'], ['load_balancer', '0', 'container_port']],
      },
      { module: '', resource: 'aws_ecs_service.web', all: true, paths: [] },
    ]);
  });

  it('reads the JSON syntax too', () => {
    const json = JSON.stringify({
      resource: {
        aws_ecs_service: {
          api: { lifecycle: [{ ignore_changes: ['task_definition', 'tags["a b"]'] }] },
          all: { lifecycle: { ignore_changes: 'all' } },
        },
      },
    });
    expect(rulesFromJson(json, 'svc')).toEqual([
      { module: 'svc', resource: 'aws_ecs_service.api', all: false, paths: [['task_definition'], ['tags', 'a b']] },
      { module: 'svc', resource: 'aws_ecs_service.all', all: true, paths: [] },
    ]);
  });

  it('finds the rules of the modules init installed, under their module path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-ignore-'));
    writeFileSync(join(dir, 'main.tf'), 'module "net" {\n  source = "./net"\n}\n');
    mkdirSync(join(dir, 'net'));
    writeFileSync(
      join(dir, 'net', 'sg.tf'),
      'resource "aws_security_group" "app" {\n  lifecycle {\n    ignore_changes = [ingress]\n  }\n}\n',
    );
    mkdirSync(join(dir, '.terraform', 'modules'), { recursive: true });
    writeFileSync(
      join(dir, '.terraform', 'modules', 'modules.json'),
      JSON.stringify({
        Modules: [
          { Key: '', Source: '', Dir: '.' },
          { Key: 'net', Source: './net', Dir: 'net' },
        ],
      }),
    );
    const rules = ignoreRules(dir);
    expect(rules).toEqual([{ module: 'net', resource: 'aws_security_group.app', all: false, paths: [['ingress']] }]);
    expect(isIgnored(rules, 'module.net.aws_security_group.app', 'ingress[0].cidr_blocks[0]')).toBe(true);
    expect(isIgnored(rules, 'aws_security_group.app', 'ingress[0].cidr_blocks[0]')).toBe(false);
  });

  it('matches instance addresses and nested paths, and nothing beyond the ignored attribute', () => {
    const rules = rulesFromHcl(HCL);
    expect(splitAddress('module.a["x.y"].module.b[0].aws_s3_bucket.c["k"]')).toEqual({
      module: 'a.b',
      resource: 'aws_s3_bucket.c',
    });
    expect(pathSegments('default_action[0].forward[0].target_group[1].weight')).toEqual([
      'default_action',
      '0',
      'forward',
      '0',
      'target_group',
      '1',
      'weight',
    ]);
    expect(pathSegments('tags."a b"')).toEqual(['tags', 'a b']);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'default_action[0].forward[0].target_group[1].weight')).toBe(true);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'tags.Owner')).toBe(true);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'tags.Team')).toBe(false);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'load_balancer[0].container_port')).toBe(true);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'load_balancer[1].container_port')).toBe(false);
    expect(isIgnored(rules, 'aws_lb_listener.http', 'port')).toBe(false);
    expect(isIgnored(rules, 'aws_ecs_service.web["a"]', 'anything.at.all')).toBe(true);
    expect(isIgnored(rules, 'aws_s3_bucket.plain', 'lifecycle_rule[0].id')).toBe(false);
  });
});

describe('attributes only the provider sets', () => {
  const schema = {
    provider_schemas: {
      'registry.terraform.io/hashicorp/aws': {
        resource_schemas: {
          aws_lb_target_group: {
            block: {
              attributes: {
                id: { computed: true },
                arn: { computed: true },
                load_balancer_arns: { computed: true },
                name: { optional: true, computed: true },
                port: { optional: true },
              },
              block_types: {
                health_check: {
                  nesting_mode: 'list',
                  block: { attributes: { path: { optional: true }, matcher_effective: { computed: true } } },
                },
              },
            },
          },
        },
      },
    },
  };

  it('are computed, neither optional nor required, top level or in a block; id is not one of them', () => {
    const computed = computedAttributes(schema);
    expect(computed.get('aws_lb_target_group')).toEqual([
      ['arn'],
      ['load_balancer_arns'],
      ['health_check', '*', 'matcher_effective'],
    ]);
    expect(isComputed(computed, 'aws_lb_target_group.blue', 'load_balancer_arns[0]')).toBe(true);
    expect(isComputed(computed, 'module.x.aws_lb_target_group.g["a"]', 'health_check[0].matcher_effective')).toBe(true);
    expect(isComputed(computed, 'aws_lb_target_group.blue', 'name')).toBe(false);
    expect(isComputed(computed, 'aws_lb_target_group.blue', 'id')).toBe(false);
    expect(isComputed(computed, 'aws_lb.main', 'load_balancer_arns[0]')).toBe(false);
  });
});

describe('drift set aside', () => {
  const rc = (address: string, actions: string[], before: unknown, after: unknown): ResourceChange =>
    ({
      address,
      mode: 'managed',
      type: 't',
      name: 'n',
      change: { actions, before, after, after_unknown: {}, before_sensitive: {}, after_sensitive: {} },
    }) as ResourceChange;

  it('keeps the attributes nothing excuses, drops resources left with none, never excuses a deletion', () => {
    const drifted = driftedResources([
      rc(
        'aws_lb_listener.http',
        ['update'],
        { default_action: [{ forward: [{ weight: 100 }] }], port: 80 },
        { default_action: [{ forward: [{ weight: 0 }] }], port: 8080 },
      ),
      rc('aws_lb_target_group.blue', ['update'], { load_balancer_arns: [] }, { load_balancer_arns: ['arn:lb'] }),
      rc('aws_ecs_service.web["a"]', ['delete'], { id: 'x' }, null),
    ]);
    const reasons = (address: string, path: string) =>
      address === 'aws_lb_listener.http' && path.startsWith('default_action')
        ? ('ignore_changes' as const)
        : path.startsWith('load_balancer_arns')
          ? ('computed' as const)
          : address.startsWith('aws_ecs_service')
            ? ('ignore_changes' as const)
            : undefined;
    const { drift, ignored } = setAsideIgnored(drifted, reasons);
    expect(drift).toEqual([
      { address: 'aws_ecs_service.web["a"]', change: 'deleted', attributes: [] },
      {
        address: 'aws_lb_listener.http',
        change: 'changed',
        attributes: [{ path: 'port', before: '80', after: '8080' }],
      },
    ]);
    expect(ignored).toEqual([
      {
        address: 'aws_lb_listener.http',
        attributes: [{ path: 'default_action[0].forward[0].weight', reason: 'ignore_changes' }],
      },
      { address: 'aws_lb_target_group.blue', attributes: [{ path: 'load_balancer_arns[0]', reason: 'computed' }] },
    ]);
  });
});
