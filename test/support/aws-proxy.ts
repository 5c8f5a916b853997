import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeregisterTargetsCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { verifyJwt } from './oidc-issuer.js';

/** One AWS API call seen by the proxy. */
export interface Call {
  /** Operation name, e.g. AssumeRoleWithWebIdentity, UpdateService. */
  operation: string;
  status: number;
  /** True when the proxy answered itself (fault or refusal) instead of moto. */
  injected: boolean;
  at: number;
}

export interface Fault {
  operation: string;
  /** How many of the next matching calls fail. */
  times: number;
  /** Fails matching calls only until this time (epoch ms), however many; set by injectFor. */
  until?: number;
  status: number;
  code: string;
  message?: string;
}

/**
 * An answer the proxy gives itself, for states moto cannot reach (an ECR scan that is
 * IN_PROGRESS on one call and COMPLETE on the next, paginated findings). Bodies must be
 * shaped as the service's API reference describes the operation's response; the SDK
 * parses them as it would AWS's, which is part of what the tests check.
 */
export interface ScriptedResponse {
  operation: string;
  /** JSON body (JSON protocols only). */
  body: unknown;
  status?: number;
}

/** A JSON-protocol answer: HTTP status and body (an error body has `__type`). */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/**
 * A call a stand-in built on the proxy may answer itself (JSON protocols only): it gets
 * the operation and the parsed request, and can forward the request to moto (as sent, or
 * with another body) to build its answer from moto's. Returning undefined forwards the
 * call unchanged.
 */
export type CallHandler = (call: {
  operation: string;
  body: unknown;
  forward(body?: unknown): Promise<JsonAnswer>;
}) => Promise<JsonAnswer | undefined> | JsonAnswer | undefined;

export interface AwsProxyOptions {
  /** Answers chosen calls in place of moto (after injected faults and scripted answers). */
  handle?: CallHandler;
}

export interface AwsProxy {
  url: string;
  calls: Call[];
  /** Makes the next `times` calls of `operation` fail with an AWS error. */
  inject(fault: Fault): void;
  /** Makes every call of each operation fail for the next `durationMs` (throttling for a window, as AWS does under load). */
  injectFor(fault: Omit<Fault, 'times' | 'until' | 'operation'> & { operations: string[]; durationMs: number }): void;
  /** Answers the next calls of an operation with these bodies, in order, then forwards to moto again. */
  script(responses: ScriptedResponse[]): void;
  /** Request bodies of the calls of an operation, in order: JSON bodies parsed, query-protocol forms as key → value. */
  requests(operation: string): unknown[];
  /** Calls of one operation so far. */
  count(operation: string): number;
  /** Forgets recorded calls and pending faults (between test cases). */
  reset(): void;
  /** Expired access keys: see expireKey below. */
  expiry: KeyExpiry;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The operation of a request in any of the protocols the SDK speaks. */
export function operationOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const rpc = /\/operation\/([^/?]+)/.exec(req.url ?? '');
  if (rpc) return rpc[1] as string;
  const form = new URLSearchParams(body.toString('utf8'));
  return (
    form.get('Action') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('Action') ?? `${req.method} ${req.url}`
  );
}

function isJsonProtocol(req: IncomingMessage): boolean {
  return typeof req.headers['x-amz-target'] === 'string';
}

function sendError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  if (isJsonProtocol(req)) {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code });
    res.end(JSON.stringify({ __type: code, message }));
    return;
  }
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>` +
      `<Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message></Error>` +
      `<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
  );
}

type Statement = {
  Effect?: string;
  Action?: string | string[];
  Principal?: { Federated?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
};

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/** Evaluates the condition block of a trust statement against token claims (the subset GitHub set-ups use). */
function conditionsHold(condition: Statement['Condition'], host: string, claims: Record<string, unknown>): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const claim = key.startsWith(`${host}:`) ? claims[key.slice(host.length + 1)] : undefined;
      const actual = Array.isArray(claim) ? claim.map(String) : claim === undefined ? [] : [String(claim)];
      const patterns = Array.isArray(expected) ? expected : [expected];
      const base = operator.replace(/^ForAnyValue:|^ForAllValues:/, '');
      const test = (a: string, p: string) =>
        base === 'StringEquals'
          ? a === p
          : base === 'StringLike'
            ? globMatch(p, a)
            : base === 'StringEqualsIgnoreCase'
              ? a.toLowerCase() === p.toLowerCase()
              : false;
      if (!actual.some((a) => patterns.some((p) => test(a, p)))) return false;
    }
  }
  return true;
}

