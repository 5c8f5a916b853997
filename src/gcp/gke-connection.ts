/**
 * How a GKE deploy reaches its cluster: the Container API's endpoint and CA with an access
 * token from gcp-auth's credentials, or a kubeconfig (whose gke-gcloud-auth-plugin users
 * get the same access token). Every token, Google's and the kubeconfig's, goes to
 * `onToken` (the action masks it) before any request can carry it.
 */
import type { KubeConnection } from '../k8s/client.js';
import { connectionTo } from '../k8s/client.js';
import { loadKubeconfig } from '../k8s/kubeconfig.js';
import { googleTokenSource, type GoogleTokenSource } from './access-token.js';
import { clusterAccess, type ClusterRef } from './container.js';

/** Where the cluster is: a GKE cluster by name, or a kubeconfig (undefined path: KUBECONFIG or ~/.kube/config). */
export type ClusterTarget =
  { kind: 'gke'; ref: ClusterRef } | { kind: 'kubeconfig'; path: string | undefined; context?: string };

/** Google access tokens, the credentials file read only when a token is first needed. */
export interface LazyGoogleTokens {
  token(signal?: AbortSignal): Promise<string>;
  /** Whether a token source was made (Google credentials were needed). */
  readonly used: boolean;
}

export function lazyGoogleTokens(
  onToken: (token: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): LazyGoogleTokens {
  let source: GoogleTokenSource | undefined;
  return {
    token: (signal) => {
      source ??= googleTokenSource({ env, onToken });
      return source.token(signal);
    },
    get used() {
      return source !== undefined;
    },
  };
}

/** The connection with every token it hands out passed to `onToken` first. */
export function maskedConnection(connection: KubeConnection, onToken: (token: string) => void): KubeConnection {
  const seen = new Set<string>();
  const inner = connection.credentials;
  return {
    ...connection,
    credentials: async () => {
      const creds = await inner();
      if (creds.token && !seen.has(creds.token)) {
        seen.add(creds.token);
        onToken(creds.token);
      }
      return creds;
    },
  };
}

export interface ConnectOptions {
  google: LazyGoogleTokens;
  onToken: (token: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where a relative kubeconfig path is resolved. */
  cwd?: string;
}

/** A connection to the cluster; GKE clusters are described first (endpoint, CA, status). */
export async function connectCluster(target: ClusterTarget, options: ConnectOptions): Promise<KubeConnection> {
  if (target.kind === 'gke') {
    const access = await clusterAccess(target.ref, await options.google.token(options.signal), options.signal);
    const connection = connectionTo({
      server: access.server,
      caPem: access.caPem,
      token: () => options.google.token(),
      description: access.description,
    });
    return maskedConnection(connection, options.onToken);
  }
  const connection = loadKubeconfig({
    ...(target.path ? { path: target.path } : {}),
    ...(target.context ? { context: target.context } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    googleToken: () => options.google.token(),
  });
  return maskedConnection(connection, options.onToken);
}
