/**
 * The seed workload in moto, shaped like examples/seed-workload/terraform: moto's default
 * VPC and two of its subnets, a security group, an ALB with a listener, an ECS Fargate
 * cluster, and two services:
 *
 * - open-webui: EXTERNAL deployment controller, one PRIMARY task set in the blue target
 *   group, the listener's default action forwarding blue 100 / green 0;
 * - bedrock-access-gateway: ECS controller (rolling), behind its own target group and a
 *   `/api/v1/*` listener rule.
 *
 * Used by the ecs-deploy tests and the bench; the sandbox uses its ALB traffic writer and
 * readers on the stacks Terraform makes.
 */
import {
  CloudWatchClient,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateSecurityGroupCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateServiceCommand,
  CreateTaskSetCommand,
  DescribeServicesCommand,
  DescribeTaskSetsCommand,
  ECSClient,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
  UpdateServicePrimaryTaskSetCommand,
  CreateClusterCommand,
  type TaskSet,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export const WORKLOAD = {
  cluster: 'platform',
  web: 'open-webui',
  gateway: 'bedrock-access-gateway',
  region: 'us-east-1',
} as const;
export const IMAGES = {
  webV1: 'ghcr.io/open-webui/open-webui:v0.6.5',
  webV2: 'ghcr.io/open-webui/open-webui@sha256:' + 'a'.repeat(64),
  gatewayV1: '111111111111.dkr.ecr.us-east-1.amazonaws.com/bedrock-access-gateway:1.0.0',
  gatewayV2: '111111111111.dkr.ecr.us-east-1.amazonaws.com/bedrock-access-gateway:1.1.0',
};

export interface Workload {
  endpoint: string;
  subnets: string[];
  securityGroup: string;
  loadBalancerArn: string;
  listenerArn: string;
  gatewayRuleArn: string;
  targetGroups: { blue: string; green: string; gateway: string };
  web: { serviceArn: string; taskDefinitionArn: string; taskSetId: string };
  gateway: { serviceArn: string; taskDefinitionArn: string };
}

/** The AWS clients a test uses to look at moto directly. */
export function workloadClients(endpoint: string) {
  // Not moto.ts's helper: this module also runs outside jest (bench, sandbox).
  const config = {
    region: WORKLOAD.region,
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  return {
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    cloudwatch: new CloudWatchClient(config),
    destroy() {
      this.ec2.destroy();
      this.ecs.destroy();
      this.elbv2.destroy();
      this.cloudwatch.destroy();
    },
  };
}

function taskDefinition(
  family: string,
  image: string,
  port: number,
  environment: Array<{ name: string; value: string }> = [],
) {
  return new RegisterTaskDefinitionCommand({
    family,
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: '512',
    memory: '1024',
    executionRoleArn: 'arn:aws:iam::123456789012:role/platform-task-execution',
    containerDefinitions: [
      {
        name: family,
        image,
        essential: true,
        memory: 1024,
        portMappings: [{ containerPort: port, protocol: 'tcp' }],
        environment,
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': '/ecs/platform', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': family },
        },
      },
    ],
  });
}

