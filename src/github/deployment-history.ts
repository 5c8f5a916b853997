import type { GitHub, Repo } from './client.js';
import { deploymentError } from './deployment-errors.js';
import {
  TASK,
  TOOL,
  type DeploymentPayload,
  type DeploymentRecord,
  type DeploymentStatusRecord,
} from './deployments.js';
import { mapLimit } from '../util/pool.js';

/** Reading the history back: an environment's deployments and their statuses, newest first. */

export interface ListOptions {
  environment: string;
  /** Only deployments created at or after this time (ms since the epoch, Date or ISO text). */
  since?: number | Date | string;
  /** Include deployments that are not ours (GitHub's own environment deployments, other tools). */
  includeForeign?: boolean;
  /** Only this service's (payload.service). */
  service?: string;
  /** Load each deployment's statuses (one request each). Default true. */
  statuses?: boolean;
  /** Stop after this many (newest first) deployments of ours. */
  limit?: number;
  /**
   * Who creates our deployments and their statuses: the login of the deploy jobs' token
   * (github-actions[bot] by default). A deployment whose payload claims to be ours but that
   * anyone else created is foreign (its payload is not trusted), and statuses anyone else
   * set are left out: a writer's token or another tool cannot forge promotion evidence.
   */
  trustedCreator?: string;
}

/** The job token's login: who creates deployments with GITHUB_TOKEN. */
export const DEFAULT_DEPLOYER = 'github-actions[bot]';

const time = (value: number | Date | string): number => (typeof value === 'number' ? value : new Date(value).getTime());

type ApiDeployment = Awaited<ReturnType<GitHub['rest']['repos']['listDeployments']>>['data'][number];
type ApiStatus = Awaited<ReturnType<GitHub['rest']['repos']['listDeploymentStatuses']>>['data'][number];

/** Our payload, whether GitHub hands it back as an object or as JSON text. */
export function parsePayload(raw: unknown): DeploymentPayload | undefined {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const p = value as Record<string, unknown>;
  return p.tool === TOOL && typeof p.image === 'string' ? (p as DeploymentPayload) : undefined;
}

function toRecord(d: ApiDeployment, trustedCreator: string): DeploymentRecord {
  const payload = parsePayload(d.payload);
  return {
    id: d.id,
    environment: d.environment,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    description: d.description ?? '',
    createdAt: time(d.created_at),
    creator: d.creator?.login,
    production: d.production_environment ?? false,
    transient: d.transient_environment ?? false,
    // A payload of ours from anyone else is an imitation: the record is foreign.
    payload: payload && d.creator?.login === trustedCreator ? payload : undefined,
    statuses: [],
    statusesLoaded: false,
  };
}

function toStatus(s: ApiStatus): DeploymentStatusRecord {
  return {
    id: s.id,
    state: s.state,
    description: s.description,
    at: time(s.created_at),
    ...(s.log_url || s.target_url ? { logUrl: s.log_url || s.target_url } : {}),
    ...(s.environment_url ? { environmentUrl: s.environment_url } : {}),
  };
}

/**
 * An environment's deployments, newest first, with their statuses (oldest first).
 * Costs one request per 100 deployments plus, with statuses, one per deployment:
 * bound it with `since` or `limit` (GITHUB_TOKEN allows 1,000 requests an hour).
 */
export async function listDeployments(gh: GitHub, repo: Repo, options: ListOptions): Promise<DeploymentRecord[]> {
  const since = options.since === undefined ? undefined : time(options.since);
  const found: DeploymentRecord[] = [];
  const keep = (r: DeploymentRecord) =>
    (options.includeForeign || r.payload) && (!options.service || r.payload?.service === options.service);
  try {
    await gh.paginate(
      gh.rest.repos.listDeployments,
      { ...repo, environment: options.environment, task: TASK, per_page: 100 },
      (response, done) => {
        for (const d of response.data) {
          const r = toRecord(d, options.trustedCreator || DEFAULT_DEPLOYER);
          if (since !== undefined && r.createdAt < since) {
            done();
            break;
          }
          if (!keep(r)) continue;
          found.push(r);
          if (options.limit !== undefined && found.length >= options.limit) {
            done();
            break;
          }
        }
        return [];
      },
    );
  } catch (err) {
    throw deploymentError(err, `list the deployments of ${options.environment}`);
  }
  if (options.statuses ?? true) await loadStatuses(gh, repo, found, options.trustedCreator || DEFAULT_DEPLOYER);
  return found;
}

/** Loads the statuses of deployments listed without them (4 requests at a time). */
export async function loadStatuses(
  gh: GitHub,
  repo: Repo,
  deployments: readonly DeploymentRecord[],
  trustedCreator = DEFAULT_DEPLOYER,
): Promise<void> {
  await mapLimit(
    deployments.filter((d) => !d.statusesLoaded),
    4,
    async (d) => {
      let statuses: ApiStatus[];
      try {
        statuses = await gh.paginate(gh.rest.repos.listDeploymentStatuses, {
          ...repo,
          deployment_id: d.id,
          per_page: 100,
        });
      } catch (err) {
        throw deploymentError(err, `list the statuses of deployment ${d.id}`);
      }
      // On our deployments, only statuses our deployer set count (anyone with deployments: write can add one).
      const trusted = d.payload ? statuses.filter((st) => st.creator?.login === trustedCreator) : statuses;
      d.statuses = trusted.map(toStatus).sort((a, b) => a.at - b.at || a.id - b.id);
      d.statusesLoaded = true;
    },
  );
}
