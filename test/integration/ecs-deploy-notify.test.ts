/**
 * ecs-deploy's `notify` input through the bundle against moto: a loopback receiver records
 * what a rollout that succeeds and one that rolls back send (a generic webhook and a Slack
 * one), and a receiver that never answers costs a warning and at most the send timeout,
 * never the rollout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { seedWorkload, startAlbTraffic, workloadClients, WORKLOAD, type Workload } from '../support/ecs-workload.js';
import { motoEndpoint, resetMoto } from '../support/moto.js';
import { Job } from '../support/runner.js';

const moto = motoEndpoint();
const clients = workloadClients(moto);
let proxy: AwsProxy;
let w: Workload;
let receiver: Server;
let hanging: Server;
const got: Array<{ path: string; body: Record<string, unknown> }> = [];

const listen = (s: Server) => new Promise<Server>((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
const url = (s: Server, path: string) => `http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`;
const DIGEST = 'sha256:' + 'b'.repeat(64);
const IMAGE = `111111111111.dkr.ecr.us-east-1.amazonaws.com/bedrock-access-gateway@${DIGEST}`;
const SPEC = `
interval: 10s
failure-limit: 1
provider: cloudwatch
metrics:
  - { name: error-rate, query: alb:error-rate, min-count: 10, judge: { threshold: { max: 1% } } }
`;

const job = () =>
  new Job({
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: WORKLOAD.region,
    GITHUB_RUN_ID: '77',
    GITHUB_REPOSITORY: 'acme/webapp',
  });
const inputs = (notify: string) => ({
  cluster: WORKLOAD.cluster,
  service: WORKLOAD.gateway,
  'container-name': WORKLOAD.gateway,
  image: IMAGE,
  'step-duration': '10s',
  analysis: SPEC,
  notify,
});

beforeAll(async () => {
  proxy = await startAwsProxy(moto);
  receiver = await listen(
    createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
        res.writeHead(200).end();
      });
    }),
  );
  hanging = await listen(createServer(() => undefined));
});
afterAll(async () => {
  clients.destroy();
  await proxy.close();
  for (const s of [receiver, hanging]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
beforeEach(async () => {
  await resetMoto(moto);
  w = await seedWorkload(moto);
  proxy.reset();
  got.length = 0;
});

const generic = (event: string) => got.find((g) => g.path === '/hook' && g.body.event === event)?.body;

describe('ecs-deploy: notify', () => {
  it('a rollout that succeeds sends started and succeeded, with the service, release, digest and run link; the URLs are masked', async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.gateway]: { requests: 100, errors: 0 },
    }));
    const hook = url(receiver, '/hook');
    const slack = url(receiver, '/slack/T000/B000/secretpart');
    const step = await job().run('ecs-deploy', { inputs: inputs(`webhook=${hook}\nslack=${slack}`) });
    await traffic.stop();

    expect(step.outputs.status).toBe('succeeded');
    expect(got.filter((g) => g.path === '/hook').map((g) => g.body.event)).toEqual(['started', 'succeeded']);
    expect(generic('started')).toMatchObject({
      service: WORKLOAD.gateway,
      environment: WORKLOAD.cluster,
      release: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      digest: DIGEST,
      image: IMAGE,
      runUrl: 'https://github.com/acme/webapp/actions/runs/77',
    });
    expect(String(generic('started')?.summary)).toContain('Rolling out with ecs-rolling');
    expect(generic('succeeded')?.facts).toMatchObject({ Strategy: 'rolling (ecs-rolling)' });
    const slackEnd = got.find(
      (g) => g.path === '/slack/T000/B000/secretpart' && String(g.body.text).includes('Rollout succeeded'),
    );
    expect(slackEnd?.body.blocks).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'header' })]));
    expect(step.masked).toEqual(expect.arrayContaining([hook, slack]));
    expect(step.leaks([slack])).toEqual([]);
    expect(step.log).not.toContain('secretpart');
  }, 90_000);

  it("a rollout that rolls back sends rolled-back with the failing check's numbers", async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.gateway]: { requests: 100, errors: 40 },
    }));
    const step = await job().run('ecs-deploy', { inputs: inputs(url(receiver, '/hook')) });
    await traffic.stop();

    expect(step.outputs.status).toBe('rolled-back');
    expect(got.map((g) => g.body.event)).toEqual(['started', 'rolled-back']);
    const n = generic('rolled-back') as { summary: string; facts: Record<string, string>; digest: string };
    expect(n.digest).toBe(DIGEST);
    expect(n.summary).toContain('Rolled back');
    expect(n.facts['error-rate']).toMatch(/^error-rate \d+(\.\d+)?% > 1% \(\d+ requests\)/);
    expect(n.facts['Failed at']).toBe('step 1, 100% of traffic');
  }, 90_000);

  it('a receiver that never answers is a warning: the rollout succeeds, held up by at most the 5 s send timeout', async () => {
    const traffic = startAlbTraffic(clients.cloudwatch, w.loadBalancerArn, () => ({
      [w.targetGroups.gateway]: { requests: 100, errors: 0 },
    }));
    const started = Date.now();
    const step = await job().run('ecs-deploy', { inputs: inputs(url(hanging, '/never')) });
    const wallMs = Date.now() - started;
    await traffic.stop();

    expect(step.outputs.status).toBe('succeeded');
    expect(step.failure).toBeUndefined();
    expect(step.log).toContain('Notification (succeeded) to webhook (127.0.0.1');
    expect(step.log).toContain('not sent, no answer within 5000 ms. The rollout goes on regardless.');
    // The rollout itself (duration-seconds) plus start-up and one send's timeout at most: the
    // started notification runs beside the rollout, only the last one is waited for.
    const rolloutMs = Number(step.outputs['duration-seconds']) * 1000;
    expect(wallMs - rolloutMs).toBeLessThan(5000 + 15_000);
  }, 90_000);
});
