/**
 * How long and how wide a sandbox run is. `full` is `npm run sandbox`; `short` is the
 * end-to-end test in `npm test` (and `npm run sandbox -- --short`).
 */

export type ProfileName = 'full' | 'short';

export interface Profile {
  name: ProfileName;
  /** GitHub Environments, in promotion order; each has its own Terraform stack. */
  environments: string[];
  /**
   * Plan again on main after the merge and apply that plan, as terraform.yml does; when
   * false, the apply job applies the plan made on the pull request (terraform-apply
   * accepts either: it checks the plan's meaning against the reviewed one).
   */
  planOnMain: boolean;
  /**
   * Change production by hand and run the nightly drift check as soon as the stacks
   * exist, while the releases roll out (drift detection is its own scheduled workflow,
   * and what rollouts change is not drift); otherwise after the releases.
   */
  driftDuringRollouts: boolean;
  /** deploy-ecs.yml's on-failure: rollback-release (its default) returns the release's other services too. */
  onFailure: 'rollback-release' | 'stop';
  /**
   * release.yml's production-pause-at: release 1's production canary pauses at this weight
   * until a later job resumes it behind the production-promote gate. Empty: no pause.
   */
  productionPauseAt: string;
  /**
   * Release 3 (release 2 fixed) goes to dev, then its staging runner is SIGKILLed mid-canary
   * (no post step) and a scheduled reconcile run restores stable.
   */
  killAndReconcile: boolean;
  /** open-webui's canary: weights, bake per step, consecutive failed runs that roll back. */
  canary: { steps: string; stepDuration: string; failureLimit: number };
  /** bedrock-access-gateway's rolling update: bake after the switch (0s: none). */
  gatewayBake: string;
  /** promote's min-soak (release.yml's default is 30m). */
  minSoak: string;
  /** ALB metrics: one datapoint per target group this often. */
  tickMs: number;
  /** Requests per tick on open-webui (split by the listener's weights) and on the gateway. */
  requests: { web: number; gateway: number };
}

export const PROFILES: Record<ProfileName, Profile> = {
  full: {
    name: 'full',
    environments: ['dev', 'staging', 'production'],
    planOnMain: true,
    driftDuringRollouts: false,
    onFailure: 'rollback-release',
    productionPauseAt: '25',
    killAndReconcile: true,
    canary: { steps: '10,50,100', stepDuration: '20s', failureLimit: 2 },
    gatewayBake: '10s',
    minSoak: '15s',
    tickMs: 2000,
    requests: { web: 400, gateway: 120 },
  },
  short: {
    name: 'short',
    environments: ['dev', 'production'],
    planOnMain: false,
    driftDuringRollouts: true,
    onFailure: 'stop',
    productionPauseAt: '',
    killAndReconcile: false,
    canary: { steps: '50,100', stepDuration: '10s', failureLimit: 1 },
    gatewayBake: '0s',
    minSoak: '2s',
    tickMs: 2000,
    requests: { web: 300, gateway: 100 },
  },
};

/** What release.yml uses where the sandbox shortens it (said so in the timeline). */
export const RELEASE_DEFAULTS = { minSoak: '30m', stepDuration: '5m' } as const;

/** The seed workload's services, in deploy order: the gateway and the MCP proxy before the UI. */
export const SERVICES = ['bedrock-access-gateway', 'mcpo', 'open-webui'] as const;
export type Service = (typeof SERVICES)[number];

/** The analysis spec of every bake: the platform SLO on the ALB metrics of the new side. */
export function analysisSpec(failureLimit: number, minCount: number): string {
  return [
    'interval: 10s',
    `failure-limit: ${failureLimit}`,
    'provider: cloudwatch',
    'metrics:',
    `  - { name: error-rate, query: alb:error-rate, min-count: ${minCount}, judge: { threshold: { max: 1% } } }`,
    `  - { name: average-latency, query: alb:average-latency, min-count: ${minCount}, judge: { threshold: { max: 500ms } } }`,
    '',
  ].join('\n');
}
