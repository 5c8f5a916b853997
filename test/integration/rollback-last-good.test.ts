/**
 * Last known good and untrusted records, through the ecs-deploy and rollback bundles,
 * against moto behind the fault proxy (which lists task definitions newest first for
 * sort=DESC, as AWS does): `to: previous` after a rolled-back v2 and a shipped v3, no
 * bounce on a second rollback, explicit `to:` limited to the service's own revisions, a
 * forged record refused before any change, and a garbled record whose orphaned task set
 * is cleaned up once traffic is back on the primary.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ListTaskDefinitionsCommand,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { useEcsLab } from '../support/ecs-lab.js';
import {
  IMAGES,
  serviceTags,
  taskSetsOf,
  workloadClients,
  WORKLOAD,
  type SideTraffic,
} from '../support/ecs-workload.js';
import { type Job, type StepResult } from '../support/runner.js';

const lab = useEcsLab({ seedThroughFront: true });

const ERROR_RATE = `
interval: 10s
failure-limit: 1
provider: cloudwatch
min-count: 100
metrics:
  - { name: error-rate, query: alb:error-rate, judge: { threshold: { max: 1% } } }
`;
const healthy: SideTraffic = { requests: 200, errors: 0 };
const IMAGE_V3 = 'ghcr.io/open-webui/open-webui:v0.6.7';

const job = (runId = '4242'): Job => lab.job(runId);

/** Calls since `mark` that change something (anything but Describe*, List*). */
const changesSince = (mark: number) =>
  lab.proxy.calls
    .slice(mark)
    .filter((c) => !/^(Describe|List)/.test(c.operation))
    .map((c) => c.operation);