/** Builds the workload in an empty moto. */
export async function seedWorkload(endpoint: string): Promise<Workload> {
  const c = workloadClients(endpoint);
  try {
    const vpc = (await c.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })))
      .Vpcs?.[0]?.VpcId as string;
    const subnets = (
      (await c.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets ?? []
    )
      .slice(0, 2)
      .map((s) => s.SubnetId as string);
    const securityGroup = (
      await c.ec2.send(
        new CreateSecurityGroupCommand({ GroupName: 'platform-services', Description: 'services', VpcId: vpc }),
      )
    ).GroupId as string;

    const loadBalancerArn = (
      await c.elbv2.send(
        new CreateLoadBalancerCommand({
          Name: 'platform',
          Subnets: subnets,
          SecurityGroups: [securityGroup],
          Type: 'application',
        }),
      )
    ).LoadBalancers?.[0]?.LoadBalancerArn as string;
    const tg = async (name: string, port: number) =>
      (
        await c.elbv2.send(
          new CreateTargetGroupCommand({
            Name: name,
            Protocol: 'HTTP',
            Port: port,
            VpcId: vpc,
            TargetType: 'ip',
            HealthCheckPath: '/health',
          }),
        )
      ).TargetGroups?.[0]?.TargetGroupArn as string;
    const blue = await tg('open-webui-blue', 8080);
    const green = await tg('open-webui-green', 8080);
    const gatewayTg = await tg('platform-gateway', 80);
    const listenerArn = (
      await c.elbv2.send(
        new CreateListenerCommand({
          LoadBalancerArn: loadBalancerArn,
          Protocol: 'HTTP',
          Port: 80,
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
    ).Listeners?.[0]?.ListenerArn as string;
    const gatewayRuleArn = (
      await c.elbv2.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: 10,
          Conditions: [{ Field: 'path-pattern', Values: ['/api/v1/*'] }],
          Actions: [{ Type: 'forward', TargetGroupArn: gatewayTg }],
        }),
      )
    ).Rules?.[0]?.RuleArn as string;

    await c.ecs.send(new CreateClusterCommand({ clusterName: WORKLOAD.cluster }));
    const network = {
      awsvpcConfiguration: { subnets, securityGroups: [securityGroup], assignPublicIp: 'ENABLED' as const },
    };

    const webTd = (
      await c.ecs.send(taskDefinition(WORKLOAD.web, IMAGES.webV1, 8080, [{ name: 'WEBUI_NAME', value: 'Platform' }]))
    )?.taskDefinition?.taskDefinitionArn as string;
    const web = (
      await c.ecs.send(
        new CreateServiceCommand({
          cluster: WORKLOAD.cluster,
          serviceName: WORKLOAD.web,
          desiredCount: 2,
          deploymentController: { type: 'EXTERNAL' },
        }),
      )
    ).service?.serviceArn as string;
    const taskSet = (
      await c.ecs.send(
        new CreateTaskSetCommand({
          cluster: WORKLOAD.cluster,
          service: WORKLOAD.web,
          taskDefinition: webTd,
          externalId: 'terraform',
          launchType: 'FARGATE',
          networkConfiguration: network,
          loadBalancers: [{ targetGroupArn: blue, containerName: WORKLOAD.web, containerPort: 8080 }],
          scale: { unit: 'PERCENT', value: 100 },
        }),
      )
    ).taskSet as TaskSet;
    await c.ecs.send(
      new UpdateServicePrimaryTaskSetCommand({
        cluster: WORKLOAD.cluster,
        service: WORKLOAD.web,
        primaryTaskSet: taskSet.taskSetArn,
      }),
    );

    const gatewayTd = (await c.ecs.send(taskDefinition(WORKLOAD.gateway, IMAGES.gatewayV1, 80)))?.taskDefinition
      ?.taskDefinitionArn as string;
    const gateway = (
      await c.ecs.send(
        new CreateServiceCommand({
          cluster: WORKLOAD.cluster,
          serviceName: WORKLOAD.gateway,
          taskDefinition: gatewayTd,
          desiredCount: 2,
          launchType: 'FARGATE',
          networkConfiguration: network,
          loadBalancers: [{ targetGroupArn: gatewayTg, containerName: WORKLOAD.gateway, containerPort: 80 }],
          deploymentConfiguration: {
            deploymentCircuitBreaker: { enable: true, rollback: false },
            maximumPercent: 200,
            minimumHealthyPercent: 100,
          },
        }),
      )
    ).service?.serviceArn as string;

    return {
      endpoint,
      subnets,
      securityGroup,
      loadBalancerArn,
      listenerArn,
      gatewayRuleArn,
      targetGroups: { blue, green, gateway: gatewayTg },
      web: { serviceArn: web, taskDefinitionArn: webTd, taskSetId: taskSet.id as string },
      gateway: { serviceArn: gateway, taskDefinitionArn: gatewayTd },
    };
  } finally {
    c.destroy();
  }
}

