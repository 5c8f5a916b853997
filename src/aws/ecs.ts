/**
 * ECS API helpers the deploy engines share (task sets, rolling, native strategies, the
 * rollback action): the client, a service and its task sets, the rollout record kept in a
 * service tag, task definitions, and the evidence of why tasks do not run (stopped tasks,
 * service events). Every call takes the abort signal.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTaskSetsCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type Tag,
  type TaskDefinition,
  type TaskSet,
} from '@aws-sdk/client-ecs';
import { decodeAbort, encodeAbort } from '../delivery/abort.js';
import { encodeRecord } from '../delivery/record.js';
import type { AbortRequest, RolloutRecord } from '../delivery/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';

/** The tag on the ECS service that holds an unfinished rollout's record. */
export const RECORD_TAG = 'platform-actions:rollout';
/** The tag beside the record that asks a rollout to stop (the owner never writes it, so it cannot erase it). */
export const ABORT_TAG = 'platform-actions:abort';
/** The tag on what a rollout creates (task sets, task definitions): its deployment id. */
export const DEPLOYMENT_TAG = 'platform-actions:deployment';

export function ecsClient(options: AwsClientOptions): ECSClient {
  return awsClient(ECSClient, 'ECS', options);
}

export interface ServiceRef {
  cluster: string;
  service: string;
}

const send = { abort: (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {}) };

/** `web/open-webui` for messages. */
export function describeRef(ref: ServiceRef): string {
  return `${ref.cluster.split('/').pop()}/${ref.service.split('/').pop()}`;
}

/** An ECS error a user can act on (missing cluster, access denied) as a UserError; others as they are. */
export function explainEcsError(err: unknown, what: string): Error {
  const code = awsErrorCode(err);
  if (code === 'ClusterNotFoundException') {
    return new UserError(
      `${what}: the cluster does not exist (${errorMessage(err)}).`,
      'Check the cluster input and aws-region.',
      { cause: err },
    );
  }
  if (code === 'ServiceNotFoundException' || code === 'ServiceNotActiveException') {
    return new UserError(
      `${what}: ${errorMessage(err)}.`,
      'Check the service input (its name, not its ARN, or the ARN of a service in this cluster).',
      { cause: err },
    );
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return new UserError(
      `${what}: access denied (${errorMessage(err)}).`,
      'Grant the deploy role the ECS permissions listed in docs/actions/ecs-deploy.md.',
      { cause: err },
    );
  }
  if (code === 'InvalidParameterException' || code === 'ClientException') {
    return new UserError(`${what}: ECS refused the request (${code}: ${errorMessage(err)}).`, undefined, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

const serviceNotFound = (ref: ServiceRef, reason: string): UserError =>
  new UserError(
    `ECS service ${describeRef(ref)} was not found (${reason}).`,
    'Check the cluster and service inputs and aws-region; the service must exist before it can be deployed to.',
  );

/** The service, which must exist and be ACTIVE. */
export async function describeService(client: ECSClient, ref: ServiceRef, signal?: AbortSignal): Promise<Service> {
  let res;
  try {
    res = await client.send(
      new DescribeServicesCommand({ cluster: ref.cluster, services: [ref.service], include: ['TAGS'] }),
      send.abort(signal),
    );
  } catch (err) {
    throw explainEcsError(err, `Reading service ${describeRef(ref)}`);
  }
  const service = res.services?.[0];
  if (!service || service.status !== 'ACTIVE') {
    const reason = res.failures?.[0]?.reason ?? service?.status ?? 'MISSING';
    throw serviceNotFound(ref, reason);
  }
  return service;
}

/** Every task set of a service (EXTERNAL controller), including the draining ones. */
export async function describeTaskSets(client: ECSClient, ref: ServiceRef, signal?: AbortSignal): Promise<TaskSet[]> {
  try {
    const res = await client.send(
      new DescribeTaskSetsCommand({ cluster: ref.cluster, service: ref.service, include: ['TAGS'] }),
      send.abort(signal),
    );
    return res.taskSets ?? [];
  } catch (err) {
    throw explainEcsError(err, `Reading the task sets of ${describeRef(ref)}`);
  }
}

/** `ecs-svc/123` from a task set ARN or id. */
export function taskSetId(arnOrId: string): string {
  const m = /(ecs-svc\/[^/]+)$/.exec(arnOrId);
  return m ? (m[1] as string) : arnOrId;
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.key === key)?.value;
}

/** Tags of an ECS resource. */
export async function listTags(client: ECSClient, arn: string, signal?: AbortSignal): Promise<Tag[]> {
  const res = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }), send.abort(signal));
  return res.tags ?? [];
}

