/**
 * The GKE Container API, for what a deploy needs to reach a cluster: its control plane
 * endpoint and the CA that signs it (projects.locations.clusters.get), as
 * `gcloud container clusters get-credentials` does, without gcloud.
 */
import { UserError } from '../util/errors.js';
import { googleEndpoint } from './endpoints.js';
import { GoogleApiError, googleJson } from './http.js';

/** A cluster, by project, location (region or zone) and name. */
export interface ClusterRef {
  project: string;
  location: string;
  cluster: string;
}

/** The fields of the Container API's Cluster we read (v1). */
interface ClusterResource {
  name?: string;
  location?: string;
  status?: string;
  statusMessage?: string;
  endpoint?: string;
  currentMasterVersion?: string;
  masterAuth?: { clusterCaCertificate?: string };
  privateClusterConfig?: { enablePrivateEndpoint?: boolean; privateEndpoint?: string; publicEndpoint?: string };
  controlPlaneEndpointsConfig?: {
    dnsEndpointConfig?: { endpoint?: string; allowExternalTraffic?: boolean };
    ipEndpointsConfig?: {
      enabled?: boolean;
      enablePublicEndpoint?: boolean;
      publicEndpoint?: string;
      privateEndpoint?: string;
    };
  };
}

export interface ClusterAccess {
  /** https://IP or https://DNS-endpoint. */
  server: string;
  /** PEM of the cluster CA; absent for the DNS endpoint, whose certificate is publicly trusted. */
  caPem?: string;
  status: string;
  version?: string;
  /** "GKE cluster project/location/name", for messages. */
  description: string;
}

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const LOCATION = /^[a-z]+-[a-z]+\d+(-[a-z])?$/;
const CLUSTER = /^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$/;
const FULL_NAME = /^projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/;

const noProjectId = (): UserError =>
  new UserError(
    'A GKE cluster needs project-id.',
    'Set project-id (or run gcp-auth with project-id earlier, which exports it), or write cluster as projects/P/locations/L/clusters/NAME.',
  );

const noLocation = (): UserError =>
  new UserError(
    'A GKE cluster needs location: its region (us-central1) or, for a zonal cluster, its zone (us-central1-a).',
  );

/** Checks the three inputs (cluster may be a full resource name, which then supplies the others). */
export function clusterRef(project: string | undefined, location: string | undefined, cluster: string): ClusterRef {
  const full = FULL_NAME.exec(cluster.trim());
  const ref = full
    ? { project: full[1] as string, location: full[2] as string, cluster: full[3] as string }
    : { project: project ?? '', location: location ?? '', cluster: cluster.trim() };
  if (!ref.project) throw noProjectId();
  if (!PROJECT.test(ref.project))
    throw new UserError(
      `project-id '${ref.project}' is not a project id.`,
      'Project ids are 6 to 30 lowercase letters, digits and hyphens, starting with a letter.',
    );
  if (!ref.location) throw noLocation();
  if (!LOCATION.test(ref.location))
    throw new UserError(
      `location '${ref.location}' is not a Google Cloud region or zone.`,
      'Write a region such as europe-west1 or a zone such as europe-west1-b.',
    );
  if (!CLUSTER.test(ref.cluster))
    throw new UserError(
      `cluster '${ref.cluster}' is not a GKE cluster name.`,
      'Cluster names are up to 40 lowercase letters, digits and hyphens, starting with a letter.',
    );
  return ref;
}

const describeRefused = (name: string, err: GoogleApiError): UserError =>
  new UserError(
    `Google refused to describe GKE cluster ${name} (${err.code}: ${err.detail}).`,
    'The identity from gcp-auth needs container.clusters.get on the project: roles/container.clusterViewer, or roles/container.developer, which also grants the in-cluster access a deploy needs.',
  );

const noSuchCluster = (ref: ClusterRef, err: GoogleApiError): UserError =>
  new UserError(
    `There is no GKE cluster ${ref.cluster} in project ${ref.project}, location ${ref.location} (${err.detail}).`,
    `List them with: gcloud container clusters list --project ${ref.project}. Regional clusters take the region as location, zonal ones the zone.`,
  );

function explain(err: unknown, ref: ClusterRef): unknown {
  if (!(err instanceof GoogleApiError) || err.httpStatus >= 500 || err.httpStatus === 429) return err;
  const name = `${ref.project}/${ref.location}/${ref.cluster}`;
  if (/SERVICE_DISABLED|has not been used|is disabled/i.test(`${err.code} ${err.detail}`)) {
    return new UserError(
      `The Kubernetes Engine API is not enabled in project ${ref.project} (${err.detail}).`,
      `Enable it: gcloud services enable container.googleapis.com --project ${ref.project}`,
    );
  }
  if (err.httpStatus === 403) {
    return describeRefused(name, err);
  }
  if (err.httpStatus === 404) {
    return noSuchCluster(ref, err);
  }
  if (err.httpStatus === 401)
    return new UserError(
      `Google did not accept the access token (${err.detail}).`,
      'Run gcp-auth earlier in this job.',
    );
  return new UserError(`The Container API rejected the request for ${name} (${err.code}: ${err.detail}).`);
}

const USABLE = new Set(['RUNNING', 'RECONCILING', 'DEGRADED']);

const clusterNotRunning = (description: string, status: string, c: ClusterResource): UserError =>
  new UserError(
    `${description} is ${status}${c.statusMessage ? ` (${c.statusMessage})` : ''}, so it cannot take a deploy now.`,
    'Wait until it is RUNNING (gcloud container clusters describe), then run the job again.',
  );

/** Endpoint and CA of a cluster, read with the caller's access token. */
export async function clusterAccess(ref: ClusterRef, token: string, signal?: AbortSignal): Promise<ClusterAccess> {
  const url = `${googleEndpoint('container')}/v1/projects/${encodeURIComponent(ref.project)}/locations/${encodeURIComponent(ref.location)}/clusters/${encodeURIComponent(ref.cluster)}`;
  const c = await googleJson<ClusterResource>(url, { token, signal }).catch((err: unknown) => {
    throw explain(err, ref);
  });
  const description = `GKE cluster ${ref.project}/${ref.location}/${ref.cluster}`;
  const status = c.status ?? 'STATUS_UNSPECIFIED';
  if (!USABLE.has(status)) {
    throw clusterNotRunning(description, status, c);
  }
  const ip = c.controlPlaneEndpointsConfig?.ipEndpointsConfig;
  const dns = c.controlPlaneEndpointsConfig?.dnsEndpointConfig?.endpoint;
  if (ip?.enabled === false && dns) {
    // Only the DNS endpoint is on: its certificate chains to public roots.
    return { server: `https://${dns}`, status, version: c.currentMasterVersion, description };
  }
  const ca = c.masterAuth?.clusterCaCertificate;
  if (!c.endpoint || !ca)
    throw new Error(`The Container API described ${description} without an endpoint or CA certificate.`);
  return {
    server: `https://${c.endpoint}`,
    caPem: Buffer.from(ca, 'base64').toString('utf8'),
    status,
    version: c.currentMasterVersion,
    description,
  };
}
