/**
 * The test routing of ecs-deploy's smoke checks on task sets: a listener rule that sends
 * requests carrying `x-platform-actions-smoke: <rollout id>` to the new task set's target
 * group, and nothing else. It is created once the new task set is healthy, before the
 * first weight, and deleted right after the checks; production weights are never
 * touched. A rule left by a job that died is recognised by that header condition and
 * removed by the rollback (and is skipped wherever the engine looks for its route).
 *
 * The synthetic load (`load:` in the analysis spec) uses the same mechanism during each
 * bake: two rules on the same header, `load-new-<rollout id>` to the new task set's group
 * and `load-stable-<rollout id>` to stable's, opened before the bake's load and deleted
 * right after it. Being smoke-header rules, they are never taken for the production
 * route, and the rollback's sweep removes any a dead job left.
 */
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SMOKE_HEADER } from '../analysis/smoke.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsErrorCode } from './client.js';
import { isSmokeRule, targetGroupName, type TrafficRoute } from './elbv2.js';

const abort = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

/** The listener a route belongs to (a rule's ARN holds its listener's). */
export function listenerOf(route: TrafficRoute): string {
  if (route.kind === 'listener') return route.arn;
  const m = /^(arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:)listener-rule\/(app\/[^/]+\/[^/]+\/[^/]+)\/[^/]+$/.exec(
    route.arn,
  );
  if (!m)
    throw new UserError(
      `'${route.arn}' is not an ALB listener rule ARN.`,
      "Copy the ARN from the rule's page (listener-rule-arn).",
    );
  return `${m[1]}listener/${m[2]}`;
}

function explain(err: unknown, what: string): Error {
  const code = awsErrorCode(err);
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new UserError(
      `${what}: access denied (${errorMessage(err)}).`,
      'Smoke checks and load: on task sets need elasticloadbalancing:CreateRule, DeleteRule, DescribeRules and DescribeLoadBalancers on the listener (docs/actions/ecs-deploy.md); or give smoke-listener-arn / smoke-url for a test listener you manage.',
      { cause: err },
    );
  }
  if (code === 'TooManyRules' || code === 'PriorityInUse' || code === 'TooManyConditionValues') {
    return new UserError(
      `${what}: ${code} (${errorMessage(err)}).`,
      'Free a rule (and a priority) on the listener, or give smoke-listener-arn: a test listener for the smoke rule.',
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function rulesOf(
  elbv2: ElasticLoadBalancingV2Client,
  listenerArn: string,
  signal?: AbortSignal,
): Promise<Rule[]> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  do {
    const res = await elbv2.send(
      new DescribeRulesCommand({ ListenerArn: listenerArn, ...(marker ? { Marker: marker } : {}) }),
      abort(signal),
    );
    rules.push(...(res.Rules ?? []));
    marker = res.NextMarker;
  } while (marker);
  return rules;
}

export interface SmokeRuleOptions {
  elbv2: ElasticLoadBalancingV2Client;
  /** The listener the rule goes on: a test listener, or the production route's own. */
  listenerArn: string;
  /** The production route, when the rule shares its listener: the smoke rule must come before it. */
  route?: TrafficRoute;
  /** The new task set's target group. */
  targetGroupArn: string;
  /** The rollout's id: the header's value. */
  deploymentId: string;
  /** The header's value when it is not the rollout's id (the load rules). */
  headerValue?: string;
  /** For the log: what the rule is for and where it sends. Default: the smoke rule to the new task set. */
  purpose?: { rule: string; side: string };
  log: (line: string) => void;
}

/**
 * Creates the smoke rule (header condition only, forward to the new side's target group)
 * at the lowest free priority, which must come before the production rule when the route
 * is one. Returns the listener's own URL (protocol, load balancer DNS name, port), the
 * default for smoke-url. Idempotent: a rule of this rollout is reused.
 */
export async function openSmokeRule(
  o: SmokeRuleOptions,
  signal?: AbortSignal,
): Promise<{ ruleArn: string; listenerUrl: string }> {
  let listenerUrl: string;
  let rules: Rule[];
  try {
    const listener = (
      await o.elbv2.send(new DescribeListenersCommand({ ListenerArns: [o.listenerArn] }), abort(signal))
    ).Listeners?.[0];
    const lb = listener?.LoadBalancerArn
      ? (
          await o.elbv2.send(
            new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }),
            abort(signal),
          )
        ).LoadBalancers?.[0]
      : undefined;
    const protocol = (listener?.Protocol ?? 'HTTP').toLowerCase();
    const port = listener?.Port;
    listenerUrl = `${protocol}://${lb?.DNSName ?? 'unknown-load-balancer'}${port && !((protocol === 'http' && port === 80) || (protocol === 'https' && port === 443)) ? `:${port}` : ''}`;
    rules = await rulesOf(o.elbv2, o.listenerArn, signal);
  } catch (err) {
    throw explain(err, `Reading listener ${o.listenerArn.split('/').slice(-3).join('/')} for the smoke rule`);
  }
  const value = o.headerValue ?? o.deploymentId;
  const purpose = o.purpose ?? { rule: 'Smoke rule', side: 'the new task set' };
  const mine = rules.find(
    (r) => isSmokeRule(r) && r.Conditions?.some((c) => c.HttpHeaderConfig?.Values?.includes(value)),
  );
  if (mine?.RuleArn) return { ruleArn: mine.RuleArn, listenerUrl };
  const taken = new Set(rules.filter((r) => !r.IsDefault).map((r) => Number(r.Priority)));
  let priority = 1;
  while (taken.has(priority)) priority++;
  const production = o.route?.kind === 'rule' ? rules.find((r) => r.RuleArn === o.route?.arn) : undefined;
  if (production && Number(production.Priority) < priority) {
    throw new UserError(
      `The ${purpose.rule.toLowerCase()} must come before the service's listener rule (priority ${production.Priority}), and every priority below it is taken.`,
      "Leave a priority free below the service's rule (two for load:), or give smoke-listener-arn: a test listener (e.g. port 8443) for these rules.",
    );
  }
  try {
    const res = await o.elbv2.send(
      new CreateRuleCommand({
        ListenerArn: o.listenerArn,
        Priority: priority,
        Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: SMOKE_HEADER, Values: [value] } }],
        Actions: [
          { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: o.targetGroupArn, Weight: 1 }] } },
        ],
      }),
      abort(signal),
    );
    const ruleArn = res.Rules?.[0]?.RuleArn;
    if (!ruleArn) throw new Error('CreateRule returned no rule');
    o.log(
      `${purpose.rule} at priority ${priority}: requests with ${SMOKE_HEADER}: ${value} go to ${targetGroupName(o.targetGroupArn)} (${purpose.side}) only; production weights unchanged.`,
    );
    return { ruleArn, listenerUrl };
  } catch (err) {
    throw explain(err, `Creating the ${purpose.rule.toLowerCase()}`);
  }
}

