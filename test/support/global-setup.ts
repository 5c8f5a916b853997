// Jest loads this file outside its module mapper, so it imports nothing relative:
// the server helpers live here and the rest of test/support imports them from here.
import { createServer } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Polls `url` until it answers (any HTTP status), or fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface MotoServer {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function motoCommand(): [string, string[]] {
  const shim = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).stdout.trim();
  return shim ? [shim, []] : ['python3', ['-m', 'moto.server']];
}

/** Starts a real moto_server on a free loopback port and waits until it answers. */
export async function startMoto(env: Record<string, string> = {}): Promise<MotoServer> {
  const port = await freePort();
  const [cmd, args] = motoCommand();
  const child = spawn(cmd, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${endpoint}/moto-api/`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`moto_server did not start:\n${stderr}`, { cause: err });
  }
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

declare global {
  var __motoServers: MotoServer[] | undefined;
}

/**
 * Starts one moto_server per jest worker, so each worker can reset its own between
 * cases without disturbing tests running in the other workers.
 */
export default async function globalSetup(config: { maxWorkers: number }): Promise<void> {
  const count = Math.max(1, config.maxWorkers);
  const servers = await Promise.all(Array.from({ length: count }, () => startMoto({ MOTO_ECS_SERVICE_RUNNING: '2' })));
  globalThis.__motoServers = servers;
  process.env.PA_TEST_MOTO_ENDPOINTS = servers.map((s) => s.endpoint).join(',');
}