/**
 * Where moto's answers differ from AWS's in a way that breaks a real client, the proxy
 * puts them back in AWS's shape (JSON protocols only). One set per proxy: it keeps what
 * moto forgets.
 *
 * - ECS services: moto answers `networkConfiguration: {}` for a service that has none (an
 *   EXTERNAL-controller service, whose task sets carry the network); AWS leaves the field
 *   out. The AWS provider for Terraform dereferences `awsvpcConfiguration` whenever the
 *   field is present and crashes (nil pointer in flattenNetworkConfiguration).
 * - ECS services: moto neither keeps nor returns `availabilityZoneRebalancing`; AWS
 *   returns what CreateService / UpdateService set (ENABLED when a create leaves it out).
 *   Without it Terraform plans the attribute again after every apply.
 */
function answerFixes(): Record<string, (answer: Record<string, unknown>, request: Record<string, unknown>) => void> {
  type Service = {
    serviceName?: string;
    clusterArn?: string;
    networkConfiguration?: Record<string, unknown>;
    availabilityZoneRebalancing?: string;
  };
  const rebalancing = new Map<string, string>();
  const key = (cluster: unknown, service: unknown) =>
    `${String(cluster ?? 'default')
      .split('/')
      .pop()}/${String(service ?? '')
      .split('/')
      .pop()}`;
  const fix = (service: Service | undefined) => {
    if (!service) return;
    if (service.networkConfiguration && Object.keys(service.networkConfiguration).length === 0)
      delete service.networkConfiguration;
    const kept = rebalancing.get(key(service.clusterArn, service.serviceName));
    if (service.availabilityZoneRebalancing === undefined && kept) service.availabilityZoneRebalancing = kept;
  };
  return {
    CreateService: (answer, request) => {
      rebalancing.set(
        key(request.cluster, request.serviceName),
        String(request.availabilityZoneRebalancing ?? 'ENABLED'),
      );
      fix(answer.service as Service);
    },
    UpdateService: (answer, request) => {
      if (request.availabilityZoneRebalancing)
        rebalancing.set(key(request.cluster, request.service), String(request.availabilityZoneRebalancing));
      fix(answer.service as Service);
    },
    DeleteService: (answer) => fix(answer.service as Service),
    DescribeServices: (answer) => (Array.isArray(answer.services) ? (answer.services as Service[]) : []).forEach(fix),
  };
}

/**
 * ECS registers a task set's tasks in its target group, and deregisters them when the task
 * set is deleted; moto does neither, so its target groups stay empty and "no healthy
 * target" could not be told from "nothing runs". The proxy registers one target per task
 * set created through it (an address in moto's default VPC) and deregisters it on
 * DeleteTaskSet, as ECS would.
 */
