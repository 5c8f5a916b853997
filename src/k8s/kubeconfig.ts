/**
 * A kubeconfig as kubectl reads it, down to one `KubeConnection`: the context (current
 * or named), its cluster (server, CA, TLS options) and its user, which authenticates
 * with a token, a token file, a client certificate, an exec plugin, or (for GKE) Google
 * credentials. `gke-gcloud-auth-plugin` and the old `gcp` auth-provider are not run: they
 * only turn Google credentials into an access token, which the caller supplies from the
 * gcp-auth credentials (`googleToken`), so no gcloud install is needed on the runner.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { errorMessage, UserError } from '../util/errors.js';
import type { KubeConnection, KubeCredentials } from './client.js';

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  installHint?: string;
  provideClusterInfo?: boolean;
}

interface UserEntry {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name?: string; config?: Record<string, string> };
  username?: string;
  password?: string;
}

interface ContextEntry {
  cluster?: string;
  user?: string;
  namespace?: string;
}

interface KubeconfigFile {
  path: string;
  clusters: Array<Named<ClusterEntry>>;
  users: Array<Named<UserEntry>>;
  contexts: Array<Named<ContextEntry>>;
  'current-context'?: string;
}

export interface KubeconfigOptions {
  /** The file; otherwise KUBECONFIG (a path list, merged as kubectl does), otherwise ~/.kube/config. */
  path?: string;
  /** Context to use instead of current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** Access tokens for users of gke-gcloud-auth-plugin or the gcp auth-provider. */
  googleToken?: () => Promise<string>;
  /** Where relative kubeconfig paths are resolved from when the file name is relative. Default: the working directory. */
  cwd?: string;
}

const b64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

function readConfig(path: string): KubeconfigFile {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(
      `Cannot read the kubeconfig ${path}: ${errorMessage(err)}`,
      'Pass the path of a kubeconfig file (YAML, as kubectl writes it).',
    );
  }
  const d = (doc ?? {}) as Partial<KubeconfigFile>;
  if (typeof d !== 'object' || Array.isArray(d)) throw new UserError(`The kubeconfig ${path} is not a YAML mapping.`);
  return {
    path,
    clusters: d.clusters ?? [],
    users: d.users ?? [],
    contexts: d.contexts ?? [],
    'current-context': d['current-context'],
  };
}

/** The files to read, in order: the first file to name an entry wins, as with kubectl. */
function configPaths(options: KubeconfigOptions): string[] {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.path) return [resolve(cwd, options.path)];
  if (env.KUBECONFIG)
    return env.KUBECONFIG.split(delimiter)
      .filter(Boolean)
      .map((p) => resolve(cwd, p));
  return [resolve(env.HOME ?? homedir(), '.kube', 'config')];
}

function pick<T>(
  files: KubeconfigFile[],
  list: 'clusters' | 'users' | 'contexts',
  name: string,
): { entry: T; file: KubeconfigFile } | undefined {
  const key = list === 'clusters' ? 'cluster' : list === 'users' ? 'user' : 'context';
  for (const file of files) {
    const hit = file[list].find((e) => e.name === name);
    if (hit) return { entry: (hit[key] ?? {}) as T, file };
  }
  return undefined;
}

/** A path written in a kubeconfig is relative to that file. */
function fileRelative(file: KubeconfigFile, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file.path), path);
}

function readPem(file: KubeconfigFile, path: string, what: string): string {
  const full = fileRelative(file, path);
  try {
    return readFileSync(full, 'utf8');
  } catch (err) {
    throw new UserError(
      `The kubeconfig ${file.path} names ${what} ${full}, which cannot be read (${errorMessage(err)}).`,
    );
  }
}

function isGkePlugin(exec: ExecConfig | undefined): boolean {
  return !!exec?.command && /^gke-gcloud-auth-plugin(\.exe)?$/.test(basename(exec.command));
}

interface ExecCredential {
  status?: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string };
}

