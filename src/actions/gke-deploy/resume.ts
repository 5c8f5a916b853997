/**
 * gke-deploy's resume: the Deployment's paused rollout, and the paused canary checked to
 * run the images this job was given, container by container.
 */
import { info } from '@actions/core';
import { canaryImageMismatch, pausedRollout } from '../../delivery/deploy-resume.js';
import type { RolloutRecord } from '../../delivery/types.js';
import type { KubeCanaryTarget } from '../../k8s/canary-target.js';
import type { KubeClient } from '../../k8s/client.js';
import type { PodTemplateSpec } from '../../k8s/types.js';
import { stateNow } from './before-rollout.js';
import type { Settings } from './settings.js';

/** Resume: the Deployment's paused rollout, checked to be one (the engine checks again when it takes it over). */
export async function pausedRecord(kube: KubeClient, s: Settings, signal: AbortSignal): Promise<RolloutRecord> {
  const { record } = await stateNow(kube, s, signal);
  return pausedRollout(`Deployment ${s.namespace}/${s.deployment}`, record, info);
}

/** Resume: the paused canary must run the images this job was given, container by container. */
export async function verifyCanary(
  target: KubeCanaryTarget,
  record: RolloutRecord,
  wanted: PodTemplateSpec,
  signal: AbortSignal,
): Promise<void> {
  const running = (await target.canaryTemplate(signal))?.spec?.containers ?? [];
  const mismatch = canaryImageMismatch(record.canary, running, wanted.spec?.containers ?? []);
  if (mismatch) throw mismatch;
  info(`The paused canary ${record.canary} runs the images this job was given.`);
}
