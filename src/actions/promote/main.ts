import { info } from '@actions/core';
import { currentRepo, githubClient, tokenOrUndefined } from '../../github/client.js';
import { runContext } from '../../github/context.js';
import { liveDeployment } from '../../github/deployments.js';
import { listDeployments, loadStatuses } from '../../github/deployment-history.js';
import { trackDeployment } from '../../github/deployment-tracking.js';
import { outputs } from '../../github/outputs.js';
import type { StepContext } from '../../github/run.js';
import { writeSummary } from '../../github/summary.js';
import { stepNotifier } from '../../notify/step-notifier.js';
import { about } from '../../notify/subject.js';
import { judgePromotion, type PromotionEvidence } from '../../release/promotion.js';
import { renderPromotion, renderRefusal } from '../../release/promotion-report.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export async function main(s: Settings, _ctx: StepContext): Promise<void> {
  // Webhook URLs are masked before anything else is printed; a notification never fails or holds up the promotion.
  const notes = stepNotifier();
  const token = tokenOrUndefined(s.token);
  if (!token)
    throw new UserError(
      'No github-token: promote reads and writes GitHub Deployments.',
      'Pass github-token: ${{ github.token }} and give the job `permissions: deployments: write`.',
    );
  const gh = githubClient(token);
  const repo = currentRepo();
  const run = runContext();

  const history = await listDeployments(gh, repo, {
    environment: s.from,
    service: s.service,
    statuses: false,
    trustedCreator: s.deployer,
  });
  info(
    `${history.length} platform-actions deployment(s) recorded in ${s.from}${s.service ? ` for ${s.service}` : ''}.`,
  );
  let evidence: PromotionEvidence;
  try {
    evidence = await judgePromotion(
      history,
      { from: s.from, to: s.to, digest: s.digest, service: s.service, minSoakMs: s.minSoakMs, now: Date.now() },
      (ds) => loadStatuses(gh, repo, ds, s.deployer),
    );
  } catch (err) {
    if (err instanceof UserError) await writeSummary(renderRefusal(s.from, s.to, err.message, err.hint));
    await notes.send({
      event: 'held',
      ...about({
        service: s.service ?? 'unknown',
        environment: s.to,
        release: s.digest ?? 'what is live',
        ...(s.image ? { image: s.image } : {}),
      }),
      summary: `Not promoted from ${s.from}: ${errorMessage(err)}`.slice(0, 1000),
    });
    throw err;
  }
  const image = s.image ?? evidence.image;
  info(
    `${evidence.digest} has been healthy in ${s.from} for ${formatDuration(evidence.soakMs)} (deployment #${evidence.source.id}); promoting to ${s.to}.`,
  );

  const target = await listDeployments(gh, repo, {
    environment: s.to,
    service: evidence.service,
    limit: 10,
    trustedCreator: s.deployer,
  });
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

  await notes.send({
    event: 'promoted',
    ...about({
      service: evidence.service ?? source?.service ?? 'unknown',
      environment: s.to,
      release: evidence.source.sha,
      image,
    }),
    summary: `Promoted from ${s.from} after ${formatDuration(evidence.soakMs)} healthy there; deployment #${tracked.id} in ${s.to} waits for the deploy step.`,
    facts: [['Evidence', `deployment #${evidence.source.id} in ${s.from}`]],
  });
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
