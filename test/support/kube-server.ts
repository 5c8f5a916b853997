/**
 * A stand-in Kubernetes API server (no real one can run here), serving exactly what the
 * k8s client uses: apps/v1 Deployments and ReplicaSets, v1 Services, Pods and Events,
 * gateway.networking.k8s.io/v1 HTTPRoutes, batch/v1 Jobs and pods' logs (kube-jobs.ts). HTTPS with a test certificate, bearer-token
 * or client-certificate authentication, RBAC refusals on demand.
 *
 * It keeps the API server's rules that clients trip over: resourceVersion (a write with a
 * stale one is 409 Conflict), metadata.generation bumped on spec changes, status kept
 * apart from spec, create / PUT / merge patch / JSON patch / server-side apply, dry runs,
 * label and field selectors, paged lists. Every object written, and every object the
 * simulated controllers write (kube-controller.ts), is checked against the official
 * schemas (kube-schema.ts); anything the client sends that a real server would reject or
 * that the stand-in does not know is recorded in `problems`, which tests assert empty.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startControllers, type Controllers } from './kube-controller.js';
import { schemaProblems, type SchemaKind } from './kube-schema.js';
import { podLogAnswer, startJobController, type JobController } from './kube-jobs.js';

/** A stored object: plain JSON. */
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: SchemaKind;
  /** Spec changes bump metadata.generation. */
  generation: boolean;
}

export const RESOURCES: Resource[] = [
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', generation: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', generation: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', generation: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', generation: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', generation: false },
  { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', generation: true },
  // autoscaling/v2 HPAs: stored and listed; `autoscale` plays their controller.
  {
    group: 'autoscaling',
    version: 'v2',
    plural: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    generation: true,
  },
  // batch/v1 Jobs: kube-jobs.ts plays their controller and their pods' kubelet.
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', generation: true },
];

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
  body?: unknown;
}

export type ImageFailure = 'ImagePullBackOff' | 'CrashLoopBackOff';

export interface KubeServer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** PEM of the server certificate (self-signed, CA:TRUE): the cluster CA. */
  caPem: string;
  /** A bearer token the server accepts. */
  token: string;
  /** A client certificate and key the server accepts. */
  client: { cert: string; key: string };
  /** The user name refusals name (as RBAC messages do). */
  user: string;
  /** Also accept bearer tokens this says yes to (e.g. Google access tokens for GKE). */
  acceptToken(check: (token: string) => boolean): void;
  /** Writes a kubeconfig for this server; returns its path. */
  kubeconfig(options?: KubeconfigOptions): string;
  problems: string[];
  requests: RecordedRequest[];
  /** Requests of one method and resource (plural), e.g. ('PUT', 'deployments'). */
  requestsOf(method: string, plural: string): RecordedRequest[];

  /** The stored object, or undefined. A copy. */
  get(plural: string, namespace: string, name: string): Obj | undefined;
  list(plural: string, namespace?: string): Obj[];
  /** Stores an object as if a user had created it (defaults, generation, resourceVersion). */
  seed(plural: string, namespace: string, object: Obj): Obj;
  /** Changes an object as a person with `kubectl edit` would: a new generation, checked against the schema, no request recorded. */
  edit(plural: string, namespace: string, name: string, change: (object: Obj) => void): Obj;

  /** Images whose pods never become ready, and how they fail. */
  failImage(image: string, how: ImageFailure): void;
  /**
   * What the HPA controller does when its metrics ask for `replicas`: sets the target
   * Deployment's spec.replicas (clamped to min/max, generation bumped) and the HPA's status.
   */
  autoscale(namespace: string, hpa: string, replicas: number): void;
  /** RBAC: refuse this verb on this resource (plural) from now on. */
  deny(verb: string, plural: string): void;
  /** Stop serving a resource type (e.g. httproutes: the Gateway API CRDs are not installed). */
  unserve(plural: string): void;
  /** The next `times` writes to this object meet another writer first (409 Conflict for a stale resourceVersion). */
  interfere(plural: string, namespace: string, name: string, times?: number): void;
  /** The next `times` requests of this method to this resource (plural) fail with this HTTP status (429, 5xx). */
  fault(method: string, plural: string, status: number, times?: number): void;
  /** Largest page a list returns (default 500). */
  pageSize: number;
  /** The simulated deployment and gateway controllers. */
  controllers: Controllers;
  /** The simulated Job controller: `jobs.behave(image, { lines, runMs, exitCode })`. */
  jobs: JobController;
  reset(): void;
  close(): Promise<void>;
}

