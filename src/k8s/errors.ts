/**
 * API server refusals as something a user can act on: who lacks which RBAC verb on what,
 * which object or resource type is missing, what the server found invalid.
 */
import { UserError } from '../util/errors.js';
import { KubeApiError } from './client.js';
import type { ResourceKind } from './resource-kind.js';

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

/** Every permission the rollout primitives use, per resource: the Role users grant (docs). */
export const RBAC_RULES: Array<{ apiGroup: string; resources: string[]; verbs: Verb[] }> = [
  { apiGroup: 'apps', resources: ['deployments'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
  { apiGroup: 'apps', resources: ['replicasets'], verbs: ['get', 'list'] },
  { apiGroup: '', resources: ['services'], verbs: ['get', 'create', 'update', 'patch', 'delete'] },
  { apiGroup: '', resources: ['pods', 'events'], verbs: ['list'] },
  { apiGroup: 'gateway.networking.k8s.io', resources: ['httproutes'], verbs: ['get', 'update', 'patch'] },
  { apiGroup: 'autoscaling', resources: ['horizontalpodautoscalers'], verbs: ['list'] },
];

/** The rules above as a Role's `rules:` in YAML, for hints and docs. */
export function rbacRulesYaml(): string {
  return RBAC_RULES.map(
    (r) =>
      `- apiGroups: ["${r.apiGroup}"]\n  resources: [${r.resources.map((x) => `"${x}"`).join(', ')}]\n  verbs: [${r.verbs.map((v) => `"${v}"`).join(', ')}]`,
  ).join('\n');
}

export interface Operation {
  verb: Verb;
  kind: ResourceKind;
  namespace?: string;
  name?: string;
  /** Where the cluster came from, for messages. */
  cluster: string;
}

function resourceName(kind: ResourceKind): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}

function what(op: Operation): string {
  const ns = op.namespace ? `${op.namespace}/` : '';
  return op.name
    ? `${op.kind.kind} ${ns}${op.name}`
    : `${op.kind.kind}s${op.namespace ? ` in namespace ${op.namespace}` : ''}`;
}

const invalidObject = (op: Operation, message: string, causes: string[], err: KubeApiError): UserError =>
  new UserError(
    `Kubernetes rejected ${what(op)} (${err.reason || err.httpStatus}): ${message}${causes.length ? `\n${causes.join('\n')}` : ''}`,
    'Fix the object (the manifest, or the inputs it was made from); `kubectl apply --dry-run=server -f FILE` shows the same check.',
    { cause: err },
  );

const unauthorized = (op: Operation, err: KubeApiError): UserError =>
  new UserError(
    `The Kubernetes API of ${op.cluster} did not accept our credentials (401 Unauthorized) when we tried to ${op.verb} ${what(op)}.`,
    'Tokens expire: for GKE run gcp-auth earlier in the job (its credentials renew themselves); for a kubeconfig, check the user entry of its current context.',
    { cause: err },
  );

const forbidden = (op: Operation, message: string, user: string | undefined, err: KubeApiError): UserError =>
  new UserError(
    `Kubernetes RBAC refused to ${op.verb} ${what(op)}: ${message}`,
    `Grant ${user ? `"${user}"` : 'the identity the workflow uses'} the verb ${op.verb} on ${resourceName(op.kind)}${op.namespace ? ` in namespace ${op.namespace}` : ''}. ` +
      `platform-actions needs a Role (or ClusterRole) with these rules, bound to that identity:\n${rbacRulesYaml()}\n` +
      'On GKE, roles/container.developer on the project grants all of them.',
    { cause: err },
  );

const notFound = (op: Operation, err: KubeApiError): UserError =>
  new UserError(
    `${what(op)} does not exist in ${op.cluster}.`,
    `Check the names and the namespace${op.kind.kind === 'Deployment' ? ', or pass manifests that create it' : ''}.`,
    { cause: err },
  );

const kindNotServed = (op: Operation, message: string, err: KubeApiError): UserError =>
  new UserError(
    `${op.cluster} does not serve ${resourceName(op.kind)}/${op.kind.version} (404: ${message}).`,
    op.kind.group === 'gateway.networking.k8s.io'
      ? 'Install the Gateway API CRDs (on GKE: gcloud container clusters update CLUSTER --gateway-api=standard), or deploy without http-route.'
      : `Check that the cluster runs a Kubernetes version that serves ${op.kind.group || 'core'}/${op.kind.version}.`,
    { cause: err },
  );

/** Turns an API error into a UserError where the user can fix the cause; otherwise returns it as it is. */
export function explainKubeError(err: unknown, op: Operation): unknown {
  if (!(err instanceof KubeApiError)) return err;
  const message = err.status.message ?? err.message;
  switch (err.httpStatus) {
    case 401:
      return unauthorized(op, err);
    case 403: {
      const user = /User "([^"]+)"/.exec(message)?.[1];
      return forbidden(op, message, user, err);
    }
    case 404: {
      const details = err.status.details ?? {};
      if (details.kind === 'namespaces') {
        return new UserError(
          `Namespace ${details.name ?? op.namespace} does not exist in ${op.cluster}.`,
          'Check the namespace input, or create the namespace first.',
          { cause: err },
        );
      }
      if (details.name) {
        return notFound(op, err);
      }
      // No name in the Status: the resource type itself is not served.
      return kindNotServed(op, message, err);
    }
    case 400:
    case 422: {
      const causes = (err.status.details?.causes ?? []).map(
        (c) => `  ${c.field ? `${c.field}: ` : ''}${c.message ?? c.reason ?? ''}`,
      );
      return invalidObject(op, message, causes, err);
    }
    case 409:
      if (err.reason === 'AlreadyExists') {
        return new UserError(
          `${what(op)} already exists.`,
          'Delete it, or let platform-actions update it instead of creating it.',
          { cause: err },
        );
      }
  }
  return err;
}
