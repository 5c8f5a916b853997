/**
 * Errors are not low traffic, through the ecs-deploy bundle (task sets behind ALB weights,
 * moto behind the fault proxy): a metrics backend that does not answer fails the step on
 * error-limit, whatever on-inconclusive says; errors that stop before the limit do not fail
 * it on their own; and a canary is judged only on what its own traffic produced, even when
 * a canary rolled back seconds earlier left 5xx in the same CloudWatch minute.
 */
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { useEcsLab } from '../support/ecs-lab.js';
import { IMAGES, taskSetsOf, WORKLOAD, type SideTraffic } from '../support/ecs-workload.js';
import { freePort } from '../support/global-setup.js';
import { startMetricsLab, type MetricsLab } from '../support/prometheus.js';
import { type Job } from '../support/runner.js';

const lab = useEcsLab();

const healthy: SideTraffic = { requests: 200, errors: 0, latency: (i) => 0.1 + (i % 5) / 100 };

const job = (): Job => lab.job();

function inputs(extra: Record<string, string>): Record<string, string> {
  return {
    cluster: WORKLOAD.cluster,
    service: WORKLOAD.web,
    'container-name': WORKLOAD.web,
    image: IMAGES.webV2,
    ...extra,
  };
}

/** Canary weights every ModifyListener asked for, by target group name. */
function requestedGreen(): number[] {
  return (lab.proxy.requests('ModifyListener') as Array<Record<string, string>>).map((form) => {
    for (let n = 1; form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`]; n++) {
      if (
        form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`]?.includes(
          'targetgroup/open-webui-green/',
        )
      ) {
        return Number(form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.Weight`]);
      }
    }
    return 0;
  });
}

const report = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** A PromQL error rate over the lab's `web` deployment: the ECS subjects have no such labels. */
const PROM_SPEC = (policy: string) => `
interval: 10s
on-inconclusive: ${policy}
provider: prometheus
metrics:
  - name: error-rate
    query: (sum(rate(http_requests_total{deployment="web", code=~"5.."}[{{range}}])) or vector(0)) / sum(rate(http_requests_total{deployment="web"}[{{range}}]))
    judge: { threshold: { max: 1% } }
`;

describe('a metrics backend that does not answer', () => {
  it.each(['stop', 'continue'])(
    'fails the step after error-limit (3) runs with Prometheus unreachable, on-inconclusive %s: never beyond the first weight, all traffic back on stable',
    async (policy) => {
      const port = await freePort(); // nothing listens: connection refused, as for a Prometheus that is down
      const started = Date.now();
      const step = await job().run('ecs-deploy', {
        inputs: inputs({
          steps: '10,50,100',
          'step-duration': '2m',
          analysis: PROM_SPEC(policy),
          'prometheus-url': `http://127.0.0.1:${port}`,
        }),
      });
      const elapsed = Date.now() - started;

      expect(step.outputs.status).toBe('rolled-back');
      expect(step.failure).toMatch(
        new RegExp(
          `^Step 1 \\(10%\\) analysis failed: The metrics backend failed in 3 consecutive runs \\(error-limit 3\\), so nothing judged the new version; this is an outage, not low traffic: prometheus: Prometheus at http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`,
        ),
      );
      expect(elapsed).toBeLessThan(60_000); // three 10 s runs, not the 2 minute bake
      // The canary never got more than its first weight, and stable has everything again.
      expect(requestedGreen()).toEqual([10, 0]);
      expect(await lab.weights()).toEqual({
        'open-webui-blue': 100,
        'open-webui-green': 0,
      });
      expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => [t.id, t.status])).toEqual([
        [lab.workload.web.taskSetId, 'PRIMARY'],
      ]);

      const analysis = report(step.outputs['analysis-report'] as string).steps[0].analysis;
      expect(analysis.verdict).toBe('fail');
      expect(analysis.tally).toMatchObject({ runs: 3, error: 3, inconclusive: 0, withBackendError: 3 });
      expect(analysis.backendFailure).toMatchObject({ sources: ['prometheus'], consecutive: 3 });
      expect(analysis.spec.errorLimit).toBe(3);
      expect(analysis.runs[0].checks[0]).toMatchObject({ verdict: 'error', error: { source: 'prometheus' } });
      expect(step.summary).toContain('❌ fail: metrics backend (prometheus) failed in 3 runs');
      expect(step.summary).toContain('| 1 | +10s | ⚠️ error | ⚠️ error |');
      expect(step.summary).toContain(
        '⚠️ 3 of 3 runs had a metrics backend error (the backend failed to answer; not low traffic)',
      );
    },
    90_000,
  );

  describe('against a real Prometheus', () => {
    let metrics: MetricsLab;
    let gate: Server;
    let gateUrl: string;
    let refuseUntil = 0;
    // An outage of this length starts at the first query through the gate (the first run),
    // so how long the rollout took to reach its first shift does not move it.
    let outageMs = 0;

    beforeAll(async () => {
      metrics = await startMetricsLab({
        deployments: { web: { behaviour: { errorRate: 0, latencyMs: 50 }, rps: 20 } },
      });
      const target = new URL(metrics.prometheus.url);
      // In front of Prometheus: drops every connection while the outage lasts, then forwards.
      gate = createServer((req, res) => {
        if (outageMs > 0 && refuseUntil === 0) refuseUntil = Date.now() + outageMs;
        if (Date.now() < refuseUntil) {
          req.socket.destroy();
          return;
        }
        const upstream = request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      await new Promise<void>((r) => gate.listen(0, '127.0.0.1', () => r()));
      gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
    }, 60_000);
    afterAll(async () => {
      await new Promise((r) => gate?.close(r));
      await metrics?.stop();
    });

    it('errors that stop before error-limit do not fail the step: the runs after the outage judge it, and it is promoted', async () => {
      // The first two runs (10 s apart) find Prometheus down; the third, 20 s after the first, finds it up.
      outageMs = 15_000;
      refuseUntil = 0;
      const step = await job().run('ecs-deploy', {
        inputs: inputs({
          steps: '10,100',
          'step-duration': '40s',
          analysis: PROM_SPEC('stop'),
          'prometheus-url': gateUrl,
        }),
      });

      expect(step.failure).toBeUndefined();
      expect(step.outputs.status).toBe('succeeded');
      const analysis = report(step.outputs['analysis-report'] as string).steps[0].analysis;
      expect(analysis.runs.slice(0, 2).map((r: { verdict: string }) => r.verdict)).toEqual(['error', 'error']);
      expect(analysis.runs.at(-1).verdict).toBe('pass');
      expect(analysis.tally.withBackendError).toBeGreaterThanOrEqual(2);
      expect(analysis.tally.withBackendError).toBeLessThan(3);
      expect(analysis.verdict).toBe('pass');
      expect(analysis.reason).toMatch(/with a backend error/);
      expect(await lab.weights()).toEqual({
        'open-webui-blue': 0,
        'open-webui-green': 100,
      });
    }, 120_000);
  });
});

