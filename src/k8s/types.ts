/**
 * The Kubernetes objects this project reads and writes. Core types come from
 * kubernetes-types (generated from the official OpenAPI, types only: nothing is bundled);
 * the Gateway API's HTTPRoute is written here, with only the fields we use or keep.
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export type { Deployment, DeploymentCondition, DeploymentSpec, ReplicaSet } from 'kubernetes-types/apps/v1.js';
export type {
  Container,
  Event,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Service,
  ServicePort,
} from 'kubernetes-types/core/v1.js';
export type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
export type { Job } from 'kubernetes-types/batch/v1.js';
export type { Condition, LabelSelector, ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';

/** Any object with the type and object metadata every Kubernetes object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** A backendRef of an HTTPRoute rule (gateway.networking.k8s.io/v1 HTTPBackendRef). */
export interface HTTPBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  /** Share of the rule's traffic relative to the other refs' weights; default 1. */
  weight?: number;
  filters?: unknown[];
}

export interface HTTPRouteRule {
  name?: string;
  matches?: unknown[];
  filters?: unknown[];
  backendRefs?: HTTPBackendRef[];
  timeouts?: Record<string, string>;
  [field: string]: unknown;
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions?: Array<{
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason: string;
    message: string;
    observedGeneration?: number;
    lastTransitionTime: string;
  }>;
}

export interface HTTPRoute extends KubeObject {
  apiVersion?: 'gateway.networking.k8s.io/v1';
  kind?: 'HTTPRoute';
  spec?: { parentRefs?: ParentReference[]; hostnames?: string[]; rules?: HTTPRouteRule[] };
  status?: { parents: RouteParentStatus[] };
}

/** The Status object the API server answers errors with. */
export interface KubeStatus {
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}
