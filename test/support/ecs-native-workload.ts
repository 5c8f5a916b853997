/**
 * The seed workload's MCP proxy as a service with an ECS native strategy: the ECS
 * controller, a deploymentConfiguration with BLUE_GREEN / CANARY / LINEAR and PAUSE hooks,
 * and a load balancer with advancedConfiguration: its own two target groups and a listener
 * rule (`/mcp/*`) of the seed ALB that forwards 100 / 0 to them. Created through the
 * native stand-in (test/support/ecs-native-server.ts), which keeps what moto drops.
 */
import {
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type DeploymentConfiguration,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { WORKLOAD, type Workload } from './ecs-workload.js';

export const MCP = {
  service: 'mcp-proxy',
  port: 8096,
  imageV1: 'ghcr.io/acme/mcp-proxy:1.4.0',
  imageV2: `ghcr.io/acme/mcp-proxy@sha256:${'b'.repeat(64)}`,
} as const;

export interface NativeService {
  serviceArn: string;
  taskDefinitionArn: string;
  ruleArn: string;
  targetGroups: { blue: string; green: string };
  /** With `testListener`: the test listener (port 8443) named as the service's testListenerRule. */
  testListenerArn?: string;
}

/** PAUSE hooks ecs-deploy needs for canary / linear (before each step) and blue/green (after the switch). */
export const PAUSE_HOOKS: DeploymentConfiguration['lifecycleHooks'] = [
  {
    targetType: 'PAUSE',
    lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'],
    timeoutConfiguration: { timeoutInMinutes: 30, action: 'ROLLBACK' },
  },
];

export async function seedNativeService(
  endpoint: string,
  workload: Workload,
  deploymentConfiguration: DeploymentConfiguration,
  options: { testListener?: boolean } = {},
): Promise<NativeService> {
  const config = {
    region: WORKLOAD.region,
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const ecs = new ECSClient(config);
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  try {
    const vpc = (await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [workload.targetGroups.blue] })))
      .TargetGroups?.[0]?.VpcId as string;
    const tg = async (name: string) =>
      (
        await elbv2.send(
          new CreateTargetGroupCommand({
            Name: name,
            Protocol: 'HTTP',
            Port: MCP.port,
            VpcId: vpc,
            TargetType: 'ip',
            HealthCheckPath: '/healthz',
          }),
        )
      ).TargetGroups?.[0]?.TargetGroupArn as string;
    const blue = await tg('mcp-proxy-blue');
    const green = await tg('mcp-proxy-green');
    const ruleArn = (
      await elbv2.send(
        new CreateRuleCommand({
          ListenerArn: workload.listenerArn,
          Priority: 20,
          Conditions: [{ Field: 'path-pattern', Values: ['/mcp/*'] }],
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: blue, Weight: 100 },
                  { TargetGroupArn: green, Weight: 0 },
                ],
              },
            },
          ],
        }),
      )
    ).Rules?.[0]?.RuleArn as string;
    // A test listener as ECS native blue/green uses it: both target groups, all on blue until ECS moves it.
    const testListenerArn = options.testListener
      ? ((
          await elbv2.send(
            new CreateListenerCommand({
              LoadBalancerArn: workload.loadBalancerArn,
              Protocol: 'HTTP',
              Port: 8443,
              DefaultActions: [
                {
                  Type: 'forward',
                  ForwardConfig: {
                    TargetGroups: [
                      { TargetGroupArn: blue, Weight: 100 },
                      { TargetGroupArn: green, Weight: 0 },
                    ],
                  },
                },
              ],
            }),
          )
        ).Listeners?.[0]?.ListenerArn as string)
      : undefined;
    const taskDefinitionArn = (
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: MCP.service,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: '256',
          memory: '512',
          executionRoleArn: 'arn:aws:iam::123456789012:role/platform-task-execution',
          containerDefinitions: [
            {
              name: MCP.service,
              image: MCP.imageV1,
              essential: true,
              memory: 512,
              portMappings: [{ containerPort: MCP.port, protocol: 'tcp' }],
            },
          ],
        }),
      )
    ).taskDefinition?.taskDefinitionArn as string;
    const serviceArn = (
      await ecs.send(
        new CreateServiceCommand({
          cluster: WORKLOAD.cluster,
          serviceName: MCP.service,
          taskDefinition: taskDefinitionArn,
          desiredCount: 2,
          launchType: 'FARGATE',
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: workload.subnets,
              securityGroups: [workload.securityGroup],
              assignPublicIp: 'ENABLED',
            },
          },
          loadBalancers: [
            {
              targetGroupArn: blue,
              containerName: MCP.service,
              containerPort: MCP.port,
              advancedConfiguration: {
                alternateTargetGroupArn: green,
                productionListenerRule: ruleArn,
                ...(testListenerArn ? { testListenerRule: testListenerArn } : {}),
                roleArn: 'arn:aws:iam::123456789012:role/ecs-infrastructure-load-balancers',
              },
            },
          ],
          deploymentController: { type: 'ECS' },
          deploymentConfiguration,
        }),
      )
    ).service?.serviceArn as string;
    return {
      serviceArn,
      taskDefinitionArn,
      ruleArn,
      targetGroups: { blue, green },
      ...(testListenerArn ? { testListenerArn } : {}),
    };
  } finally {
    ecs.destroy();
    elbv2.destroy();
  }
}