const execPluginFailed = (
  missing: boolean,
  command: string,
  errOut: string,
  err: ExecFileException,
  exec: ExecConfig,
): UserError =>
  new UserError(
    missing
      ? `The kubeconfig's credential plugin ${command} is not installed on this runner.`
      : `The kubeconfig's credential plugin ${command} failed: ${String(errOut || errorMessage(err))
          .trim()
          .slice(0, 500)}`,
    exec.installHint ??
      'Install the plugin in an earlier step, or give the kubeconfig a user that authenticates with a token.',
  );

/** Runs an exec credential plugin (client.authentication.k8s.io) and keeps its answer until it expires. */
function execCredentials(
  exec: ExecConfig,
  file: KubeconfigFile,
  cluster: ClusterEntry,
  env: NodeJS.ProcessEnv,
): () => Promise<KubeCredentials> {
  let cached: { creds: KubeCredentials; until: number } | undefined;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  return async () => {
    if (cached && cached.until > Date.now() + 10_000) return cached.creds;
    const info = {
      apiVersion,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        ...(exec.provideClusterInfo
          ? {
              cluster: {
                server: cluster.server,
                'certificate-authority-data': cluster['certificate-authority-data'],
                'insecure-skip-tls-verify': cluster['insecure-skip-tls-verify'],
              },
            }
          : {}),
      },
    };
    const childEnv: NodeJS.ProcessEnv = { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of exec.env ?? []) childEnv[e.name] = e.value;
    const command = exec.command as string;
    const cmd = command.includes('/') || command.includes('\\') ? fileRelative(file, command) : command;
    const stdout = await new Promise<string>((res, rej) => {
      execFile(cmd, exec.args ?? [], { env: childEnv, timeout: 60_000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
        if (!err) return res(out);
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        rej(execPluginFailed(missing, command, errOut, err, exec));
      });
    });
    let out: ExecCredential;
    try {
      out = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new UserError(
        `The credential plugin ${command} printed something that is not an ExecCredential.`,
        'It must print a client.authentication.k8s.io ExecCredential as JSON.',
      );
    }
    const s = out.status ?? {};
    if (!s.token && !(s.clientCertificateData && s.clientKeyData)) {
      throw new UserError(`The credential plugin ${command} returned neither a token nor a client certificate.`);
    }
    const creds: KubeCredentials = s.token
      ? { token: s.token }
      : { cert: s.clientCertificateData, key: s.clientKeyData };
    cached = { creds, until: s.expirationTimestamp ? Date.parse(s.expirationTimestamp) : Number.POSITIVE_INFINITY };
    return creds;
  };
}

const noGoogleCredentialsForUser = (user: string): UserError =>
  new UserError(
    `The kubeconfig user ${user} authenticates with Google credentials, and none are available to this step.`,
    'Run google-github-actions/auth or platform-actions gcp-auth earlier in the job (it exports GOOGLE_APPLICATION_CREDENTIALS), or give project-id, location and cluster instead of a kubeconfig.',
  );

function googleCredentials(options: KubeconfigOptions, user: string): () => Promise<KubeCredentials> {
  const source = options.googleToken;
  if (!source) {
    throw noGoogleCredentialsForUser(user);
  }
  return async () => ({ token: await source() });
}

const unsupportedAuthProvider = (name: string, provider: string): UserError =>
  new UserError(
    `The kubeconfig user ${name} uses the ${provider} auth-provider, which platform-actions does not support.`,
    'Use a token, a client certificate or an exec credential plugin instead.',
  );

const basicAuthRemoved = (name: string): UserError =>
  new UserError(
    `The kubeconfig user ${name} uses a username and password; Kubernetes removed basic authentication in 1.19.`,
    'Use a token, a client certificate or an exec credential plugin.',
  );