const tdTags = async (ecs: ECSClient, name: string) =>
  Object.fromEntries(
    (
      (
        await ecs.send(
          new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${name}` }),
        )
      ).tags ?? []
    ).map((t) => [t.key, t.value]),
  );

/** Weights each ModifyListener asked for, as [target group name, weight] pairs. */
function requestedWeights(): Array<Array<[string, number]>> {
  return (lab.proxy.requests('ModifyListener') as Array<Record<string, string>>).map((form) => {
    const pairs: Array<[string, number]> = [];
    for (let n = 1; form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`]; n++) {
      const arn = form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.TargetGroupArn`] as string;
      pairs.push([
        /targetgroup\/([^/]+)\//.exec(arn)?.[1] as string,
        Number(form[`DefaultActions.member.1.ForwardConfig.TargetGroups.member.${n}.Weight`]),
      ]);
    }
    return pairs;
  });
}

function expectHelpful(step: StepResult, message: RegExp): void {
  expect(step.exitCode).toBe(1);
  expect(step.failure).toMatch(message);
  expect(step.failure).not.toMatch(/run the rollback action/i);
}

describe('rollback: last known good', () => {
  it('v2 rolled back, v3 shipped: previous is v1, not v2; a second previous does not bounce to v3; to: v3 is explicit', async () => {
    // v2: the canary fails its analysis and is rolled back by ecs-deploy.
    const traffic = lab.traffic(() => ({
      blue: healthy,
      green: { ...healthy, errors: 10 },
    }));
    const v2 = await job().run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '10,100',
        'step-duration': '10s',
        analysis: ERROR_RATE,
      },
    });
    await traffic.stop();
    expect(v2.outputs.status).toBe('rolled-back');
    expect(await tdTags(lab.clients.ecs, 'open-webui:2')).toHaveProperty('platform-actions:rolled-back');

    // v3 ships.
    const v3 = await job('4243').run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGE_V3,
        steps: '100',
        'step-duration': '0s',
        analysis: 'none',
      },
    });
    expect(v3.outputs.status).toBe('succeeded');
    expect(v3.outputs['task-definition-arn']).toMatch(/open-webui:3$/);
    // What served before v3 (v1, never rolled out by us) seeds the list.
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))['platform-actions:last-good']).toBe(
      'open-webui:3 open-webui:1',
    );
    // Through the proxy the family lists newest first, as on AWS: "the ACTIVE revision below the live one" would be v2.
    const listed = await workloadClients(lab.proxy.url).ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: WORKLOAD.web, sort: 'DESC' }),
    );
    expect(listed.taskDefinitionArns?.map((a) => a.split('/').pop())).toEqual([
      'open-webui:3',
      'open-webui:2',
      'open-webui:1',
    ]);

    const first = await job('4300').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, reason: 'v3 slow' },
    });
    expect(first.failure).toBeUndefined();
    expect(first.outputs.status).toBe('rolled-back');
    expect(first.log).toContain(
      'previous is open-webui:1: the revision that last completed a rollout before open-webui:3',
    );
    expect(first.summary).toContain('previous is open-webui:1');
    // v1 registered again for its task set (open-webui:4, v1's content), all traffic on it.
    expect(first.outputs['rolled-back-to']).toMatch(/open-webui:4$/);
    expect(first.summary).toContain(`| **Image** | \`${IMAGES.webV1}\` |`);
    const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
    expect(sets.map((t) => [t.status, t.taskDefinition?.split('/').pop()])).toEqual([['PRIMARY', 'open-webui:4']]);
    expect(await tdTags(lab.clients.ecs, 'open-webui:3')).toHaveProperty('platform-actions:rolled-back');
    expect((await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn))['platform-actions:last-good']).toBe(
      'open-webui:4',
    );

    // A second previous: nothing completed a rollout before what runs now; v3 was rolled back. Refused, nothing changed.
    const mark = lab.proxy.calls.length;
    const second = await job('4301').run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web } });
    expectHelpful(
      second,
      /to: previous has nothing to return to: .*open-webui:4.*Rolled back on this service: open-webui:3 \(rolled back at [^)]+\), open-webui:2 \(rolled back/,
    );
    expect(second.failure).toContain('to: FAMILY:REVISION');
    expect(changesSince(mark)).toEqual([]);
    expect((await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).map((t) => t.taskDefinition?.split('/').pop())).toEqual([
      'open-webui:4',
    ]);

    // Returning to v3 is possible, but only explicitly (it completed a rollout here before).
    const back = await job('4302').run('rollback', {
      inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web, to: 'open-webui:3' },
    });
    expect(back.failure).toBeUndefined();
    expect(back.log).toContain('to: open-webui:3, which completed a rollout on this service before');
    expect(back.log).toContain('It was rolled back at');
    expect(back.summary).toContain(`| **Image** | \`${IMAGE_V3}\` |`);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 0,
      'open-webui-green': 100,
    });
  }, 180_000);

  it('refuses a to: of another family or account, or one the service never ran, before any change; allow-any-revision lets it through', async () => {
    const ecs = lab.clients.ecs;
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: WORKLOAD.web,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '512',
        memory: '1024',
        containerDefinitions: [
          { name: WORKLOAD.web, image: IMAGES.webV2, memory: 1024, portMappings: [{ containerPort: 8080 }] },
        ],
      }),
    );
    const other = (
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'gateway-next',
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: '512',
          memory: '1024',
          containerDefinitions: [
            { name: WORKLOAD.gateway, image: IMAGES.gatewayV2, memory: 1024, portMappings: [{ containerPort: 80 }] },
          ],
        }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    const mark = lab.proxy.calls.length;
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { service: WORKLOAD.web, to: `${WORKLOAD.gateway}:1` },
        /to: bedrock-access-gateway:1 is of task definition family bedrock-access-gateway, but service open-webui runs family open-webui/,
      ],
      [
        { service: WORKLOAD.web, to: 'arn:aws:ecs:us-east-1:999999999999:task-definition/open-webui:1' },
        /is a task definition of account 999999999999 in us-east-1, but service open-webui runs in account 123456789012/,
      ],
      [
        { service: WORKLOAD.web, to: 'open-webui:2' },
        /to: open-webui:2 is not a revision service open-webui ran successfully before/,
      ],
      [
        { service: WORKLOAD.gateway, to: 'gateway-next:1' },
        /family gateway-next, but service bedrock-access-gateway runs family bedrock-access-gateway/,
      ],
      [{ service: WORKLOAD.gateway, 'allow-any-revision': 'true' }, /allow-any-revision is true, but to is previous/],
    ];
    for (const [inputs, message] of cases) {
      const step = await job().run('rollback', { inputs: { cluster: WORKLOAD.cluster, ...inputs } });
      expectHelpful(step, message);
      if (!inputs['allow-any-revision']) expect(step.failure).toContain('Nothing was changed');
    }
    expect(changesSince(mark)).toEqual([]);

    const allowed = await job().run('rollback', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.gateway,
        to: 'gateway-next:1',
        'allow-any-revision': 'true',
      },
    });
    expect(allowed.failure).toBeUndefined();
    expect(allowed.outputs.status).toBe('rolled-back');
    expect(allowed.outputs['rolled-back-to']).toBe(other);
    expect(allowed.log).toContain('accepted without checking the service ran it before (allow-any-revision: true)');
  }, 90_000);

  it('refuses a forged record before any change: the rollback action, ecs-deploy and its post step', async () => {
    const ecs = lab.clients.ecs;
    // Task sets: "stable" names a task set this service does not have, "new" names the primary (a rollback would delete it).
    const forged = `v1 id=4242.1-evil e=ecs-task-set p=shifting s=ecs-svc/1234567 c=${lab.workload.web.taskSetId} w=10 i=0 t=1764000000`;
    await ecs.send(
      new TagResourceCommand({
        resourceArn: lab.workload.web.serviceArn,
        tags: [{ key: 'platform-actions:rollout', value: forged }],
      }),
    );
    // Rolling: the stable side is another account's task definition, then another family's.
    const rolling = (s: string) =>
      `v1 id=4242.1-evil e=ecs-rolling p=shifting s=${s} c=${WORKLOAD.gateway}:1 w=100 i=0 t=1764000000`;

    const mark = lab.proxy.calls.length;
    const rollback = await job().run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web } });
    expectHelpful(
      rollback,
      /The rollout record on ECS service platform\/open-webui .* does not match the service: its stable side ecs-svc\/1234567 is not a task set of this service; its new task set ecs-svc\/\d+ was not created by rollout 4242\.1-evil/,
    );
    expect(rollback.failure).toContain(
      `aws ecs untag-resource --region us-east-1 --resource-arn ${lab.workload.web.serviceArn} --tag-keys platform-actions:rollout`,
    );

    const deploy = await job().run('ecs-deploy', {
      inputs: {
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        'container-name': WORKLOAD.web,
        image: IMAGES.webV2,
        steps: '100',
        analysis: 'none',
      },
    });
    expectHelpful(
      deploy,
      /does not match the service: its stable side ecs-svc\/1234567 is not a task set of this service/,
    );
    // The deploy refused while it only read (before it saved anything for its post step): the post step has nothing to do.
    const before = lab.proxy.calls.length;
    const post = await job().post(deploy);
    expect(post.exitCode).toBe(0);
    expect(post.log).not.toMatch(/Found an unfinished|Rolling back/);
    expect(
      lab.proxy.calls.slice(before).filter((c) => /^(Modify|Delete|Update|Tag|Untag|Create)/.test(c.operation)),
    ).toEqual([]);

    for (const [stable, why] of [
      [
        'arn:aws:ecs:us-east-1:999999999999:task-definition/bedrock-access-gateway:1',
        /its stable side arn:\S+ is in account 999999999999 \(us-east-1\), not the service's 123456789012/,
      ],
      ['open-webui:1', /its stable side open-webui:1 is of family open-webui, which the service does not run/],
    ] as const) {
      await ecs.send(
        new TagResourceCommand({
          resourceArn: lab.workload.gateway.serviceArn,
          tags: [{ key: 'platform-actions:rollout', value: rolling(stable) }],
        }),
      );
      const step = await job().run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway } });
      expectHelpful(step, why);
      const redeploy = await job().run('ecs-deploy', {
        inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.gateway, image: IMAGES.gatewayV2, analysis: 'none' },
      });
      expectHelpful(redeploy, why);
    }
    expect(changesSince(mark).filter((op) => op !== 'TagResource')).toEqual([]);
    expect(await lab.weights()).toEqual({
      'open-webui-blue': 100,
      'open-webui-green': 0,
    });
    expect((await taskSetsOf(ecs, WORKLOAD.web)).map((t) => t.id)).toEqual([lab.workload.web.taskSetId]);
    expect((await serviceTags(ecs, lab.workload.web.serviceArn))['platform-actions:rollout']).toBe(forged);
  }, 120_000);

  for (const next of ['ecs-deploy', 'rollback'] as const) {
    it(`recovers a garbled record with an orphaned canary task set: ${next} puts all traffic on the primary, deletes the orphan and goes on`, async () => {
      const killed = job().start('ecs-deploy', {
        inputs: {
          cluster: WORKLOAD.cluster,
          service: WORKLOAD.web,
          'container-name': WORKLOAD.web,
          image: IMAGES.webV2,
          steps: '10,100',
          'step-duration': '5m',
          analysis: 'none',
        },
      });
      await killed.waitForLog(/Step 1\/2: 10% on the new version/, 45_000);
      killed.kill('SIGKILL');
      await killed.done;
      const orphan = (await taskSetsOf(lab.clients.ecs, WORKLOAD.web)).find((t) => t.status !== 'PRIMARY');
      expect(orphan?.id).toBeDefined();
      // The record is garbled (a hand edit cut it short).
      await lab.clients.ecs.send(
        new TagResourceCommand({
          resourceArn: lab.workload.web.serviceArn,
          tags: [{ key: 'platform-actions:rollout', value: 'v1 id=4242.1-x e=ecs-task-set p=shif' }],
        }),
      );
      expect(await lab.weights()).toEqual({
        'open-webui-blue': 90,
        'open-webui-green': 10,
      });
      lab.proxy.reset();

      const step =
        next === 'ecs-deploy'
          ? await job('4300').run('ecs-deploy', {
              inputs: {
                cluster: WORKLOAD.cluster,
                service: WORKLOAD.web,
                'container-name': WORKLOAD.web,
                image: IMAGE_V3,
                steps: '100',
                'step-duration': '0s',
                analysis: 'none',
              },
            })
          : await job('4300').run('rollback', { inputs: { cluster: WORKLOAD.cluster, service: WORKLOAD.web } });
      expect(step.failure).toBeUndefined();
      expect(step.log).toContain(
        'holds "v1 id=4242.1-x e=ecs-task-set p=shif", which is not a rollout record; it is ignored',
      );
      expect(step.log).toContain(`Found task sets left from an unrecorded rollout: ${orphan?.id}`);
      // First change: all traffic back on the primary's target group, in one call; only then the orphan goes.
      expect(requestedWeights()[0]).toEqual([
        ['open-webui-blue', 100],
        ['open-webui-green', 0],
      ]);
      const deletes = lab.proxy.requests('DeleteTaskSet') as Array<{ taskSet: string }>;
      expect(deletes[0]?.taskSet).toContain(orphan?.id?.split('/').pop());
      const firstDelete = lab.proxy.calls.findIndex((c) => c.operation === 'DeleteTaskSet');
      const firstModify = lab.proxy.calls.findIndex((c) => c.operation === 'ModifyListener');
      expect(firstModify).toBeGreaterThanOrEqual(0);
      expect(firstModify).toBeLessThan(firstDelete);

      const sets = await taskSetsOf(lab.clients.ecs, WORKLOAD.web);
      expect(sets.map((t) => t.id)).not.toContain(orphan?.id);
      expect(await serviceTags(lab.clients.ecs, lab.workload.web.serviceArn)).not.toHaveProperty(
        'platform-actions:rollout',
      );
      if (next === 'ecs-deploy') {
        expect(step.outputs.status).toBe('succeeded');
        expect(await lab.weights()).toEqual({
          'open-webui-blue': 0,
          'open-webui-green': 100,
        });
        expect(sets.map((t) => [t.status, t.taskDefinition?.split('/').pop()])).toEqual([['PRIMARY', 'open-webui:3']]);
      } else {
        expect(step.outputs.status).toBe('rolled-back');
        expect(step.outputs['rolled-back-to']).toBe(lab.workload.web.taskDefinitionArn);
        expect(step.summary).toMatch(
          /Undid a rollout whose record was unreadable, from the live state: put all traffic back on the primary task set/,
        );
        expect(await lab.weights()).toEqual({
          'open-webui-blue': 100,
          'open-webui-green': 0,
        });
        expect(sets.map((t) => [t.id, t.status])).toEqual([[lab.workload.web.taskSetId, 'PRIMARY']]);
      }
    }, 120_000);
  }
});