export interface KubeconfigOptions {
  /** How the user authenticates: token (default), client certificate, an exec plugin, or GKE's plugin. */
  auth?: 'token' | 'client-certificate' | 'exec' | 'gke';
  namespace?: string;
  /** For `exec`: the command (and args) to run. */
  exec?: { command: string; args?: string[] };
  dir?: string;
}

/** What the stand-in keeps per object beside it. */
export interface Stored {
  resource: Resource;
  object: Obj;
}

export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function makeCertificate(dir: string, name: string, san: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${san}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

// --- selectors ----------------------------------------------------------------------

/** Parses a label selector (=, ==, !=, in, notin, exists, !exists); throws on syntax it does not know. */
export function labelMatcher(selector: string): (labels: Record<string, string>) => boolean {
  const tests: Array<(l: Record<string, string>) => boolean> = [];
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, k, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((s) => s.trim());
      tests.push(op === 'in' ? (l) => values.includes(l[k] ?? '\u0000') : (l) => !values.includes(l[k] ?? '\u0000'));
    } else if ((m = /^(!?)([\w./-]+)$/.exec(p))) {
      const [, not, k] = m as unknown as [string, string, string];
      tests.push(not ? (l) => !(k in l) : (l) => k in l);
    } else throw new Error(`cannot parse label selector term '${p}'`);
  }
  return (labels) => tests.every((t) => t(labels ?? {}));
}

/** Parses a field selector (k=v, k==v, k!=v on dotted paths). */
export function fieldMatcher(selector: string): (o: Obj) => boolean {
  const tests = selector
    .split(',')
    .filter(Boolean)
    .map((p) => {
      const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(p.trim());
      if (!m) throw new Error(`cannot parse field selector term '${p}'`);
      const [, path, op, v] = m as unknown as [string, string, string, string];
      const get = (o: Obj) => String(path.split('.').reduce<unknown>((x, k) => (x as Obj | undefined)?.[k], o) ?? '');
      return op === '!=' ? (o: Obj) => get(o) !== v : (o: Obj) => get(o) === v;
    });
  return (o) => tests.every((t) => t(o));
}

// --- patches ------------------------------------------------------------------------

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch (add, remove, replace, test, move, copy). Throws with the server's wording on a failed op. */
export function jsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw new Error('the JSON patch is not an array of operations');
  const doc = clone(target);
  const split = (path: string) =>
    path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const parentOf = (path: string): [Obj | unknown[], string] => {
    const keys = split(path);
    const last = keys.pop() as string;
    let node: unknown = doc;
    for (const k of keys) {
      node = (node as Obj)?.[k];
      if (node === undefined) throw new Error(`doc is missing path: "${path}"`);
    }
    return [node as Obj, last];
  };
  const read = (path: string) => split(path).reduce<unknown>((x, k) => (x as Obj | undefined)?.[k], doc);
  for (const op of ops as Array<{ op: string; path: string; value?: unknown; from?: string }>) {
    const put = (path: string, value: unknown, insert: boolean) => {
      const [parent, key] = parentOf(path);
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!Number.isInteger(i) || i < 0 || i > parent.length)
          throw new Error(`add operation does not apply: index ${key} out of range`);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else (parent as Obj)[key] = value;
    };
    const remove = (path: string) => {
      const [parent, key] = parentOf(path);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else {
        if (!(key in (parent as Obj))) throw new Error(`remove operation does not apply: doc is missing key: ${path}`);
        delete (parent as Obj)[key];
      }
    };
    switch (op.op) {
      case 'add':
        put(op.path, clone(op.value), true);
        break;
      case 'replace':
        if (read(op.path) === undefined)
          throw new Error(`replace operation does not apply: doc is missing key: ${op.path}`);
        put(op.path, clone(op.value), false);
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'test':
        if (JSON.stringify(read(op.path)) !== JSON.stringify(op.value))
          throw new Error(`testing value ${op.path} failed`);
        break;
      case 'move':
      case 'copy': {
        const v = clone(read(op.from ?? ''));
        if (op.op === 'move') remove(op.from ?? '');
        put(op.path, v, true);
        break;
      }
      default:
        throw new Error(`unknown JSON patch operation '${op.op}'`);
    }
  }
  return doc;
}