/** Target group ARN → percent of the listener's (or rule's) forward. */
export async function forwardPercentages(
  elbv2: ElasticLoadBalancingV2Client,
  arn: string,
): Promise<Record<string, number>> {
  const actions = arn.includes(':listener-rule/')
    ? (await elbv2.send(new DescribeRulesCommand({ RuleArns: [arn] }))).Rules?.[0]?.Actions
    : (await elbv2.send(new DescribeListenersCommand({ ListenerArns: [arn] }))).Listeners?.[0]?.DefaultActions;
  const tuples = actions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
  const total = tuples.reduce((a, t) => a + (t.Weight ?? 0), 0);
  return Object.fromEntries(
    tuples.map((t) => [t.TargetGroupArn as string, total ? ((t.Weight ?? 0) * 100) / total : 0]),
  );
}

export async function taskSetsOf(ecs: ECSClient, service: string): Promise<TaskSet[]> {
  return (await ecs.send(new DescribeTaskSetsCommand({ cluster: WORKLOAD.cluster, service }))).taskSets ?? [];
}

export async function liveTaskDefinition(ecs: ECSClient, service: string): Promise<string | undefined> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: WORKLOAD.cluster, services: [service] }))).services?.[0]
    ?.taskDefinition;
}

export async function serviceTags(ecs: ECSClient, serviceArn: string): Promise<Record<string, string>> {
  const tags = (await ecs.send(new ListTagsForResourceCommand({ resourceArn: serviceArn }))).tags ?? [];
  return Object.fromEntries(tags.map((t) => [t.key as string, t.value as string]));
}

export async function putAlarm(cloudwatch: CloudWatchClient, name: string): Promise<void> {
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HTTPCode_Target_5XX_Count',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
}

export interface SideTraffic {
  /** Requests per tick. */
  requests: number;
  /** 5xx per tick. */
  errors?: number;
  /** Response time of each request in a tick, seconds. */
  latency?: (i: number) => number;
}

/**
 * Writes ALB metrics for target groups the way ALB publishes them (AWS/ApplicationELB,
 * TargetGroup + LoadBalancer dimensions), a datapoint per target group per tick stamped
 * now, so the analysis windows (which start when a weight is confirmed) find them.
 * `traffic` is asked every tick, so a test can change it mid-rollout.
 */
export function startAlbTraffic(
  cloudwatch: CloudWatchClient,
  loadBalancerArn: string,
  traffic: () => Record<string, SideTraffic | undefined>,
  options: { tickMs?: number; latencyNamespace?: string } = {},
): { stop(): Promise<void> } {
  const lb = loadBalancerArn.split(':loadbalancer/').pop() as string;
  let stopped = false;
  const tick = async () => {
    const data: MetricDatum[] = [];
    const custom: MetricDatum[] = [];
    const at = new Date();
    for (const [tgArn, side] of Object.entries(traffic())) {
      if (!side || side.requests <= 0) continue;
      const dims = [
        { Name: 'TargetGroup', Value: tgArn.split(':').pop() as string },
        { Name: 'LoadBalancer', Value: lb },
      ];
      data.push({ MetricName: 'RequestCount', Dimensions: dims, Timestamp: at, Value: side.requests, Unit: 'Count' });
      if (side.errors)
        data.push({
          MetricName: 'HTTPCode_Target_5XX_Count',
          Dimensions: dims,
          Timestamp: at,
          Value: side.errors,
          Unit: 'Count',
        });
      if (side.latency) {
        const values = Array.from({ length: side.requests }, (_, i) => (side.latency as (i: number) => number)(i));
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        data.push({ MetricName: 'TargetResponseTime', Dimensions: dims, Timestamp: at, Value: mean, Unit: 'Seconds' });
        if (options.latencyNamespace) {
          custom.push({
            MetricName: 'Latency',
            Dimensions: [{ Name: 'TargetGroup', Value: tgArn }],
            Timestamp: at,
            Value: mean,
            Unit: 'Seconds',
            StorageResolution: 1,
          });
        }
      }
    }
    if (data.length)
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/ApplicationELB', MetricData: data }));
    if (custom.length)
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: options.latencyNamespace, MetricData: custom }));
  };
  const loop = (async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, options.tickMs ?? 2000));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