function taskSetTargets(
  target: string,
): Record<string, (answer: Record<string, unknown>, request: Record<string, unknown>) => Promise<void>> {
  const elbv2 = new ElasticLoadBalancingV2Client({
    region: 'us-east-1',
    endpoint: target,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const registered = new Map<string, Array<{ group: string; id: string; port: number }>>();
  let next = 10;
  type TaskSetShape = {
    taskSetArn?: string;
    loadBalancers?: Array<{ targetGroupArn?: string; containerPort?: number }>;
  };
  return {
    CreateTaskSet: async (answer) => {
      const ts = answer.taskSet as TaskSetShape | undefined;
      if (!ts?.taskSetArn) return;
      const targets = (ts.loadBalancers ?? [])
        .filter((lb) => lb.targetGroupArn)
        .map((lb) => ({
          group: lb.targetGroupArn as string,
          id: `172.31.${Math.floor(next / 250)}.${(next++ % 250) + 2}`,
          port: lb.containerPort ?? 80,
        }));
      for (const t of targets)
        await elbv2.send(
          new RegisterTargetsCommand({ TargetGroupArn: t.group, Targets: [{ Id: t.id, Port: t.port }] }),
        );
      registered.set(ts.taskSetArn, targets);
    },
    DeleteTaskSet: async (answer) => {
      const arn = (answer.taskSet as TaskSetShape | undefined)?.taskSetArn;
      for (const t of (arn && registered.get(arn)) || [])
        await elbv2.send(
          new DeregisterTargetsCommand({ TargetGroupArn: t.group, Targets: [{ Id: t.id, Port: t.port }] }),
        );
      if (arn) registered.delete(arn);
    },
  };
}

/**
 * ListTaskDefinitions with `sort: DESC`: AWS lists the newest revision first, moto ignores
 * `sort` and answers oldest first. Code that reads "the revision before" from the first
 * entries passes against moto and fails on AWS unless the order is AWS's (per page).
 */
function listOrderFixes(): Record<string, (answer: Record<string, unknown>, request: Record<string, unknown>) => void> {
  const revision = (arn: string) => Number(/:(\d+)$/.exec(arn)?.[1] ?? 0);
  return {
    ListTaskDefinitions: (answer, request) => {
      const arns = answer.taskDefinitionArns;
      if (!Array.isArray(arns)) return;
      const byFamilyThenRevision = (a: string, b: string) => {
        const fa = a.replace(/:\d+$/, '');
        const fb = b.replace(/:\d+$/, '');
        return fa === fb ? revision(a) - revision(b) : fa < fb ? -1 : 1;
      };
      (arns as string[]).sort(byFamilyThenRevision);
      if (request.sort === 'DESC') (arns as string[]).reverse();
    },
  };
}

/** Reads moto's answer, fixes its shape, and sends it on. */
function sendFixed(
  up: IncomingMessage,
  res: ServerResponse,
  fix: (body: Record<string, unknown>) => void | Promise<void>,
): void {
  const chunks: Buffer[] = [];
  up.on('data', (c: Buffer) => chunks.push(c));
  up.on('end', async () => {
    let text = Buffer.concat(chunks).toString('utf8');
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      await fix(body);
      text = JSON.stringify(body);
    } catch {
      // not JSON (an error page): pass it on unchanged
    }
    const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(text)) };
    delete headers['transfer-encoding'];
    res.writeHead(up.statusCode ?? 502, headers);
    res.end(text);
  });
}

// ---------------------------------------------------------------------------------------
// Expired credentials. moto accepts an STS session forever; AWS refuses it after its
// Expiration with ExpiredToken (query protocol) / ExpiredTokenException (JSON protocols).
// `expiry.expire(accessKeyId)` makes the proxy answer so for every call signed with that
// key, STS included, in the caller's protocol.

export interface KeyExpiry {
  /** Refuse every later call signed with this access key id as expired. */
  expire(accessKeyId: string): void;
  /** Refuse the key of the next call that is signed with anything but `except`, from then on (a session expiring mid-rollout). */
  expireNextKey(except?: string[]): Promise<string>;
  /** Calls refused as expired, with the key they were signed with. */
  refused: Array<{ operation: string; accessKeyId: string; at: number }>;
  /** Access key ids seen in signed calls, in order of first use. */
  seen: string[];
}

/** The access key id a request was signed with (SigV4 header or presigned query), if any. */
export function signingKeyOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const fromHeader = typeof header === 'string' ? /Credential=([^/,\s]+)\//.exec(header)?.[1] : undefined;
  return fromHeader ?? new URL(req.url ?? '/', 'http://x').searchParams.get('X-Amz-Credential')?.split('/')[0];
}

function keyExpiry(): KeyExpiry & { check(req: IncomingMessage, operation: string): boolean } {
  const expired = new Set<string>();
  const refused: KeyExpiry['refused'] = [];
  const seen: string[] = [];
  let next: { except: string[]; resolve: (key: string) => void } | undefined;
  return {
    refused,
    seen,
    expire: (key) => void expired.add(key),
    expireNextKey: (except = []) => new Promise((resolve) => (next = { except, resolve })),
    check(req, operation) {
      const key = signingKeyOf(req);
      if (!key) return false;
      if (!seen.includes(key)) seen.push(key);
      if (next && !next.except.includes(key)) {
        expired.add(key);
        next.resolve(key);
        next = undefined;
      }
      if (!expired.has(key)) return false;
      refused.push({ operation, accessKeyId: key, at: Date.now() });
      return true;
    },
  };
}