/**
 * Server-side apply, simplified for one applier: the applied configuration's fields are
 * set (maps merged key by key, lists replaced whole), fields it leaves out are kept.
 * The real server tracks field ownership per manager; with one manager that applies the
 * same shape each time the result is the same.
 */
export function applyMerge(live: unknown, applied: unknown): unknown {
  if (applied === null || typeof applied !== 'object' || Array.isArray(applied)) return clone(applied);
  const out: Obj = live !== null && typeof live === 'object' && !Array.isArray(live) ? clone(live as Obj) : {};
  for (const [k, v] of Object.entries(applied)) out[k] = applyMerge(out[k], v);
  return out;
}

// --- the server ---------------------------------------------------------------------

const QUERY: Record<string, string[]> = {
  list: ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'pretty'],
  get: ['pretty', 'resourceVersion'],
  create: ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'],
  update: ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'],
  patch: ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'],
  delete: ['dryRun', 'gracePeriodSeconds', 'propagationPolicy', 'pretty'],
};

const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
];

export async function startKubeServer(): Promise<KubeServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pa-kube-'));
  const serverCert = makeCertificate(dir, 'kube-apiserver', 'IP:127.0.0.1,DNS:localhost');
  const clientCert = makeCertificate(dir, 'deployer', 'DNS:deployer');
  const clientFingerprint = createHash('sha256')
    .update(Buffer.from(clientCert.cert.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
    .digest('hex');
  const token = `kube-token-${randomUUID()}`;
  const acceptors: Array<(t: string) => boolean> = [];

  let store = new Map<string, Stored>(); // plural/ns/name → object
  let rv = 1000;
  let denied = new Set<string>();
  let unserved = new Set<string>();
  let interfering = new Map<string, number>();
  let faults: Array<{ method: string; plural: string; status: number; times: number }> = [];
  const failures = new Map<string, ImageFailure>();

  const key = (plural: string, ns: string, name: string) => `${plural}/${ns}/${name}`;
  const resourceOf = (plural: string) => RESOURCES.find((r) => r.plural === plural);
  const nextVersion = () => String(++rv);

  const server: KubeServer = {
    url: '',
    caPem: serverCert.cert,
    token,
    client: clientCert,
    user: 'system:serviceaccount:ci:deployer',
    acceptToken: (check) => acceptors.push(check),
    kubeconfig: (options = {}) => writeKubeconfig(server, options, options.dir ?? dir),
    problems: [],
    requests: [],
    requestsOf: (method, plural) =>
      server.requests.filter((r) => r.method === method && r.path.split('/').includes(plural)),
    get: (plural, ns, name) => clone(store.get(key(plural, ns, name))?.object),
    list: (plural, ns) =>
      [...store.values()]
        .filter((s) => s.resource.plural === plural && (ns === undefined || s.object.metadata.namespace === ns))
        .map((s) => clone(s.object)),
    seed: (plural, ns, object) => {
      const r = resourceOf(plural);
      if (!r) throw new Error(`the stand-in does not serve ${plural}`);
      return clone(write(r, ns, prepareCreate(r, ns, clone(object))));
    },
    edit: (plural, ns, name, change) => {
      const live = store.get(key(plural, ns, name))?.object;
      if (!live) throw new Error(`no ${plural} ${ns}/${name} to edit`);
      const o = clone(live);
      change(o);
      o.metadata.generation = (live.metadata.generation ?? 1) + 1;
      return clone(system.update(plural, o));
    },
    failImage: (image, how) => failures.set(image, how),
    autoscale: (ns, name, replicas) => {
      const hpa = store.get(key('horizontalpodautoscalers', ns, name))?.object;
      if (!hpa) throw new Error(`no HorizontalPodAutoscaler ${ns}/${name}`);
      const ref = hpa.spec.scaleTargetRef;
      const target = ref.kind === 'Deployment' ? store.get(key('deployments', ns, ref.name))?.object : undefined;
      if (!target)
        throw new Error(
          `HorizontalPodAutoscaler ${name} targets ${ref.kind} ${ref.name}, which the stand-in does not have`,
        );
      const desired = Math.min(hpa.spec.maxReplicas, Math.max(hpa.spec.minReplicas ?? 1, replicas));
      const current = target.spec.replicas;
      if (current !== desired)
        system.update('deployments', {
          ...target,
          spec: { ...target.spec, replicas: desired },
          metadata: { ...target.metadata, generation: target.metadata.generation + 1 },
        });
      system.update('horizontalpodautoscalers', {
        ...hpa,
        status: {
          ...(hpa.status ?? {}),
          currentReplicas: current,
          desiredReplicas: desired,
          lastScaleTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      });
    },
    deny: (verb, plural) => denied.add(`${verb} ${plural}`),
    unserve: (plural) => unserved.add(plural),
    interfere: (plural, ns, name, times = 1) => interfering.set(key(plural, ns, name), times),
    fault: (method, plural, status, times = 1) => faults.push({ method, plural, status, times }),
    pageSize: 500,
    controllers: undefined as unknown as Controllers,
    jobs: undefined as unknown as JobController,
    reset: () => {
      store = new Map();
      denied = new Set();
      unserved = new Set();
      interfering = new Map();
      faults = [];
      failures.clear();
      server.problems.length = 0;
      server.requests.length = 0;
      server.pageSize = 500;
      server.controllers.reset();
      server.jobs.reset();
    },
    close: async () => {
      server.controllers.stop();
      server.jobs.stop();
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    },
  };

  /** Checks an object against its schema; the problems also go to server.problems. */
  function validate(r: Resource, object: Obj, who: string): string[] {
    const found = schemaProblems(r.kind, object);
    server.problems.push(
      ...found.map((p) => `${who} ${r.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}: ${p}`),
    );
    return found;
  }

  /** Defaults the API server fills in on create (the ones clients see and send back). */
  function withDefaults(r: Resource, o: Obj): Obj {
    if (r.kind === 'Deployment') {
      o.spec ??= {};
      o.spec.replicas ??= 1;
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.progressDeadlineSeconds ??= 600;
      o.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      const pod = (o.spec.template ??= {}).spec ?? {};
      pod.restartPolicy ??= 'Always';
      pod.dnsPolicy ??= 'ClusterFirst';
      for (const c of pod.containers ?? [])
        c.imagePullPolicy ??= /:latest$|^[^:@]*$/.test(c.image ?? '') ? 'Always' : 'IfNotPresent';
    }
    if (r.kind === 'Job') {
      // What the API server fills in for a Job (its pods are selected by the Job's uid).
      o.spec ??= {};
      o.spec.completions ??= 1;
      o.spec.parallelism ??= 1;
      o.spec.backoffLimit ??= 6;
      o.spec.completionMode ??= 'NonIndexed';
      o.spec.suspend ??= false;
      const uid = o.metadata.uid;
      const tmpl = (o.spec.template ??= {});
      tmpl.metadata = {
        ...tmpl.metadata,
        labels: {
          ...(tmpl.metadata?.labels ?? {}),
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': o.metadata.name,
          'controller-uid': uid,
          'job-name': o.metadata.name,
        },
      };
      o.spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      const pod = tmpl.spec ?? {};
      pod.dnsPolicy ??= 'ClusterFirst';
      for (const c of pod.containers ?? [])
        c.imagePullPolicy ??= /:latest$|^[^:@]*$/.test(c.image ?? '') ? 'Always' : 'IfNotPresent';
    }
    if (r.kind === 'Service') {
      o.spec ??= {};
      o.spec.type ??= 'ClusterIP';
      o.spec.sessionAffinity ??= 'None';
      for (const p of o.spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      if (o.spec.type !== 'ExternalName' && o.spec.clusterIP === undefined) {
        o.spec.clusterIP = `10.96.${(rv >> 8) & 255}.${rv & 255}`;
        o.spec.clusterIPs = [o.spec.clusterIP];
      }
    }
    return o;
  }

  function prepareCreate(r: Resource, ns: string, o: Obj): Obj {
    o.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    o.kind = r.kind;
    o.metadata = {
      ...o.metadata,
      namespace: ns,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    if (r.generation) o.metadata.generation = 1;
    return withDefaults(r, o);
  }

  /** Stores the object with a new resourceVersion; returns the stored copy. */
  function write(r: Resource, ns: string, o: Obj): Obj {
    o.metadata.resourceVersion = nextVersion();
    store.set(key(r.plural, ns, o.metadata.name), { resource: r, object: o });
    return o;
  }

  /** Writes by the simulated controllers (status, ReplicaSets, Pods, Events): checked, stored, no request. */
  const system = {
    get: (plural: string, ns: string, name: string) => store.get(key(plural, ns, name))?.object,
    list: (plural: string, ns?: string) =>
      [...store.values()]
        .filter((s) => s.resource.plural === plural && (ns === undefined || s.object.metadata.namespace === ns))
        .map((s) => s.object),
    create(plural: string, ns: string, o: Obj): Obj {
      const r = resourceOf(plural) as Resource;
      const created = prepareCreate(r, ns, o);
      validate(r, created, "the stand-in's controller wrote an invalid");
      return write(r, ns, created);
    },
    update(plural: string, o: Obj): Obj {
      const r = resourceOf(plural) as Resource;
      validate(r, o, "the stand-in's controller wrote an invalid");
      return write(r, o.metadata.namespace, o);
    },
    remove(plural: string, ns: string, name: string): void {
      store.delete(key(plural, ns, name));
    },
    failure: (image: string) => failures.get(image),
  };
  server.controllers = startControllers(system);
  server.jobs = startJobController(system);

  function respond(
    res: ServerResponse,
    rec: RecordedRequest,
    code: number,
    body: Obj,
    headers: Record<string, string> = {},
  ) {
    rec.status = code;
    server.requests.push(rec);
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  function authenticated(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const t = auth.slice(7);
      return t === token || acceptors.some((a) => a(t));
    }
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    return !!peer?.raw && createHash('sha256').update(peer.raw).digest('hex') === clientFingerprint;
  }

  function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type']?.split(';')[0];
    const rec: RecordedRequest = { method, path: url.pathname, query, contentType, status: 0 };
    const problem = (p: string) => server.problems.push(`${method} ${url.pathname}: ${p}`);
    if (!authenticated(req)) return respond(res, rec, 401, status(401, 'Unauthorized', 'Unauthorized'));

    // The pods/log subresource (GET only): plain text, not an object.
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log) {
      const [, logNs, podName] = log as unknown as [string, string, string];
      if (method !== 'GET') {
        problem('pods/log only answers GET');
        return respond(
          res,
          rec,
          405,
          status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
        );
      }
      if (denied.has('get pods/log'))
        return respond(
          res,
          rec,
          403,
          status(
            403,
            'Forbidden',
            `pods "${podName}" is forbidden: User "${server.user}" cannot get resource "pods/log" in API group "" in the namespace "${logNs}"`,
            { name: podName, kind: 'pods' },
          ),
        );
      const answer = podLogAnswer(
        store.get(key('pods', logNs, podName))?.object,
        query,
        server.jobs.logs(logNs, podName),
        problem,
      );
      if (answer.code !== 200)
        return respond(
          res,
          rec,
          answer.code,
          status(answer.code, answer.reason as string, answer.message as string, { name: podName, kind: 'pods' }),
        );
      rec.status = 200;
      server.requests.push(rec);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(answer.text);
      return;
    }

    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) {
      problem('no such path in the subset this stand-in serves');
      return respond(res, rec, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const [, coreVersion, group = '', groupVersion, ns, plural, rawName] = m as unknown as [
      string,
      string | undefined,
      string | undefined,
      string | undefined,
      string,
      string,
      string | undefined,
    ];
    const version = coreVersion ?? groupVersion;
    const r = RESOURCES.find((x) => x.plural === plural && x.group === group && x.version === version);
    if (!r || unserved.has(plural)) {
      if (!r) problem('no such resource in the subset this stand-in serves');
      return respond(res, rec, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const fault = faults.find((f) => f.method === method && f.plural === plural && f.times > 0);
    if (fault) {
      fault.times--;
      const reason =
        fault.status === 429 ? 'TooManyRequests' : fault.status === 503 ? 'ServiceUnavailable' : 'InternalError';
      return respond(
        res,
        rec,
        fault.status,
        status(fault.status, reason, `the stand-in was told to answer ${fault.status}`),
        fault.status === 429 ? { 'retry-after': '0' } : {},
      );
    }
    const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
    const verb =
      method === 'GET'
        ? name
          ? 'get'
          : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : method === 'DELETE'
                ? 'delete'
                : '';
    if (!verb || (verb === 'create' && name) || (['update', 'patch', 'delete'].includes(verb) && !name)) {
      problem('method not allowed here');
      return respond(
        res,
        rec,
        405,
        status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      );
    }
    for (const q of Object.keys(query))
      if (!QUERY[verb]?.includes(q)) problem(`query parameter '${q}' is not part of ${verb}`);
    if (query.watch !== undefined) problem('watch is not supported by the stand-in');
    if (query.dryRun !== undefined && query.dryRun !== 'All')
      problem(`dryRun=${query.dryRun}: the only valid value is All`);
    if (query.fieldValidation !== undefined && !['Strict', 'Warn', 'Ignore'].includes(query.fieldValidation))
      problem(`fieldValidation=${query.fieldValidation} is not Strict, Warn or Ignore`);
    const dryRun = query.dryRun === 'All';
    const groupName = r.group ? `${r.plural}.${r.group}` : r.plural;

    if (denied.has(`${verb} ${plural}`)) {
      const subject = name ? `${groupName} "${name}"` : groupName;
      return respond(
        res,
        rec,
        403,
        status(
          403,
          'Forbidden',
          `${subject} is forbidden: User "${server.user}" cannot ${verb} resource "${plural}" in API group "${r.group}" in the namespace "${ns}"`,
          { ...(name ? { name } : {}), group: r.group, kind: plural },
        ),
      );
    }
    const notFound = () =>
      respond(
        res,
        rec,
        404,
        status(404, 'NotFound', `${groupName} "${name}" not found`, { name, group: r.group, kind: plural }),
      );
    const current = name ? store.get(key(plural, ns, name)) : undefined;

    let parsed: unknown;
    if (body) {
      try {
        parsed = contentType === 'application/apply-patch+yaml' ? parseYaml(body) : JSON.parse(body);
      } catch {
        problem('the body does not parse');
        return respond(res, rec, 400, status(400, 'BadRequest', 'the body of the request was in an unknown format'));
      }
      rec.body = parsed;
    }

    if (verb === 'get') return current ? respond(res, rec, 200, current.object) : notFound();
    if (verb === 'list') {
      let items = [...store.values()]
        .filter((s) => s.resource === r && s.object.metadata.namespace === ns)
        .map((s) => s.object);
      try {
        if (query.labelSelector) {
          const match = labelMatcher(query.labelSelector);
          items = items.filter((o) => match(o.metadata.labels ?? {}));
        }
        if (query.fieldSelector) items = items.filter(fieldMatcher(query.fieldSelector));
      } catch (err) {
        problem(String(err));
        return respond(res, rec, 400, status(400, 'BadRequest', String(err)));
      }
      items.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
      const start = query.continue ? Number(Buffer.from(query.continue, 'base64').toString()) : 0;
      const limit = Math.min(Number(query.limit ?? 500) || 500, server.pageSize);
      const page = items.slice(start, start + limit).map((o) => {
        const { apiVersion: _a, kind: _k, ...rest } = o;
        return rest;
      });
      const more = start + limit < items.length;
      return respond(res, rec, 200, {
        apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
        kind: `${r.kind}List`,
        metadata: {
          resourceVersion: String(rv),
          ...(more ? { continue: Buffer.from(String(start + limit)).toString('base64') } : {}),
        },
        items: page,
      });
    }

    if (verb === 'delete') {
      if (!current) return notFound();
      if (parsed !== undefined) {
        const opts = parsed as Obj;
        for (const k of Object.keys(opts))
          if (!['kind', 'apiVersion', 'propagationPolicy', 'gracePeriodSeconds', 'preconditions', 'dryRun'].includes(k))
            problem(`DeleteOptions has no field '${k}'`);
        if (
          opts.propagationPolicy !== undefined &&
          !['Background', 'Foreground', 'Orphan'].includes(opts.propagationPolicy)
        )
          problem(`propagationPolicy ${opts.propagationPolicy} is not Background, Foreground or Orphan`);
      }
      const policy = (parsed as Obj | undefined)?.propagationPolicy ?? query.propagationPolicy ?? 'Background';
      if (!dryRun) {
        store.delete(key(plural, ns, name as string));
        server.controllers.deleted(current.object, policy);
      }
      return respond(res, rec, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: r.group, kind: plural, uid: current.object.metadata.uid },
      });
    }

    // Writes.
    if (interfering.get(key(plural, ns, name ?? '')) && current) {
      const left = interfering.get(key(plural, ns, name as string)) as number;
      interfering.set(key(plural, ns, name as string), left - 1);
      current.object.metadata.annotations = {
        ...current.object.metadata.annotations,
        'test.platform-actions/other-writer': String(left),
      };
      write(r, ns, current.object);
    }
    if (verb === 'create' || verb === 'update') {
      if (contentType !== 'application/json')
        problem(`content-type ${contentType} for ${verb}; the API takes application/json`);
    } else if (!PATCH_TYPES.includes(contentType ?? '')) {
      problem(`content-type ${contentType} is not a patch type`);
      return respond(
        res,
        rec,
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
        ),
      );
    }
    if (typeof parsed !== 'object' || parsed === null) {
      problem('a write without a body');
      return respond(res, rec, 400, status(400, 'BadRequest', 'the request has no body'));
    }
    const input = parsed as Obj;
    const apply = contentType === 'application/apply-patch+yaml';
    if (apply && !query.fieldManager)
      return respond(
        res,
        rec,
        400,
        status(400, 'BadRequest', 'PATCH, application/apply-patch+yaml requires fieldManager parameter'),
      );
    if (query.force !== undefined && !apply) problem('force is only valid for apply patches');
    if (contentType === 'application/strategic-merge-patch+json') {
      problem('strategic merge patch is not implemented by the stand-in');
      return respond(res, rec, 415, status(415, 'UnsupportedMediaType', 'strategic merge patch is not supported here'));
    }
    if (verb === 'create' || verb === 'update' || apply) {
      const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
      if ((input.apiVersion !== undefined || apply) && input.apiVersion !== apiVersion)
        problem(`apiVersion ${input.apiVersion} sent to the ${apiVersion} endpoint`);
      if ((input.kind !== undefined || apply) && input.kind !== r.kind)
        problem(`kind ${input.kind} sent to the ${r.kind} endpoint`);
      if (input.metadata?.namespace !== undefined && input.metadata.namespace !== ns) {
        return respond(
          res,
          rec,
          400,
          status(
            400,
            'BadRequest',
            'the namespace of the provided object does not match the namespace sent on the request',
          ),
        );
      }
      if (verb !== 'create' && input.metadata?.name !== name) {
        return respond(
          res,
          rec,
          400,
          status(
            400,
            'BadRequest',
            `the name of the object (${input.metadata?.name}) does not match the name on the URL (${name})`,
          ),
        );
      }
    }

    let next: Obj;
    let created = false;
    if (verb === 'create') {
      if (!input.metadata?.name)
        return respond(
          res,
          rec,
          422,
          status(
            422,
            'Invalid',
            `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
            {
              kind: r.kind,
              causes: [
                {
                  reason: 'FieldValueRequired',
                  message: 'Required value: name or generateName is required',
                  field: 'metadata.name',
                },
              ],
            },
          ),
        );
      if (store.has(key(plural, ns, input.metadata.name)))
        return respond(
          res,
          rec,
          409,
          status(409, 'AlreadyExists', `${groupName} "${input.metadata.name}" already exists`, {
            name: input.metadata.name,
            group: r.group,
            kind: plural,
          }),
        );
      if (input.metadata.resourceVersion)
        return respond(
          res,
          rec,
          400,
          status(400, 'BadRequest', 'resourceVersion should not be set on objects to be created'),
        );
      next = prepareCreate(r, ns, clone(input));
      delete next.status;
      created = true;
    } else {
      if (!current && !apply) return notFound();
      const live = current?.object;
      let candidate: Obj;
      try {
        if (verb === 'update') candidate = clone(input);
        else if (contentType === 'application/merge-patch+json') candidate = mergePatch(live, input) as Obj;
        else if (contentType === 'application/json-patch+json') candidate = jsonPatch(live as Obj, input);
        else candidate = applyMerge(live ?? {}, input) as Obj;
      } catch (err) {
        return respond(res, rec, 422, status(422, 'Invalid', String((err as Error).message)));
      }
      const sentVersion =
        verb === 'update' || contentType === 'application/merge-patch+json'
          ? input.metadata?.resourceVersion
          : candidate.metadata?.resourceVersion;
      if (live && sentVersion !== undefined && sentVersion !== live.metadata.resourceVersion) {
        return respond(
          res,
          rec,
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${groupName} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            { name, group: r.group, kind: plural },
          ),
        );
      }
      if (!live) {
        next = prepareCreate(r, ns, candidate);
        delete next.status;
        created = true;
      } else {
        // Metadata the server owns is kept; status belongs to the status subresource.
        next = candidate;
        next.apiVersion = live.apiVersion;
        next.kind = live.kind;
        next.metadata = {
          ...next.metadata,
          namespace: ns,
          name,
          uid: live.metadata.uid,
          creationTimestamp: live.metadata.creationTimestamp,
          generation: live.metadata.generation,
        };
        if (live.status === undefined) delete next.status;
        else next.status = clone(live.status);
        withDefaults(r, next);
        if (r.generation && JSON.stringify(next.spec) !== JSON.stringify(live.spec))
          next.metadata.generation = (live.metadata.generation ?? 1) + 1;
        if (r.kind === 'Deployment' && JSON.stringify(next.spec?.selector) !== JSON.stringify(live.spec?.selector)) {
          return respond(
            res,
            rec,
            422,
            status(
              422,
              'Invalid',
              `Deployment.apps "${name}" is invalid: spec.selector: Invalid value: field is immutable`,
              {
                name,
                kind: 'Deployment',
                causes: [
                  { reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field: 'spec.selector' },
                ],
              },
            ),
          );
        }
      }
    }

    const found = validate(r, next, `${method} wrote an invalid`);
    if (found.length) {
      const unknown = found.filter((p) => p.endsWith('unknown field'));
      if (unknown.length && query.fieldValidation === 'Strict') {
        return respond(
          res,
          rec,
          400,
          status(
            400,
            'BadRequest',
            `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u.replace(/: unknown field$/, '')}"`).join(', ')}`,
          ),
        );
      }
      return respond(
        res,
        rec,
        422,
        status(
          422,
          'Invalid',
          `${r.kind}.${r.group || 'core'} "${next.metadata?.name}" is invalid: ${found.join('; ')}`,
          {
            name: next.metadata?.name,
            kind: r.kind,
            causes: found.map((f) => ({ reason: 'FieldValueInvalid', message: f })),
          },
        ),
      );
    }
    if (r.kind === 'Deployment') {
      const selector = next.spec?.selector?.matchLabels ?? {};
      const labels = next.spec?.template?.metadata?.labels ?? {};
      if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
        return respond(
          res,
          rec,
          422,
          status(
            422,
            'Invalid',
            `Deployment.apps "${next.metadata.name}" is invalid: spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
            {
              name: next.metadata.name,
              kind: 'Deployment',
              causes: [
                {
                  reason: 'FieldValueInvalid',
                  message: '`selector` does not match template `labels`',
                  field: 'spec.template.metadata.labels',
                },
              ],
            },
          ),
        );
      }
    }
    if (dryRun) return respond(res, rec, created ? 201 : 200, next);
    return respond(res, rec, created ? 201 : 200, clone(write(r, ns, next)));
  }

  const https = createServer(
    { key: serverCert.key, cert: serverCert.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          handle(req, Buffer.concat(chunks).toString('utf8'), res);
        } catch (err) {
          server.problems.push(`stand-in failure: ${(err as Error).stack ?? String(err)}`);
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(status(500, 'InternalError', String(err))));
        }
      });
    },
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  server.url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  return server;
}

function writeKubeconfig(server: KubeServer, options: KubeconfigOptions, dir: string): string {
  const auth = options.auth ?? 'token';
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user =
    auth === 'token'
      ? { token: server.token }
      : auth === 'client-certificate'
        ? { 'client-certificate-data': b64(server.client.cert), 'client-key-data': b64(server.client.key) }
        : auth === 'exec'
          ? {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: options.exec?.command ?? 'false',
                args: options.exec?.args ?? [],
                interactiveMode: 'Never',
                provideClusterInfo: true,
              },
            }
          : {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: 'gke-gcloud-auth-plugin',
                installHint:
                  'Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin',
                provideClusterInfo: true,
                interactiveMode: 'IfAvailable',
              },
            };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'stand-in', cluster: { server: server.url, 'certificate-authority-data': b64(server.caPem) } }],
    users: [{ name: `deployer-${auth}`, user }],
    contexts: [
      {
        name: 'stand-in',
        context: {
          cluster: 'stand-in',
          user: `deployer-${auth}`,
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    'current-context': 'stand-in',
    preferences: {},
  };
  const path = join(mkdtempSync(join(dir, 'kubeconfig-')), 'config');
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}
