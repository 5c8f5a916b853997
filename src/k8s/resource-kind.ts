/**
 * What a Kubernetes resource type is, as data: its API group, version and URL segment.
 * Kept apart from the operations (resources.ts) so that error explanations can name a
 * resource type without importing the operations that raise them.
 */
import type { ObjectMeta } from './types.js';

/** What every object has; the constraint of the typed operations. */
export type Metadata = { apiVersion?: string; kind?: string; metadata?: ObjectMeta };

/** A resource type: where it lives in the REST API. The type parameter is its object type. */
export interface ResourceKind<T extends Metadata = Metadata> {
  /** '' for the core group. */
  group: string;
  version: string;
  /** The URL segment: deployments. */
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Only carries T; never set. */
  readonly _type?: T;
}