function sendExpired(res: ServerResponse, req: IncomingMessage): void {
  const message = 'The security token included in the request is expired';
  if (isJsonProtocol(req)) {
    res.writeHead(400, {
      'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.1'),
      'x-amzn-errortype': 'ExpiredTokenException',
      'x-amzn-requestid': '00000000-0000-0000-0000-000000000000',
    });
    res.end(JSON.stringify({ __type: 'ExpiredTokenException', message }));
    return;
  }
  sendError(res, req, 400, 'ExpiredToken', message);
}

/**
 * A small proxy in front of moto_server that adds what moto leaves out: faults on
 * demand (throttling, 5xx) and, for AssumeRoleWithWebIdentity, the checks STS makes:
 * the token's signature against its issuer's JWKS, an IAM OIDC provider for the issuer
 * that lists the audience, and the role's trust policy. All of it reads moto's own IAM.
 * `script()` answers chosen calls itself, for states moto cannot produce; answers moto
 * shapes unlike AWS are fixed on the way back (answerFixes).
 */
export async function startAwsProxy(target: string, options: AwsProxyOptions = {}): Promise<AwsProxy> {
  const calls: Call[] = [];
  const faults: Fault[] = [];
  const scripted: ScriptedResponse[] = [];
  const bodies: Array<{ operation: string; body: unknown }> = [];
  const fixes: Record<
    string,
    (answer: Record<string, unknown>, request: Record<string, unknown>) => void | Promise<void>
  > = { ...answerFixes(), ...listOrderFixes() };
  for (const [operation, hook] of Object.entries(taskSetTargets(target))) {
    const before = fixes[operation];
    fixes[operation] = async (answer, request) => {
      before?.(answer, request);
      await hook(answer, request);
    };
  }
  const expiry = keyExpiry();
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint: target,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

  async function refuseWebIdentity(form: URLSearchParams): Promise<{ code: string; message: string } | undefined> {
    const token = form.get('WebIdentityToken') ?? '';
    const roleArn = form.get('RoleArn') ?? '';
    let claims: Record<string, unknown>;
    try {
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >;
      claims = await verifyJwt(token, `${String(payload.iss)}/.well-known/jwks`);
    } catch (err) {
      return { code: 'InvalidIdentityToken', message: `Couldn't verify the token: ${(err as Error).message}` };
    }
    const iss = String(claims.iss);
    const host = iss.replace(/^https?:\/\//, '');
    const providers = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? [];
    const provider = providers.find((p) => p.Arn?.endsWith(`:oidc-provider/${host}`));
    if (!provider?.Arn)
      return { code: 'InvalidIdentityToken', message: `No OpenIDConnect provider found in your account for ${iss}` };
    const details = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: provider.Arn }));
    if (!(details.ClientIDList ?? []).includes(String(claims.aud)))
      return { code: 'InvalidIdentityToken', message: 'Incorrect token audience' };

    const denied = { code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity' };
    const roleName = roleArn.split('/').pop() ?? '';
    let document: { Statement?: Statement | Statement[] };
    try {
      const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
      document = JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '{}')) as typeof document;
    } catch {
      return denied;
    }
    const statements = Array.isArray(document.Statement)
      ? document.Statement
      : document.Statement
        ? [document.Statement]
        : [];
    const allowed = statements.some((s) => {
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      const federated = Array.isArray(s.Principal?.Federated) ? s.Principal.Federated : [s.Principal?.Federated];
      return (
        s.Effect === 'Allow' &&
        actions.includes('sts:AssumeRoleWithWebIdentity') &&
        federated.includes(provider.Arn) &&
        conditionsHold(s.Condition, host, claims)
      );
    });
    return allowed ? undefined : denied;
  }

  /** Sends a request to moto and reads its whole answer. */
  function toMoto(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const upstream = new URL(target);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () =>
            resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }),
          );
          up.on('error', reject);
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });
  }

  function sendJson(res: ServerResponse, answer: JsonAnswer): void {
    const type = (answer.body as { __type?: string } | undefined)?.__type;
    res.writeHead(answer.status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': '00000000-0000-0000-0000-000000000000',
      ...(answer.status >= 300 && type ? { 'x-amzn-errortype': type } : {}),
    });
    res.end(JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const operation = operationOf(req, body);
      const record = (status: number, injected: boolean) => calls.push({ operation, status, injected, at: Date.now() });
      let parsed: Record<string, unknown> | undefined;
      if (isJsonProtocol(req)) {
        try {
          parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          parsed = undefined;
        }
        bodies.push({ operation, body: parsed });
      } else if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        // Query protocol (ELBv2, CloudWatch, STS): the form as key → value.
        bodies.push({ operation, body: Object.fromEntries(new URLSearchParams(body.toString('utf8'))) });
      }

      if (expiry.check(req, operation)) {
        record(400, true);
        return sendExpired(res, req);
      }
      const fault = faults.find(
        (f) => f.operation === operation && f.times > 0 && (f.until === undefined || Date.now() < f.until),
      );
      if (fault) {
        fault.times--;
        record(fault.status, true);
        return sendError(res, req, fault.status, fault.code, fault.message ?? `${fault.code} injected by the test`);
      }
      const answer = scripted.findIndex((r) => r.operation === operation);
      if (answer >= 0 && isJsonProtocol(req)) {
        const [r] = scripted.splice(answer, 1) as [ScriptedResponse];
        record(r.status ?? 200, true);
        res.writeHead(r.status ?? 200, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': '00000000-0000-0000-0000-000000000000',
        });
        res.end(JSON.stringify(r.body));
        return;
      }
      if (options.handle && isJsonProtocol(req)) {
        const answer = await options.handle({
          operation,
          body: parsed,
          forward: async (replacement) => {
            const sent = replacement === undefined ? body : Buffer.from(JSON.stringify(replacement));
            const up = await toMoto(req, sent);
            let upBody: unknown;
            try {
              upBody = JSON.parse(up.body.toString('utf8') || '{}');
            } catch {
              upBody = {
                __type: 'MotoFailure',
                message: `moto answered HTTP ${up.status} with a body that is not JSON`,
              };
            }
            return { status: up.status, body: upBody };
          },
        });
        if (answer) {
          record(answer.status, true);
          return sendJson(res, answer);
        }
      }
      if (operation === 'AssumeRoleWithWebIdentity') {
        const refusal = await refuseWebIdentity(new URLSearchParams(body.toString('utf8')));
        if (refusal) {
          record(refusal.code === 'AccessDenied' ? 403 : 400, true);
          return sendError(res, req, refusal.code === 'AccessDenied' ? 403 : 400, refusal.code, refusal.message);
        }
      }
      const upstream = new URL(target);
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          record(up.statusCode ?? 0, false);
          const fix = isJsonProtocol(req) && (up.statusCode ?? 0) < 300 ? fixes[operation] : undefined;
          if (fix) return sendFixed(up, res, (answer) => fix(answer, parsed ?? {}));
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', (err) => sendError(res, req, 502, 'ProxyError', err.message));
      forward.end(body);
    })().catch((err: unknown) => sendError(res, req, 500, 'ProxyFailure', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    inject: (fault) => faults.push({ ...fault }),
    injectFor: ({ operations, durationMs, ...rest }) => {
      const until = Date.now() + durationMs;
      for (const operation of operations) faults.push({ ...rest, operation, times: Number.POSITIVE_INFINITY, until });
    },
    script: (responses) => scripted.push(...responses),
    requests: (operation) => bodies.filter((b) => b.operation === operation).map((b) => b.body),
    count: (operation) => calls.filter((c) => c.operation === operation).length,
    expiry,
    reset: () => {
      calls.length = 0;
      faults.length = 0;
      scripted.length = 0;
      bodies.length = 0;
      expiry.refused.length = 0;
      expiry.seen.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        iam.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
