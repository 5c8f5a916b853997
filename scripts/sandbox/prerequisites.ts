/**
 * What the sandbox needs on the machine, checked before anything starts, each missing
 * piece named with how to get it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../test/support/runner.js';

export const ACTIONS = [
  'aws-auth',
  'terraform-plan',
  'terraform-apply',
  'terraform-drift',
  'image-build',
  'image-scan',
  'ecs-deploy',
  'promote',
  'dora-report',
] as const;

interface Tool {
  name: string;
  why: string;
  how: string;
  found: () => boolean;
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;

const TOOLS: Tool[] = [
  {
    name: 'moto_server',
    why: 'emulates the AWS APIs (ECS, ELBv2, EC2, IAM, STS, S3, CloudWatch)',
    how: 'Run npm run setup (it installs moto[server] 5.2.1 when missing).',
    found: () =>
      onPath('moto_server') || spawnSync('python3', ['-c', 'import moto.server'], { encoding: 'utf8' }).status === 0,
  },
  {
    name: 'terraform',
    why: 'provisions the seed workload through terraform-plan and terraform-apply',
    how: 'Install Terraform 1.6 or later (https://developer.hashicorp.com/terraform/install); the hashicorp/aws provider comes from /opt/tf-plugins when present, else from the registry.',
    found: () => onPath('terraform'),
  },
  {
    name: 'aws',
    why: "creates open-webui's first task set (examples/seed-workload/terraform/scripts/initial-task-set.sh)",
    how: 'Install the AWS CLI (pip install awscli, or AWS CLI v2).',
    found: () => onPath('aws'),
  },
  {
    name: 'buildah',
    why: 'builds the release images in image-build (no Docker daemon needed)',
    how: 'Run npm run setup (it installs the Debian packages the tests and the sandbox need).',
    found: () => onPath('buildah'),
  },
  {
    name: 'docker-registry',
    why: 'the registry the images are pushed to and deployed from, by digest',
    how: 'Run npm run setup (it installs the Debian packages the tests and the sandbox need).',
    found: () => onPath('docker-registry'),
  },
];

/** Problems that stop the sandbox before it starts; empty when everything is there. */
export function missingPrerequisites(): string[] {
  const problems = TOOLS.filter((t) => !t.found()).map((t) => `${t.name} is not installed: it ${t.why}. ${t.how}`);
  const unbuilt = ACTIONS.filter((id) => !existsSync(join(ROOT, 'dist', id, 'index.js')));
  if (unbuilt.length > 0)
    problems.push(`The bundles of ${unbuilt.join(', ')} are missing from dist/: run npm run bundle.`);
  if (!existsSync(join(ROOT, 'node_modules', '@octokit', 'openapi')))
    problems.push('node_modules is missing or incomplete: run npm ci.');
  return problems;
}
