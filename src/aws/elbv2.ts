/**
 * ALB listener and listener-rule weights: read the weighted forward of a listener's
 * default actions or of a rule, set both target groups' weights in one ModifyListener /
 * ModifyRule call (never one side at a time), read them back, and target health.
 */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SMOKE_HEADER } from '../analysis/smoke.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';

export function elbv2Client(options: AwsClientOptions): ElasticLoadBalancingV2Client {
  return awsClient(ElasticLoadBalancingV2Client, 'Elastic Load Balancing v2', options);
}

/** Where traffic is weighted: a listener's default actions or one listener rule. */
export interface TrafficRoute {
  kind: 'listener' | 'rule';
  arn: string;
}

export interface WeightedForward {
  route: TrafficRoute;
  /** Every action of the listener (default actions) or rule, as read. */
  actions: Action[];
  /** Index of the forward action in `actions`. */
  forwardIndex: number;
  /** Target group ARN → weight as configured (0–999). */
  weights: Map<string, number>;
}

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

export function describeRoute(route: TrafficRoute): string {
  const name = route.arn.split(':').pop() ?? route.arn;
  return `${route.kind === 'listener' ? 'listener' : 'listener rule'} ${name.replace(/^listener(-rule)?\//, '')}`;
}

/** The load balancer ARN a listener or rule ARN belongs to. */
export function loadBalancerArnOf(routeArn: string): string {
  const m = /^(arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:)listener(?:-rule)?\/((?:app|net|gwy)\/[^/]+\/[^/]+)\//.exec(
    routeArn,
  );
  if (!m)
    throw new UserError(
      `'${routeArn}' is not an ALB listener or listener rule ARN.`,
      "Copy the ARN from the load balancer's Listeners tab (listener-arn) or the rule's page (listener-rule-arn).",
    );
  return `${m[1]}loadbalancer/${m[2]}`;
}

/** Whether a rule matches on the smoke header: ecs-deploy's short-lived test rule (smoke-rule.ts), never a traffic route. */
export function isSmokeRule(rule: Rule): boolean {
  return (rule.Conditions ?? []).some(
    (c) => c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === SMOKE_HEADER,
  );
}

/** `name` of a target group ARN, for logs. */
export function targetGroupName(arn: string): string {
  return /targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;
}

