import { describe, expect, it } from '@jest/globals';
import type { Service } from '@aws-sdk/client-ecs';
import { buildSmokeSpec } from '../../../src/analysis/smoke.js';
import { planNativeSmoke, smokeWorstCaseMs } from '../../../src/aws/ecs-native-smoke.js';

const TG = (n: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${n}/0123456789abcdef`;
const TEST_RULE =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/platform/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const ref = { cluster: 'platform', service: 'mcp-proxy' };

function service(
  hookMinutes = 30,
  action: 'ROLLBACK' | 'CONTINUE' = 'ROLLBACK',
  testRule: string | undefined = TEST_RULE,
): Service {
  return {
    serviceName: 'mcp-proxy',
    loadBalancers: [
      {
        targetGroupArn: TG('blue'),
        advancedConfiguration: {
          alternateTargetGroupArn: TG('green'),
          productionListenerRule: TEST_RULE.replace(/[^/]+$/, 'prod'),
          roleArn: 'arn:aws:iam::123456789012:role/ecs-lb',
          ...(testRule ? { testListenerRule: testRule } : {}),
        },
      },
    ],
    deploymentConfiguration: {
      strategy: 'BLUE_GREEN',
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'],
          timeoutConfiguration: { timeoutInMinutes: hookMinutes, action },
        },
      ],
    },
  } as Service;
}

const spec = buildSmokeSpec({
  timeout: '10s',
  retries: 2,
  'retry-delay': '5s',
  checks: [{ path: '/health' }, { path: '/api/config' }],
});

describe('planNativeSmoke', () => {
  it('takes the test listener rule, the target group pair and the hook at POST_TEST_TRAFFIC_SHIFT', () => {
    const plan = planNativeSmoke(service(), spec, ref);
    expect(plan.testRoute).toEqual({ kind: 'rule', arn: TEST_RULE });
    expect(plan.pair).toEqual([TG('blue'), TG('green')]);
    expect(plan.hook.lifecycleStages).toContain('POST_TEST_TRAFFIC_SHIFT');
  });

  it('counts every attempt of every check timing out, and the delays between', () => {
    // 2 checks × (3 attempts × 10 s + 2 delays × 5 s)
    expect(smokeWorstCaseMs(spec)).toBe(80_000);
  });

  it('refuses a hook that times out before the checks can end', () => {
    expect(() => planNativeSmoke(service(2), spec, ref)).toThrow(
      /times out after 2 min, but the smoke checks may take up to 2m20s/,
    );
    expect(() => planNativeSmoke(service(3), spec, ref)).not.toThrow();
  });

  it('refuses without a test listener rule, and a hook that would continue on its own', () => {
    expect(() => planNativeSmoke(service(30, 'ROLLBACK', ''), spec, ref)).toThrow(/has no test listener rule/);
    expect(() => planNativeSmoke(service(30, 'CONTINUE'), spec, ref)).toThrow(/has timeout action CONTINUE/);
  });
});