/**
 * Writes the rollout record kept in a tag of the service (one TagResource call; undefined
 * removes it with UntagResource), and the abort request kept in a tag of its own. Reading
 * the record goes through ecs-record-check, which checks it against the live service.
 */
export function serviceRecordStore(client: ECSClient, serviceArn: string) {
  return {
    /** Writes the record and returns the text written (what this process may trust when it reads it back). */
    async save(record: RolloutRecord | undefined, signal?: AbortSignal): Promise<string | undefined> {
      if (record) {
        const { abort: _abort, ...stored } = record;
        const text = encodeRecord(stored);
        await client.send(
          new TagResourceCommand({ resourceArn: serviceArn, tags: [{ key: RECORD_TAG, value: text }] }),
          send.abort(signal),
        );
        return text;
      }
      await client.send(
        new UntagResourceCommand({ resourceArn: serviceArn, tagKeys: [RECORD_TAG] }),
        send.abort(signal),
      );
      return undefined;
    },
    async loadAbort(signal?: AbortSignal): Promise<AbortRequest | undefined> {
      return decodeAbort(tagValue(await listTags(client, serviceArn, signal), ABORT_TAG));
    },
    async requestAbort(request: AbortRequest, signal?: AbortSignal): Promise<void> {
      await client.send(
        new TagResourceCommand({ resourceArn: serviceArn, tags: [{ key: ABORT_TAG, value: encodeAbort(request) }] }),
        send.abort(signal),
      );
    },
  };
}

const oldArnFormat = (arn: string): UserError =>
  new UserError(
    `ECS service ${arn} has an ARN in the old format, which ECS cannot tag; ecs-deploy keeps the rollout record (for the post step and the next run) in a service tag.`,
    'Opt in to the new ARN format (aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled) and recreate the service.',
  );

/**
 * ECS tags services only when their ARN has the cluster in it (the "new" ARN format,
 * the default since 2021). Without it the record cannot be kept: say so before anything.
 */
export function assertTaggable(service: Service): void {
  const arn = service.serviceArn ?? '';
  if (!/:service\/[^/]+\/[^/]+$/.test(arn)) {
    throw oldArnFormat(arn);
  }
}

export interface DescribedTaskDefinition {
  taskDefinition: TaskDefinition;
  tags: Tag[];
}

const taskDefinitionNotFound = (which: string, err: unknown): UserError =>
  new UserError(
    `Task definition '${which}' was not found (${errorMessage(err)}).`,
    'Give a family, family:revision or task definition ARN that exists in this account and region, or a JSON file.',
    { cause: err },
  );

/** A task definition by family, family:revision or ARN. */
export async function describeTaskDefinition(
  client: ECSClient,
  which: string,
  signal?: AbortSignal,
): Promise<DescribedTaskDefinition> {
  try {
    const res = await client.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: which, include: ['TAGS'] }),
      send.abort(signal),
    );
    if (!res.taskDefinition) throw new Error(`ECS returned no task definition for ${which}`);
    return { taskDefinition: res.taskDefinition, tags: res.tags ?? [] };
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'ClientException' || code === 'InvalidParameterException') {
      throw taskDefinitionNotFound(which, err);
    }
    throw explainEcsError(err, `Reading task definition ${which}`);
  }
}

