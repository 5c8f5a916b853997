import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  checkImage,
  diffTaskDefinitions,
  primaryContainer,
  readTaskDefinitionFile,
  registrationInput,
  renderTaskDefinition,
  type TaskDefinitionInput,
} from '../../../src/aws/task-definition.js';
import { UserError } from '../../../src/util/errors.js';

const BASE: TaskDefinitionInput = {
  family: 'web',
  cpu: '512',
  memory: '1024',
  containerDefinitions: [
    {
      name: 'web',
      image: 'ghcr.io/acme/web:1.0.0',
      essential: true,
      environment: [{ name: 'LOG_LEVEL', value: 'info' }],
      portMappings: [{ containerPort: 8080 }],
    },
    { name: 'proxy', image: 'envoyproxy/envoy:v1.31.0', essential: false },
  ],
};

describe('task definitions', () => {
  it('drops what RegisterTaskDefinition does not take', () => {
    const input = registrationInput({
      ...BASE,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:1:task-definition/web:3',
      revision: 3,
      status: 'ACTIVE',
      registeredAt: new Date(),
      compatibilities: ['FARGATE'],
      requiresAttributes: [],
    } as never);
    expect(Object.keys(input).sort()).toEqual(['containerDefinitions', 'cpu', 'family', 'memory']);
  });

  it('renders images and environment variables into named containers, leaving the base as it was', () => {
    const out = renderTaskDefinition(BASE, {
      images: [
        { container: 'web', image: 'ghcr.io/acme/web@sha256:' + 'b'.repeat(64) },
        { container: 'proxy', image: 'envoyproxy/envoy:v1.32.0' },
      ],
      environment: {
        container: 'web',
        variables: [
          { name: 'LOG_LEVEL', value: 'debug' },
          { name: 'FLAG', value: 'on' },
        ],
      },
      source: 'web:3',
    });
    expect(out.containerDefinitions?.map((c) => c.image)).toEqual([
      'ghcr.io/acme/web@sha256:' + 'b'.repeat(64),
      'envoyproxy/envoy:v1.32.0',
    ]);
    expect(out.containerDefinitions?.[0]?.environment).toEqual([
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'FLAG', value: 'on' },
    ]);
    expect(BASE.containerDefinitions?.[0]?.image).toBe('ghcr.io/acme/web:1.0.0');
    expect(primaryContainer(out)?.name).toBe('web');
    expect(primaryContainer(out, 'proxy')?.name).toBe('proxy');
  });

  it('names the containers there are when asked for one that is not', () => {
    const render = () =>
      renderTaskDefinition(BASE, { images: [{ container: 'webui', image: 'x:1' }], source: 'web:3' });
    expect(render).toThrow(UserError);
    expect(render).toThrow("names container 'webui', which task definition web:3 does not have (it has: web, proxy)");
  });

  it('diffs two revisions field by field, containers by name and variables by name', () => {
    const after = renderTaskDefinition(BASE, {
      images: [{ container: 'web', image: 'ghcr.io/acme/web:1.1.0' }],
      environment: { container: 'web', variables: [{ name: 'FLAG', value: 'on' }] },
      source: 'web:3',
    });
    after.cpu = '1024';
    delete after.memory;
    after.containerDefinitions?.reverse();
    expect(diffTaskDefinitions(BASE, after)).toEqual([
      '~ cpu: 512 → 1024',
      '- memory: 1024',
      '~ container[web].image: ghcr.io/acme/web:1.0.0 → ghcr.io/acme/web:1.1.0',
      '+ container[web].environment.FLAG: on',
    ]);
    expect(diffTaskDefinitions(BASE, BASE)).toEqual([]);
  });

  it('reads a task definition file in either shape, and explains a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-td-'));
    writeFileSync(join(dir, 'plain.json'), JSON.stringify(BASE));
    writeFileSync(
      join(dir, 'described.json'),
      JSON.stringify({ taskDefinition: { ...BASE, revision: 4, status: 'ACTIVE' }, tags: [] }),
    );
    writeFileSync(join(dir, 'empty.json'), JSON.stringify({ family: 'web', containerDefinitions: [] }));
    writeFileSync(join(dir, 'broken.json'), '{"family": ');
    expect(readTaskDefinitionFile(join(dir, 'plain.json'))).toEqual(BASE);
    expect(readTaskDefinitionFile(join(dir, 'described.json'))).toEqual(BASE);
    expect(() => readTaskDefinitionFile(join(dir, 'empty.json'))).toThrow('has no family or no containerDefinitions');
    expect(() => readTaskDefinitionFile(join(dir, 'broken.json'))).toThrow('is not valid JSON');
    expect(() => readTaskDefinitionFile(join(dir, 'missing.json'))).toThrow('Cannot read the task definition file');
  });

  it('accepts images with a tag or a digest only', () => {
    expect(checkImage('ghcr.io/acme/web:1.0.0', 'image')).toBe('ghcr.io/acme/web:1.0.0');
    expect(checkImage(' ghcr.io/acme/web@sha256:' + 'c'.repeat(64), 'image')).toBe(
      'ghcr.io/acme/web@sha256:' + 'c'.repeat(64),
    );
    expect(() => checkImage('ghcr.io/acme/web', 'image')).toThrow(
      "image 'ghcr.io/acme/web' has neither a tag nor a digest",
    );
    expect(() => checkImage('ghcr.io/acme/Web:1', 'image')).toThrow('is not a valid image reference');
  });
});
