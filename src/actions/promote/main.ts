import { info } from '@actions/core';
import { currentRepo, githubClient, tokenOrUndefined } from '../../github/client.js';
import { runContext } from '../../github/context.js';
import { listDeployments, liveDeployment, loadStatuses, trackDeployment } from '../../github/deployments.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { judgePromotion, type PromotionEvidence } from '../../release/promotion.js';
import { renderPromotion, renderRefusal } from '../../release/promotion-report.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export async function main(s: Settings, _ctx: StepContext): Promise<void> {
  const token = tokenOrUndefined(s.token);
  if (!token) throw new UserError('No github-token: promote reads and writes GitHub Deployments.', 'Pass github-token: ${{ github.token }} and give the job `permissions: deployments: write`.');
  const gh = githubClient(token);
  const repo = currentRepo();
  const run = runContext();

  const history = await listDeployments(gh, repo, { environment: s.from, service: s.service, statuses: false, trustedCreator: s.deployer });
  info(`${history.length} platform-actions deployment(s) recorded in ${s.from}${s.service ? ` for ${s.service}` : ''}.`);
  let evidence: PromotionEvidence;
  try {
    evidence = await judgePromotion(
      history,
      { from: s.from, to: s.to, digest: s.digest, service: s.service, minSoakMs: s.minSoakMs, now: Date.now() },
      (ds) => loadStatuses(gh, repo, ds, s.deployer),
    );
  } catch (err) {
    if (err instanceof UserError) await writeSummary(renderRefusal(s.from, s.to, err.message, err.hint));
    throw err;
  }
  const image = s.image ?? evidence.image;
  info(`${evidence.digest} has been healthy in ${s.from} for ${formatDuration(evidence.soakMs)} (deployment #${evidence.source.id}); promoting to ${s.to}.`);

  const target = await listDeployments(gh, repo, { environment: s.to, service: evidence.service, limit: 10, trustedCreator: s.deployer });
  const targetLive = liveDeployment(target);
  const source = evidence.source.payload;
  const tracked = await trackDeployment(gh, repo, {
    environment: s.to,
    ref: evidence.source.sha,
    image,
    initialState: 'queued',
    adopt: false,
    description: `Promote ${image} from ${s.from}`,
    statusDescription: `Promoted from ${s.from} after ${formatDuration(evidence.soakMs)} healthy; waiting for the deploy step`,
    payload: {
      ...(source?.service ? { service: source.service } : {}),
      ...(source?.platform ? { platform: source.platform } : {}),
      promotion: { from_environment: s.from, source_deployment_id: evidence.source.id, run_id: run.runId },
    },
    run,
  });
  info(`Queued deployment #${tracked.id} in ${s.to} for ${image}.`);

  outputs.set('image', image);
  outputs.set('digest', evidence.digest);
  outputs.set('source-deployment-id', evidence.source.id);
  outputs.set('deployment-id', tracked.id);
  await writeSummary(
    renderPromotion({
      from: s.from,
      to: s.to,
      image,
      evidence,
      minSoakMs: s.minSoakMs,
      targetDeploymentId: tracked.id,
      targetLive,
      commitUrl: run.repository ? `${run.serverUrl}/${run.repository}/commit/${evidence.source.sha}` : undefined,
    }),
  );
}