function explain(err: unknown, what: string): Error {
  const code = awsErrorCode(err);
  if (
    code === 'ListenerNotFound' ||
    code === 'RuleNotFound' ||
    code === 'TargetGroupNotFound' ||
    code === 'LoadBalancerNotFound'
  ) {
    return new UserError(
      `${what}: ${code} (${errorMessage(err)}).`,
      'Check listener-arn, listener-rule-arn, target-groups and aws-region.',
      { cause: err },
    );
  }
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new UserError(
      `${what}: access denied (${errorMessage(err)}).`,
      'Grant the deploy role the elasticloadbalancing permissions listed in docs/actions/ecs-deploy.md.',
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

function forwardOf(actions: Action[]): { index: number; weights: Map<string, number> } | undefined {
  const index = actions.findIndex((a) => a.Type === 'forward');
  if (index < 0) return undefined;
  const action = actions[index] as Action;
  const weights = new Map<string, number>();
  const tuples = action.ForwardConfig?.TargetGroups ?? [];
  if (tuples.length > 0) {
    for (const t of tuples) if (t.TargetGroupArn) weights.set(t.TargetGroupArn, t.Weight ?? 1);
  } else if (action.TargetGroupArn) {
    weights.set(action.TargetGroupArn, 1);
  }
  return { index, weights };
}

/** Reads the route's actions and its forward action's target groups and weights. */
export async function readForward(
  client: ElasticLoadBalancingV2Client,
  route: TrafficRoute,
  signal?: AbortSignal,
): Promise<WeightedForward> {
  let actions: Action[];
  try {
    if (route.kind === 'listener') {
      const res = await client.send(new DescribeListenersCommand({ ListenerArns: [route.arn] }), abort(signal));
      actions = res.Listeners?.[0]?.DefaultActions ?? [];
    } else {
      const res = await client.send(new DescribeRulesCommand({ RuleArns: [route.arn] }), abort(signal));
      actions = res.Rules?.[0]?.Actions ?? [];
    }
  } catch (err) {
    throw explain(err, `Reading ${describeRoute(route)}`);
  }
  const forward = forwardOf(actions);
  if (!forward) {
    throw new UserError(
      `${describeRoute(route)} does not forward to target groups (its actions: ${actions.map((a) => a.Type).join(', ') || 'none'}).`,
      "Point listener-arn or listener-rule-arn at the listener or rule whose forward action sends traffic to the service's target groups.",
    );
  }
  return { route, actions, forwardIndex: forward.index, weights: forward.weights };
}

/** Percent of traffic per target group (weights are relative; all zero means none). */
export function percentages(weights: Map<string, number>): Map<string, number> {
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  return new Map([...weights].map(([arn, w]) => [arn, total > 0 ? Math.round((w / total) * 10000) / 100 : 0]));
}

/** "open-webui-blue 90, open-webui-green 10" */
export function describeWeights(weights: Map<string, number>): string {
  return [...percentages(weights)].map(([arn, p]) => `${targetGroupName(arn)} ${p}%`).join(', ');
}

/**
 * Sets the forward action to exactly these target groups and weights in one call, keeping
 * every other action (authentication, ...) and the stickiness settings as they are.
 */
export async function setForwardWeights(
  client: ElasticLoadBalancingV2Client,
  current: WeightedForward,
  weights: Array<{ targetGroupArn: string; weight: number }>,
  signal?: AbortSignal,
): Promise<void> {
  const actions = current.actions.map((a, i) => {
    if (i !== current.forwardIndex) return a;
    const { TargetGroupArn: _single, ...rest } = a;
    return {
      ...rest,
      ForwardConfig: {
        ...(a.ForwardConfig?.TargetGroupStickinessConfig
          ? { TargetGroupStickinessConfig: a.ForwardConfig.TargetGroupStickinessConfig }
          : {}),
        TargetGroups: weights.map((w) => ({ TargetGroupArn: w.targetGroupArn, Weight: w.weight })),
      },
    };
  });
  try {
    if (current.route.kind === 'listener') {
      await client.send(
        new ModifyListenerCommand({ ListenerArn: current.route.arn, DefaultActions: actions }),
        abort(signal),
      );
    } else {
      await client.send(new ModifyRuleCommand({ RuleArn: current.route.arn, Actions: actions }), abort(signal));
    }
  } catch (err) {
    throw explain(err, `Setting the weights of ${describeRoute(current.route)}`);
  }
}

/**
 * Finds the one listener default action or rule of the target group's load balancers
 * that forwards to it. Undefined when there is none; a UserError when there are several.
 */
export async function findRoute(
  client: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  signal?: AbortSignal,
): Promise<TrafficRoute | undefined> {
  let lbs: string[];
  try {
    const res = await client.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] }),
      abort(signal),
    );
    lbs = res.TargetGroups?.[0]?.LoadBalancerArns ?? [];
  } catch (err) {
    throw explain(err, `Reading target group ${targetGroupName(targetGroupArn)}`);
  }
  const found: TrafficRoute[] = [];
  for (const lb of lbs) {
    const listeners =
      (await client.send(new DescribeListenersCommand({ LoadBalancerArn: lb }), abort(signal))).Listeners ?? [];
    for (const listener of listeners) {
      if (!listener.ListenerArn) continue;
      const rules =
        (await client.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }), abort(signal))).Rules ?? [];
      for (const rule of rules) {
        if (isSmokeRule(rule)) continue;
        if (!forwardOf(rule.Actions ?? [])?.weights.has(targetGroupArn)) continue;
        // The default rule is the listener's default actions.
        found.push(
          rule.IsDefault
            ? { kind: 'listener', arn: listener.ListenerArn }
            : { kind: 'rule', arn: rule.RuleArn as string },
        );
      }
      if (!rules.some((r) => r.IsDefault) && forwardOf(listener.DefaultActions ?? [])?.weights.has(targetGroupArn)) {
        found.push({ kind: 'listener', arn: listener.ListenerArn });
      }
    }
  }
  const unique = [...new Map(found.map((r) => [r.arn, r])).values()];
  if (unique.length > 1) {
    throw new UserError(
      `Target group ${targetGroupName(targetGroupArn)} receives traffic from ${unique.length} listeners or rules (${unique.map(describeRoute).join(', ')}); ecs-deploy shifts one.`,
      'Name the one to shift with listener-arn or listener-rule-arn.',
    );
  }
  return unique[0];
}

export interface TargetHealthSummary {
  total: number;
  healthy: number;
  /** "10.0.1.5:8080 unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502])" */
  problems: string[];
}

/** Health of a target group's registered targets; draining targets are not counted. */
export async function targetHealth(
  client: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  signal?: AbortSignal,
): Promise<TargetHealthSummary> {
  const res = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), abort(signal));
  const targets = (res.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State !== 'draining');
  const healthy = targets.filter((d) => d.TargetHealth?.State === 'healthy').length;
  const problems = targets
    .filter((d) => d.TargetHealth?.State !== 'healthy')
    .map((d) => {
      const h = d.TargetHealth;
      return `${d.Target?.Id}:${d.Target?.Port} ${h?.State ?? 'unknown'}${h?.Reason ? ` (${h.Reason}${h.Description ? `: ${h.Description}` : ''})` : ''}`;
    });
  return { total: targets.length, healthy, problems };
}
