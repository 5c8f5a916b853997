import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './global-setup.js';

/**
 * A real OCI registry (Debian's `docker-registry`, the CNCF distribution registry) on
 * loopback, with its own storage, for build and push tests.
 */
export interface LocalRegistry {
  /** host:port, as images name it. */
  host: string;
  url: string;
  /** Digest the registry itself reports for a tag or digest (HEAD, Docker-Content-Digest). */
  digestOf(repository: string, reference: string): Promise<string | undefined>;
  /** Manifest JSON as the registry serves it. */
  manifest(repository: string, reference: string): Promise<Record<string, unknown>>;
  blob(repository: string, digest: string): Promise<Buffer>;
  tags(repository: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pa-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  relativeurls: true',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`docker-registry did not start (install it: apt-get install docker-registry):\n${stderr}`, {
      cause: err,
    });
  }
  const get = (path: string, method = 'GET') =>
    fetch(`${url}${path}`, { method, headers: { accept: MANIFEST_ACCEPT } });
  return {
    host: `127.0.0.1:${port}`,
    url,
    digestOf: async (repository, reference) =>
      (await get(`/v2/${repository}/manifests/${reference}`, 'HEAD')).headers.get('docker-content-digest') ?? undefined,
    manifest: async (repository, reference) =>
      (await (await get(`/v2/${repository}/manifests/${reference}`)).json()) as Record<string, unknown>,
    blob: async (repository, digest) =>
      Buffer.from(await (await get(`/v2/${repository}/blobs/${digest}`)).arrayBuffer()),
    tags: async (repository) =>
      (((await (await get(`/v2/${repository}/tags/list`)).json()) as { tags?: string[] }).tags ?? []).sort(),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Environment that keeps buildah's storage, auth file and isolation inside one folder,
 * so tests neither share state with each other nor touch the machine's own storage.
 */
export function buildahEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'storage.conf');
  writeFileSync(
    conf,
    `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
  );
  const auth = join(dir, 'auth.json');
  writeFileSync(auth, '{}\n');
  return {
    CONTAINERS_STORAGE_CONF: conf,
    BUILDAH_ISOLATION: 'chroot',
    REGISTRY_AUTH_FILE: auth,
    STORAGE_DRIVER: 'vfs',
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorized: boolean;
}

/**
 * Serves a local registry under an ECR host name, the way ECR does: HTTPS only, with
 * `Basic` authentication as AWS:password from GetAuthorizationToken (here moto's), and a
 * 401 challenge otherwise. Clients reach it through an HTTP CONNECT proxy (HTTPS_PROXY),
 * trusting a certificate made for the test (SSL_CERT_FILE for buildah, which is Go;
 * NODE_EXTRA_CA_CERTS for the action). Nothing in the action knows it is a test.
 */
export interface EcrFront {
  host: string;
  requests: RecordedRequest[];
  /** Variables for the job: proxy and trust. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startEcrFront(options: {
  host: string;
  upstream: string;
  username: string;
  password: string;
}): Promise<EcrFront> {
  const dir = mkdtempSync(join(tmpdir(), 'pa-ecr-front-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
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
      `/CN=${options.host}`,
      '-addext',
      `subjectAltName=DNS:${options.host}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const requests: RecordedRequest[] = [];
  const upstream = new URL(options.upstream);

  const front = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req: IncomingMessage, res) => {
    const authorized = req.headers.authorization === expected;
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorized });
    if (!authorized) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Basic realm="https://${options.host}/",service="ecr.amazonaws.com"`,
      });
      res.end(
        JSON.stringify({
          errors: [{ code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' }],
        }),
      );
      return;
    }
    const headers = { ...req.headers, 'x-forwarded-proto': 'https' };
    delete headers.authorization;
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const frontPort = (front.address() as AddressInfo).port;

  const proxy = createHttpServer((_req, res) => {
    res.writeHead(502);
    res.end('this proxy only tunnels');
  });
  const sockets = new Set<{ destroy(): void }>();
  proxy.on('connect', (req: IncomingMessage, socket, head) => {
    sockets.add(socket);
    if (req.url !== `${options.host}:443`) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const tunnel = connect(frontPort, '127.0.0.1', () => {
      sockets.add(tunnel);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      tunnel.write(head);
      tunnel.pipe(socket);
      socket.pipe(tunnel);
    });
    tunnel.on('error', () => socket.destroy());
    socket.on('error', () => tunnel.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  return {
    host: options.host,
    requests,
    env: { HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl, SSL_CERT_FILE: cert, NODE_EXTRA_CA_CERTS: cert },
    close: async () => {
      for (const s of sockets) s.destroy();
      front.closeAllConnections();
      proxy.closeAllConnections();
      await Promise.all([new Promise((r) => front.close(r)), new Promise((r) => proxy.close(r))]);
    },
  };
}
