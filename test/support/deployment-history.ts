import type { DeploymentStatusStore, DeploymentStore, GitHubStore, User } from './github-server.js';

/** Seeds the GitHub stand-in with a deployment history as our actions record it. */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
export const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;
export const imageOf = (c: string, repository = '111111111111.dkr.ecr.us-east-1.amazonaws.com/open-webui') =>
  `${repository}@${digest(c)}`;

export interface SeedDeployment {
  environment: string;
  /** One hex character: the digest is that character 64 times. */
  image: string;
  service?: string;
  sha?: string;
  rollback?: boolean;
  /** Created at (ms). */
  at: number;
  /** [state, ms, description?] in order. */
  statuses: Array<[DeploymentStatusStore['state'], number, string?]>;
  production?: boolean;
  repository?: string;
  /** Who created it and its statuses; the job token's bot by default. */
  creator?: User;
}

export function seedDeployment(
  store: GitHubStore,
  d: SeedDeployment,
  owner = 'acme',
  name = 'webapp',
): DeploymentStore {
  const created = store.createDeployment(owner, name, {
    environment: d.environment,
    sha: d.sha ?? d.image.repeat(40).slice(0, 40),
    created_at: iso(d.at),
    production: d.production ?? d.environment === 'production',
    payload: {
      tool: 'platform-actions',
      image: imageOf(d.image, d.repository),
      digest: digest(d.image),
      service: d.service ?? 'open-webui',
      platform: 'ecs',
      engine: 'rolling',
      ...(d.rollback ? { rollback: true } : {}),
    },
    ...(d.creator ? { creator: d.creator } : {}),
  });
  for (const [state, at, description] of d.statuses) {
    store.addDeploymentStatus(owner, name, created.id, {
      state,
      created_at: iso(at),
      description: description ?? '',
      log_url: `https://github.com/${owner}/${name}/actions/runs/${created.id}`,
      ...(d.creator ? { creator: d.creator } : {}),
    });
  }
  return created;
}

/** A rollout that went in_progress at `at` and reached `state` `minutes` later. */
export function rollout(
  environment: string,
  image: string,
  at: number,
  state: 'success' | 'failure' | 'error' | 'in_progress',
  minutes = 5,
  extra: Partial<SeedDeployment> = {},
): SeedDeployment {
  return {
    environment,
    image,
    at,
    statuses:
      state === 'in_progress'
        ? [['in_progress', at + 1000]]
        : [
            ['in_progress', at + 1000],
            [state, at + minutes * MINUTE],
          ],
    ...extra,
  };
}