function userCredentials(
  u: UserEntry,
  name: string,
  file: KubeconfigFile,
  cluster: ClusterEntry,
  options: KubeconfigOptions,
): () => Promise<KubeCredentials> {
  const env = options.env ?? process.env;
  const certificate = u['client-certificate-data']
    ? b64(u['client-certificate-data'])
    : u['client-certificate']
      ? readPem(file, u['client-certificate'], 'the client certificate')
      : undefined;
  const key = u['client-key-data']
    ? b64(u['client-key-data'])
    : u['client-key']
      ? readPem(file, u['client-key'], 'the client key')
      : undefined;
  if (certificate && !key)
    throw new UserError(`The kubeconfig user ${name} has a client certificate but no client key.`);
  const tls = certificate ? { cert: certificate, key } : {};
  if (u.token) {
    const token = u.token;
    return async () => ({ ...tls, token });
  }
  if (u.tokenFile) {
    const path = fileRelative(file, u.tokenFile);
    // Read each time: projected service account tokens are rotated in place.
    return async () => ({ ...tls, token: readFileSync(path, 'utf8').trim() });
  }
  if (isGkePlugin(u.exec) || u['auth-provider']?.name === 'gcp') return googleCredentials(options, name);
  if (u.exec?.command) return execCredentials(u.exec, file, cluster, env);
  if (u['auth-provider']?.name === 'oidc') {
    const token = u['auth-provider'].config?.['id-token'];
    if (!token)
      throw new UserError(
        `The kubeconfig user ${name} uses the oidc auth-provider without an id-token.`,
        'Put a current id-token in it, or use an exec plugin such as kubelogin.',
      );
    return async () => ({ ...tls, token });
  }
  if (u['auth-provider']?.name) {
    throw unsupportedAuthProvider(name, u['auth-provider'].name);
  }
  if (u.username || u.password) {
    throw basicAuthRemoved(name);
  }
  if (certificate) return async () => tls;
  throw new UserError(
    `The kubeconfig user ${name} has no credentials we can use.`,
    'Give it a token, tokenFile, client certificate and key, or an exec credential plugin.',
  );
}

const noKubeconfig = (paths: string[]): UserError =>
  new UserError(
    `There is no kubeconfig at ${paths.join(', ')}.`,
    'Pass the kubeconfig input (a path), or project-id, location and cluster for GKE (with gcp-auth earlier in the job).',
  );

const clusterWithoutServer = (contextName: string, clusterName: string, first: KubeconfigFile): UserError =>
  new UserError(
    `The kubeconfig context ${contextName} names the cluster '${clusterName}', which has no server in ${first.path}.`,
  );

/** The connection the kubeconfig's current (or named) context describes. */
export function loadKubeconfig(options: KubeconfigOptions = {}): KubeConnection {
  const paths = configPaths(options);
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) {
    throw noKubeconfig(paths);
  }
  const files = existing.map(readConfig);
  const first = files[0] as KubeconfigFile;
  const contextName = options.context ?? files.find((f) => f['current-context'])?.['current-context'];
  if (!contextName)
    throw new UserError(
      `The kubeconfig ${first.path} has no current-context.`,
      'Set one with `kubectl config use-context NAME`, or write current-context: in the file.',
    );
  const context = pick<ContextEntry>(files, 'contexts', contextName);
  if (!context)
    throw new UserError(
      `The kubeconfig ${first.path} has no context named ${contextName}.`,
      `Contexts: ${files.flatMap((f) => f.contexts.map((c) => c.name)).join(', ') || 'none'}.`,
    );
  const clusterName = context.entry.cluster ?? '';
  const cluster = pick<ClusterEntry>(files, 'clusters', clusterName);
  if (!cluster?.entry.server) throw clusterWithoutServer(contextName, clusterName, first);
  const c = cluster.entry;
  if (c['proxy-url'])
    throw new UserError(
      `The kubeconfig cluster ${clusterName} uses proxy-url, which platform-actions does not support.`,
      'Reach the API server directly (GKE: a public or DNS endpoint, or a runner inside the network).',
    );
  const userName = context.entry.user ?? '';
  const user = pick<UserEntry>(files, 'users', userName);
  if (!user)
    throw new UserError(
      `The kubeconfig context ${contextName} names the user '${userName}', which is not in ${first.path}.`,
    );

  const ca = c['certificate-authority-data']
    ? b64(c['certificate-authority-data'])
    : c['certificate-authority']
      ? readPem(cluster.file, c['certificate-authority'], 'the CA file')
      : undefined;
  return {
    server: c.server as string,
    ca,
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: c['tls-server-name'],
    credentials: userCredentials(user.entry, userName, user.file, c, options),
    description: `kubeconfig ${first.path} (context ${contextName})`,
    namespace: context.entry.namespace,
  };
}
