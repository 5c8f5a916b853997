/**
 * Whether the workflow run that wrote a rollout record is still going, from GitHub's
 * word on it (GET /repos/{owner}/{repo}/actions/runs/{run_id}). A record names its run as
 * `runId.attempt`: the attempt is over when the run is completed, or when a later attempt
 * of the same run has started (a re-run).
 *
 * Answers are cached per run for the life of the checker, so a reconcile pass over many
 * services asks once per run. An error is "cannot tell" (undefined): callers then decide
 * by the record's lease.
 */
import type { GitHub, Repo } from './client.js';
import { httpStatus } from './client.js';

export interface RunStatus {
  /** False once the recorded attempt can no longer drive anything. */
  alive: boolean;
  /** When it ended (epoch ms), when GitHub says: the run's last update. */
  endedAt?: number;
  /** One phrase: "completed (cancelled)", "in_progress", "superseded by attempt 2". */
  detail: string;
}

/** `4242.1` → run 4242, attempt 1; undefined when it is not that shape. */
export function parseRunRef(run: string): { id: number; attempt: number } | undefined {
  const m = /^(\d{1,19})(?:\.(\d{1,4}))?$/.exec(run);
  if (!m) return undefined;
  return { id: Number(m[1]), attempt: m[2] ? Number(m[2]) : 1 };
}

/** What GitHub's run object says about one attempt of it. */
export function statusOfAttempt(
  run: { status?: string | null; conclusion?: string | null; run_attempt?: number; updated_at?: string },
  attempt: number,
): RunStatus {
  const updated = run.updated_at ? Date.parse(run.updated_at) : undefined;
  const endedAt = updated !== undefined && Number.isFinite(updated) ? updated : undefined;
  if (run.run_attempt !== undefined && run.run_attempt > attempt) {
    return {
      alive: false,
      detail: `attempt ${attempt} was superseded by attempt ${run.run_attempt}`,
      ...(endedAt !== undefined ? { endedAt } : {}),
    };
  }
  if (run.status === 'completed')
    return {
      alive: false,
      detail: `completed (${run.conclusion ?? 'no conclusion'})`,
      ...(endedAt !== undefined ? { endedAt } : {}),
    };
  return { alive: true, detail: run.status ?? 'unknown status' };
}

export class RunStatusChecker {
  private readonly cache = new Map<string, Promise<RunStatus | undefined>>();
  /** GitHub API calls made (for the reconcile report and the benchmark). */
  calls = 0;

  constructor(
    private readonly gh: GitHub,
    private readonly repo: Repo,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The status of `runId.attempt`; undefined when GitHub cannot tell (not found, no access, an error). */
  status(run: string): Promise<RunStatus | undefined> {
    let found = this.cache.get(run);
    if (!found) {
      found = this.ask(run);
      this.cache.set(run, found);
    }
    return found;
  }

  private async ask(run: string): Promise<RunStatus | undefined> {
    const ref = parseRunRef(run);
    if (!ref) {
      this.log(`The record names run '${run}', which is not a run id; deciding by its lease.`);
      return undefined;
    }
    this.calls++;
    try {
      const { data } = await this.gh.rest.actions.getWorkflowRun({ ...this.repo, run_id: ref.id });
      return statusOfAttempt(data, ref.attempt);
    } catch (err) {
      const status = httpStatus(err);
      this.log(
        status === 404
          ? `GitHub knows no run ${ref.id} in ${this.repo.owner}/${this.repo.repo} (another repository's, or deleted); deciding by the record's lease.`
          : `Could not read run ${ref.id} from GitHub (${status ? `HTTP ${status}` : err instanceof Error ? err.message : String(err)}); deciding by the record's lease.${status === 403 ? ' Give the job `permissions: actions: read`.' : ''}`,
      );
      return undefined;
    }
  }

  /** What runRollout's `ownerAlive` option takes. */
  readonly ownerAlive = async (record: { run?: string }): Promise<boolean | undefined> =>
    record.run ? (await this.status(record.run))?.alive : undefined;
}

/** A checker from a token, loading Octokit only when there is one. */
export async function runStatusChecker(
  token: string | undefined,
  log?: (line: string) => void,
): Promise<RunStatusChecker | undefined> {
  if (!token) return undefined;
  const { currentRepo, githubClient } = await import('./client.js');
  return new RunStatusChecker(githubClient(token), currentRepo(), log);
}