/**
 * Revisions this process registered for a deployment, by their exact input: a pre-deploy
 * task registers the new revision first, and the rollout's own registration of the same
 * input (same deployment tag) then gets that revision back instead of a duplicate.
 */
const registeredForDeployment = new Map<string, string>();

/** Registers a new revision; returns its ARN. */
export async function registerTaskDefinition(
  client: ECSClient,
  input: RegisterTaskDefinitionCommandInput,
  signal?: AbortSignal,
): Promise<string> {
  const key = tagValue(input.tags, DEPLOYMENT_TAG) !== undefined ? JSON.stringify(input) : undefined;
  const known = key ? registeredForDeployment.get(key) : undefined;
  if (known) return known;
  const arn = await registerOnce(client, input, signal);
  if (key) registeredForDeployment.set(key, arn);
  return arn;
}

async function registerOnce(
  client: ECSClient,
  input: RegisterTaskDefinitionCommandInput,
  signal?: AbortSignal,
): Promise<string> {
  let res;
  try {
    res = await client.send(new RegisterTaskDefinitionCommand(input), send.abort(signal));
  } catch (err) {
    throw explainEcsError(err, `Registering a revision of task definition ${input.family}`);
  }
  const arn = res.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error('ECS registered the task definition but returned no ARN');
  return arn;
}

/** `family:revision` of a task definition ARN (what logs and records show). */
export function taskDefinitionName(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** The full ARN of `family:revision`, in the account and region of a service ARN. */
export function taskDefinitionArn(nameOrArn: string, serviceArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const [prefix] = serviceArn.split(':service/');
  return `${prefix}:task-definition/${nameOrArn}`;
}

/**
 * Why tasks stopped: up to `limit` recently stopped tasks of a service (`serviceName`) or
 * of a task set (`startedBy` = its id), each as "task abc: <stoppedReason> (container
 * web: exit 1, <reason>)".
 */
export async function stoppedTaskReasons(
  client: ECSClient,
  query: { cluster: string; serviceName?: string; startedBy?: string; taskDefinitionArn?: string },
  signal?: AbortSignal,
  limit = 5,
): Promise<string[]> {
  const list = await client.send(
    new ListTasksCommand({
      cluster: query.cluster,
      desiredStatus: 'STOPPED',
      ...(query.serviceName ? { serviceName: query.serviceName } : {}),
      ...(query.startedBy ? { startedBy: query.startedBy } : {}),
      maxResults: 100,
    }),
    send.abort(signal),
  );
  const arns = (list.taskArns ?? []).slice(0, 100);
  if (arns.length === 0) return [];
  const res = await client.send(new DescribeTasksCommand({ cluster: query.cluster, tasks: arns }), send.abort(signal));
  return (res.tasks ?? [])
    .filter((t) => !query.taskDefinitionArn || t.taskDefinitionArn === query.taskDefinitionArn)
    .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))
    .slice(0, limit)
    .map((t) => {
      const containers = (t.containers ?? [])
        .filter((c) => c.exitCode !== undefined || c.reason)
        .map(
          (c) =>
            `container ${c.name}: ${[c.exitCode !== undefined ? `exit ${c.exitCode}` : '', c.reason ?? ''].filter(Boolean).join(', ')}`,
        );
      const id = (t.taskArn ?? '').split('/').pop();
      return `task ${id} stopped: ${t.stoppedReason || t.stopCode || 'no reason given'}${containers.length ? ` (${containers.join('; ')})` : ''}`;
    });
}

/** The service's newest events (ECS keeps the last 100), newest first, optionally only since a time. */
export function recentEvents(service: Service, options: { since?: number; limit?: number } = {}): string[] {
  return (service.events ?? [])
    .filter((e) => options.since === undefined || (e.createdAt?.getTime() ?? 0) >= options.since)
    .slice(0, options.limit ?? 5)
    .map((e) => `event ${e.createdAt?.toISOString() ?? ''}: ${e.message ?? ''}`.trim());
}
