/**
 * Typed operations on one resource type in one namespace: get / find / list / create /
 * replace / patch (merge or JSON patch) / apply (server-side) / delete, and `update`,
 * which re-reads and retries when a write meets a newer resourceVersion (409 Conflict).
 * Refusals a user can fix come out as UserErrors (errors.ts).
 */
import type { KubeClient } from './client.js';
import { isConflict, isNotFound } from './client.js';
import { explainKubeError, type Verb } from './errors.js';
import type { Metadata, ResourceKind } from './resource-kind.js';
import type {
  Deployment,
  Event,
  HorizontalPodAutoscaler,
  HTTPRoute,
  Job,
  KubeList,
  Pod,
  ReplicaSet,
  Service,
} from './types.js';

function kind<T extends Metadata>(
  group: string,
  version: string,
  plural: string,
  kindName: string,
  namespaced = true,
): ResourceKind<T> {
  return { group, version, plural, kind: kindName, namespaced };
}

export const DEPLOYMENTS = kind<Deployment>('apps', 'v1', 'deployments', 'Deployment');
export const REPLICASETS = kind<ReplicaSet>('apps', 'v1', 'replicasets', 'ReplicaSet');
export const SERVICES = kind<Service>('', 'v1', 'services', 'Service');
export const PODS = kind<Pod>('', 'v1', 'pods', 'Pod');
export const EVENTS = kind<Event>('', 'v1', 'events', 'Event');
export const HTTPROUTES = kind<HTTPRoute>('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute');
export const HPAS = kind<HorizontalPodAutoscaler>(
  'autoscaling',
  'v2',
  'horizontalpodautoscalers',
  'HorizontalPodAutoscaler',
);
export const JOBS = kind<Job>('batch', 'v1', 'jobs', 'Job');

/** Kinds a manifest may hold (apply), by apiVersion and kind. Namespaced ones only. */
export const MANIFEST_KINDS: Array<ResourceKind<Metadata>> = [
  DEPLOYMENTS,
  SERVICES,
  HTTPROUTES,
  kind('apps', 'v1', 'statefulsets', 'StatefulSet'),
  kind('apps', 'v1', 'daemonsets', 'DaemonSet'),
  kind('', 'v1', 'configmaps', 'ConfigMap'),
  kind('', 'v1', 'secrets', 'Secret'),
  kind('', 'v1', 'serviceaccounts', 'ServiceAccount'),
  JOBS,
  kind('batch', 'v1', 'cronjobs', 'CronJob'),
  HPAS,
  kind('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  kind('networking.k8s.io', 'v1', 'ingresses', 'Ingress'),
  kind('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy'),
  kind('monitoring.googleapis.com', 'v1', 'podmonitorings', 'PodMonitoring'),
];

export function apiVersionOf(k: ResourceKind): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

/** The kind for a manifest's apiVersion and kind, or undefined when we do not apply it. */
export function manifestKind(apiVersion: string | undefined, kindName: string | undefined): ResourceKind | undefined {
  return MANIFEST_KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kindName);
}

export function collectionPath(k: ResourceKind, namespace: string | undefined): string {
  const prefix = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced
    ? `${prefix}/namespaces/${encodeURIComponent(namespace ?? 'default')}/${k.plural}`
    : `${prefix}/${k.plural}`;
}

export interface WriteOptions {
  /** Server-side dry run: validated and defaulted by the server, not stored. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** Field manager of everything we write, visible in managedFields. */
export const FIELD_MANAGER = 'platform-actions';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

export interface UpdateResult<T> {
  object: T;
  /** False when the mutation asked for no change (nothing was written). */
  changed: boolean;
  /** Writes that met a newer resourceVersion and were redone. */
  conflicts: number;
}

/** JSON round trip: objects from the API are plain data. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class ResourceApi<T extends Metadata> {
  constructor(
    readonly client: KubeClient,
    readonly kind: ResourceKind<T>,
    readonly namespace: string,
  ) {}

  private path(name?: string): string {
    const base = collectionPath(this.kind, this.namespace);
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  private async call<R>(verb: Verb, name: string | undefined, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw explainKubeError(err, {
        verb,
        kind: this.kind,
        namespace: this.namespace,
        name,
        cluster: this.client.connection.description,
      });
    }
  }

  private writeQuery(options: WriteOptions, extra: Record<string, string> = {}): Record<string, string | undefined> {
    return { fieldValidation: 'Strict', ...(options.dryRun ? { dryRun: 'All' } : {}), ...extra };
  }

  /** The object; a UserError saying so when it does not exist. */
  get(name: string, signal?: AbortSignal): Promise<T> {
    return this.call('get', name, () => this.client.request<T>({ method: 'GET', path: this.path(name), signal }));
  }