describe('a canary judged only on its own traffic', () => {
  const ERRORS_ONLY = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 50
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
`;

  it('a quick retry after a rollback on 5xx is not failed by the first canary’s 5xx in the same CloudWatch minute', async () => {
    let green: SideTraffic = { ...healthy, errors: 20 };
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: green,
    }));
    try {
      const first = await job().run('ecs-deploy', {
        inputs: inputs({ steps: '10,100', 'step-duration': '10s', analysis: ERRORS_ONLY }),
      });
      expect(first.outputs.status).toBe('rolled-back');
      expect(first.failure).toMatch(/analysis failed: A run failed: error-rate 10% > 1%/);

      // At once, the fixed version on the same target group (the canary goes to green again).
      green = healthy;
      const retry = job().start('ecs-deploy', {
        inputs: inputs({ steps: '10,100', 'step-duration': '10s', analysis: ERRORS_ONLY }),
      });
      await retry.waitForLog(/Step 1\/2: 10% on the new version/);
      // The first canary's 5xx at the start of the minute the retry shifted in (moto keeps the timestamp given).
      const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      const dims = [
        { Name: 'TargetGroup', Value: lab.workload.targetGroups.green.split(':').pop() as string },
        { Name: 'LoadBalancer', Value: lab.workload.loadBalancerArn.split(':loadbalancer/').pop() as string },
      ];
      await lab.clients.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: 'AWS/ApplicationELB',
          MetricData: [
            { MetricName: 'RequestCount', Dimensions: dims, Timestamp: minute, Value: 100, Unit: 'Count' },
            { MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims, Timestamp: minute, Value: 100, Unit: 'Count' },
          ],
        }),
      );
      const step = await retry.done;

      const r = report(step.outputs['analysis-report'] as string);
      const shiftedAt = Date.parse(r.steps[0].confirmed.at);
      expect(Math.floor(shiftedAt / 60_000) * 60_000).toBe(minute.getTime()); // same minute, 5xx written before the shift
      expect(shiftedAt).toBeGreaterThan(minute.getTime());
      expect(step.failure).toBeUndefined();
      expect(step.outputs.status).toBe('succeeded');
      expect(r.steps[0].analysis.runs[0].checks[0]).toMatchObject({ name: 'error-rate', verdict: 'pass', canary: 0 });
      expect(await lab.weights()).toEqual({
        'open-webui-blue': 0,
        'open-webui-green': 100,
      });
    } finally {
      await traffic.stop();
    }
  }, 90_000);
});