/**
 * Deletes the smoke rules on the listener: this rollout's (`deploymentId`: the rule whose
 * header value it is), those whose header value `matching` accepts (the load rules), or
 * (with neither) every one forwarding to one of `targetGroups`.
 */
export async function removeSmokeRules(
  elbv2: ElasticLoadBalancingV2Client,
  listenerArn: string,
  which: { deploymentId?: string; matching?: (value: string) => boolean; targetGroups: string[] },
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<number> {
  const rules = (await rulesOf(elbv2, listenerArn, signal)).filter(
    (r) =>
      isSmokeRule(r) &&
      (which.matching
        ? r.Conditions?.some((c) => c.HttpHeaderConfig?.Values?.some((v) => which.matching?.(v)))
        : which.deploymentId
          ? r.Conditions?.some((c) => c.HttpHeaderConfig?.Values?.includes(which.deploymentId as string))
          : r.Actions?.some((a) =>
              [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn)].some(
                (tg) => tg && which.targetGroups.includes(tg),
              ),
            )),
  );
  for (const r of rules) {
    try {
      await elbv2.send(new DeleteRuleCommand({ RuleArn: r.RuleArn }), abort(signal));
    } catch (err) {
      if (awsErrorCode(err) === 'RuleNotFound') continue;
      throw explain(err, 'Deleting the smoke rule');
    }
    const value = r.Conditions?.find((c) => c.HttpHeaderConfig)?.HttpHeaderConfig?.Values?.[0] ?? '';
    log(`Deleted the ${value.startsWith('load-') ? 'load' : 'smoke'} rule (priority ${r.Priority}).`);
  }
  return rules.length;
}

/**
 * Removes smoke rules left on any listener of the load balancer that forward to one of the
 * service's target groups (a job that died during its smoke checks). Never fails the
 * caller: a leftover rule only routes requests carrying the smoke header.
 */
export async function sweepSmokeRules(
  elbv2: ElasticLoadBalancingV2Client,
  loadBalancerArn: string,
  targetGroups: string[],
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  try {
    const listeners =
      (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }), abort(signal))).Listeners ??
      [];
    for (const l of listeners)
      if (l.ListenerArn) await removeSmokeRules(elbv2, l.ListenerArn, { targetGroups }, log, signal);
  } catch (err) {
    log(
      `Could not look for a smoke rule left on the load balancer (${errorMessage(err)}); one would only route requests carrying ${SMOKE_HEADER}. Delete it by hand if you find it.`,
    );
  }
}
