/**
 * The reconciler's view of ECS: every service of the given clusters that carries a
 * rollout record (ListServices, then DescribeServices with TAGS, 10 at a time, both
 * paged), each record checked against its live service (ecs-record-check.ts) before
 * anything acts on it, and the target that can finish or undo it.
 */
import { DescribeServicesCommand, ListServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { decodeAbort } from '../delivery/abort.js';
import { decodeRecord } from '../delivery/record.js';
import type { Found } from '../delivery/reconcile.js';
import type { Subjects } from '../analysis/types.js';
import type { Target } from '../delivery/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { ABORT_TAG, RECORD_TAG, tagValue } from './ecs.js';
import { recordProblems } from './ecs-record-check.js';
import { recoveryTarget } from './ecs-targets.js';
import { EcsNativeTarget, NATIVE_LABELS } from './ecs-native-target.js';
import { EcsTaskSetTarget, TASK_SET_LABELS } from './ecs-task-set-target.js';

/** A service with something for the reconciler to look at. */
export interface EcsFinding extends Found {
  cluster: string;
  service: string;
  serviceArn: string;
  /** The target that finishes or undoes the record (undefined with a problem). */
  target?: Target;
  /** Metric labels of both sides, for judging a paused canary (task sets only; preflight first). */
  subjects?: () => Promise<Subjects>;
  /** Labels the subjects carry, for parsing the analysis spec. */
  labels?: readonly string[];
}

export interface EcsScan {
  findings: EcsFinding[];
  /** Services looked at, with or without a record. */
  services: number;
  /** ECS API calls made by the scan. */
  calls: number;
}

export interface EcsScanOptions {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  cloudwatch?: CloudWatchClient;
  clusters: string[];
  waitTimeoutMs: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

/** Every service ARN of a cluster (ListServices, 100 a page). */
async function listServices(
  ecs: ECSClient,
  cluster: string,
  count: () => void,
  signal?: AbortSignal,
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    count();
    const res = await ecs.send(
      new ListServicesCommand({ cluster, maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
      abort(signal),
    );
    arns.push(...(res.serviceArns ?? []));
    nextToken = res.nextToken;
  } while (nextToken);
  return arns;
}

const listServicesFailed = (cluster: string, err: unknown): UserError =>
  new UserError(
    `Listing the services of ECS cluster ${cluster} failed: ${errorMessage(err)}.`,
    'Check the clusters input and aws-region, and that the role may ecs:ListServices and ecs:DescribeServices there.',
    { cause: err },
  );

/** Scans the clusters; a cluster that cannot be read is an error (the reconciler would otherwise miss what it must restore). */
export async function scanEcs(options: EcsScanOptions): Promise<EcsScan> {
  const { ecs, signal } = options;
  const log = options.log ?? (() => undefined);
  let calls = 0;
  const count = () => {
    calls++;
  };
  const findings: EcsFinding[] = [];
  let services = 0;
  for (const cluster of options.clusters) {
    let arns: string[];
    try {
      arns = await listServices(ecs, cluster, count, signal);
    } catch (err) {
      throw listServicesFailed(cluster, err);
    }
    services += arns.length;
    for (let i = 0; i < arns.length; i += 10) {
      count();
      const res = await ecs.send(
        new DescribeServicesCommand({ cluster, services: arns.slice(i, i + 10), include: ['TAGS'] }),
        abort(signal),
      );
      for (const service of res.services ?? []) {
        if (service.status !== 'ACTIVE') continue;
        const text = tagValue(service.tags, RECORD_TAG);
        if (!text?.trim()) continue;
        findings.push(await classify(options, cluster, service, text, count, log));
      }
    }
  }
  return { findings, services, calls };
}

async function classify(
  options: EcsScanOptions,
  cluster: string,
  service: Service,
  text: string,
  count: () => void,
  log: (line: string) => void,
): Promise<EcsFinding> {
  const name = service.serviceName ?? '';
  const base = { cluster, service: name, serviceArn: service.serviceArn ?? '' };
  const record = decodeRecord(text);
  const shown = JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
  if (!record)
    return {
      ...base,
      problem: `the ${RECORD_TAG} tag holds ${shown}, which is not a rollout record this version can read`,
    };
  const ref = { cluster, service: name };
  let problems: string[];
  try {
    count();
    problems = await recordProblems(options.ecs, ref, service, record, options.signal);
  } catch (err) {
    return { ...base, problem: `the record could not be checked against the service (${errorMessage(err)})` };
  }
  if (problems.length)
    return { ...base, problem: `the record ${shown} does not match the service: ${problems.join('; ')}` };
  const request = decodeAbort(tagValue(service.tags, ABORT_TAG));
  const checked = request?.id === record.id ? { ...record, abort: request } : record;
  const target = recoveryTarget(record.engine, {
    ecs: options.ecs,
    elbv2: options.elbv2,
    ...(options.cloudwatch ? { cloudwatch: options.cloudwatch } : {}),
    ...ref,
    waitTimeoutMs: options.waitTimeoutMs,
    log,
  });
  const finding: EcsFinding = { ...base, record: checked, target };
  if (target instanceof EcsTaskSetTarget) {
    finding.labels = TASK_SET_LABELS;
    finding.subjects = async () => {
      await target.preflight(options.signal);
      return target.subjects();
    };
  }
  if (target instanceof EcsNativeTarget && record.phase === 'paused') {
    // A paused native canary: its sides come from the deployment held at its PAUSE hook and the production rule.
    const behindRule = (service.loadBalancers ?? []).some(
      (l) => l.targetGroupArn && l.advancedConfiguration?.productionListenerRule,
    );
    finding.labels = behindRule ? NATIVE_LABELS : ['service', 'cluster'];
    finding.subjects = async () => {
      await target.adopt(checked, options.signal);
      return target.subjects();
    };
  }
  return finding;
}
