/**
 * A notification receiver on loopback: the generic JSON webhook the deploy jobs' notify step
 * (deploy-ecs.yml's "Tell people how it ended", the notify action) sends to. Each message
 * it receives is a line of the timeline. Its URL carries a random path, handed to the jobs
 * as the `notify` secret: the secrets check fails the run if it shows up anywhere.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Timeline } from './timeline.js';

export interface Received {
  at: number;
  schema?: string;
  event: string;
  service: string;
  environment: string;
  release: string;
  summary: string;
  facts: Record<string, string>;
}

export class NotificationReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly received: Received[],
  ) {}

  static async start(timeline: Timeline, describeRelease: (release: string) => string): Promise<NotificationReceiver> {
    const path = `/hooks/${randomBytes(12).toString('hex')}`;
    const received: Received[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== path) {
          res.writeHead(404).end();
          return;
        }
        try {
          const m = JSON.parse(body) as Partial<Received>;
          const got: Received = {
            at: timeline.now(),
            schema: m.schema,
            event: String(m.event),
            service: String(m.service),
            environment: String(m.environment),
            release: String(m.release),
            summary: String(m.summary ?? ''),
            facts: m.facts ?? {},
          };
          received.push(got);
          timeline.add({
            kind: 'world',
            // Printed with the job that sent it (the last step seen in its environment).
            stage:
              [...timeline.steps].reverse().find((x) => x.environment === got.environment)?.stage ?? 'Notifications',
            environment: got.environment,
            title: `notification receiver got "${got.event}" (generic webhook): ${got.summary}`,
            startedAt: got.at,
            durationMs: 0,
            ok: true,
            facts: [
              `${got.service} · ${describeRelease(got.release)}`,
              ...Object.entries(got.facts).map(([k, v]) => `${k}: ${describeReleases(v, describeRelease)}`),
            ],
          });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        } catch {
          res.writeHead(400).end('not JSON');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new NotificationReceiver(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
      received,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Commits in a fact (the releases map) named by their release. */
function describeReleases(text: string, describe: (release: string) => string): string {
  return text.replace(/\b[0-9a-f]{40}\b/g, (sha) => describe(sha));
}