  /** The object, or undefined when it does not exist. */
  async find(name: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.client.request<T>({ method: 'GET', path: this.path(name), signal });
    } catch (err) {
      if (isNotFound(err) && err.status.details?.name) return undefined;
      throw explainKubeError(err, {
        verb: 'get',
        kind: this.kind,
        namespace: this.namespace,
        name,
        cluster: this.client.connection.description,
      });
    }
  }

  /** Every object matching the selectors, following `continue` tokens. */
  list(options: ListOptions = {}): Promise<T[]> {
    return this.call('list', undefined, async () => {
      const items: T[] = [];
      let token: string | undefined;
      do {
        const page = await this.client.request<KubeList<T>>({
          method: 'GET',
          path: this.path(),
          query: {
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            limit: '500',
            continue: token,
          },
          signal: options.signal,
        });
        items.push(...(page.items ?? []));
        token = page.metadata?.continue || undefined;
      } while (token);
      return items;
    });
  }

  create(object: T, options: WriteOptions = {}): Promise<T> {
    const body = {
      apiVersion: apiVersionOf(this.kind),
      kind: this.kind.kind,
      ...object,
      metadata: { ...object.metadata, namespace: this.namespace },
    };
    return this.call('create', object.metadata?.name, () =>
      this.client.request<T>({
        method: 'POST',
        path: this.path(),
        query: this.writeQuery(options),
        body,
        signal: options.signal,
      }),
    );
  }

  /** PUT: with metadata.resourceVersion set, a 409 Conflict when the object changed since it was read. */
  replace(object: T, options: WriteOptions = {}): Promise<T> {
    const name = object.metadata?.name ?? '';
    return this.call('update', name, () =>
      this.client.request<T>({
        method: 'PUT',
        path: this.path(name),
        query: this.writeQuery(options),
        body: object,
        signal: options.signal,
      }),
    );
  }

  patch(name: string, patch: unknown, type: PatchType, options: WriteOptions = {}): Promise<T> {
    return this.call('patch', name, () =>
      this.client.request<T>({
        method: 'PATCH',
        path: this.path(name),
        query: this.writeQuery(options),
        body: patch,
        contentType: PATCH_CONTENT[type],
        signal: options.signal,
      }),
    );
  }

  /**
   * Server-side apply: creates the object or sets the fields it gives, taking them over
   * from other managers (force), as `kubectl apply --server-side --force-conflicts` does.
   */
  apply(object: T, options: WriteOptions & { fieldManager?: string } = {}): Promise<T> {
    const name = object.metadata?.name ?? '';
    const body = {
      apiVersion: apiVersionOf(this.kind),
      kind: this.kind.kind,
      ...object,
      metadata: { ...object.metadata, namespace: this.namespace },
    };
    return this.call('patch', name, () =>
      this.client.request<T>({
        method: 'PATCH',
        path: this.path(name),
        query: this.writeQuery(options, { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: 'true' }),
        body,
        contentType: 'application/apply-patch+yaml',
        signal: options.signal,
      }),
    );
  }

  /** Deletes the object; false when there was nothing to delete. */
  async delete(
    name: string,
    options: WriteOptions & { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' } = {},
  ): Promise<boolean> {
    try {
      await this.client.request({
        method: 'DELETE',
        path: this.path(name),
        query: options.dryRun ? { dryRun: 'All' } : {},
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy ?? 'Background' },
        signal: options.signal,
      });
      return true;
    } catch (err) {
      if (isNotFound(err) && err.status.details?.name) return false;
      throw explainKubeError(err, {
        verb: 'delete',
        kind: this.kind,
        namespace: this.namespace,
        name,
        cluster: this.client.connection.description,
      });
    }
  }

  /**
   * Read, change, write back with the resourceVersion that was read; when someone else
   * wrote in between (409 Conflict), read again and redo the change. `mutate` gets a copy
   * and returns the new object, or undefined for "no change needed".
   */
  async update(
    name: string,
    mutate: (live: T) => T | undefined | Promise<T | undefined>,
    options: WriteOptions & { attempts?: number } = {},
  ): Promise<UpdateResult<T>> {
    const attempts = options.attempts ?? 5;
    for (let conflicts = 0; ; conflicts++) {
      const live = await this.get(name, options.signal);
      const next = await mutate(clone(live));
      if (next === undefined) return { object: live, changed: false, conflicts };
      next.metadata = { ...next.metadata, resourceVersion: live.metadata?.resourceVersion };
      try {
        return { object: await this.replaceRaw(next, options), changed: true, conflicts };
      } catch (err) {
        if (!isConflict(err) || conflicts + 1 >= attempts) {
          throw explainKubeError(err, {
            verb: 'update',
            kind: this.kind,
            namespace: this.namespace,
            name,
            cluster: this.client.connection.description,
          });
        }
      }
    }
  }

  private replaceRaw(object: T, options: WriteOptions): Promise<T> {
    return this.client.request<T>({
      method: 'PUT',
      path: this.path(object.metadata?.name ?? ''),
      query: this.writeQuery(options),
      body: object,
      signal: options.signal,
    });
  }
}

/** Typed access to one resource type in one namespace. */
export function resource<T extends Metadata>(
  client: KubeClient,
  kind: ResourceKind<T>,
  namespace: string,
): ResourceApi<T> {
  return new ResourceApi(client, kind, namespace);
}
