/**
 * CloudWatch alarms as a rollout check: the named alarms must exist (checked before any
 * change) and none may be in ALARM while the rollout is judged. Used as an analysis
 * `ExtraCheck` during bakes and by the rolling engine while ECS deploys (`AlarmWatch`).
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
  type CompositeAlarm,
} from '@aws-sdk/client-cloudwatch';
import type { CheckResult, ExtraCheck, Window } from '../analysis/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { awsClient, awsErrorCode, type AwsClientOptions } from './client.js';

export function cloudWatchClient(options: AwsClientOptions): CloudWatchClient {
  return awsClient(CloudWatchClient, 'CloudWatch', options);
}

export interface AlarmState {
  name: string;
  state: string;
  reason: string;
}

/** The alarms' current states; a UserError names those that do not exist. */
export async function describeAlarms(
  client: CloudWatchClient,
  names: string[],
  signal?: AbortSignal,
): Promise<AlarmState[]> {
  const found: Array<MetricAlarm | CompositeAlarm> = [];
  try {
    // DescribeAlarms takes at most 100 names a call.
    for (let i = 0; i < names.length; i += 100) {
      let NextToken: string | undefined;
      do {
        const res = await client.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + 100),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken,
          }),
          signal ? { abortSignal: signal } : {},
        );
        found.push(...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? []));
        NextToken = res.NextToken;
      } while (NextToken);
    }
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'AccessDenied' || code === 'AccessDeniedException') {
      throw new UserError(
        `CloudWatch refused DescribeAlarms (${code}): ${errorMessage(err)}`,
        'Allow cloudwatch:DescribeAlarms to the deploy role.',
        { cause: err },
      );
    }
    throw err;
  }
  const missing = names.filter((n) => !found.some((a) => a.AlarmName === n));
  if (missing.length > 0) {
    throw new UserError(
      `The alarms input names CloudWatch alarms that do not exist in this region: ${missing.join(', ')}.`,
      'Check the names (exact, case-sensitive) and aws-region, or remove them from alarms.',
    );
  }
  return names.map((name) => {
    const a = found.find((x) => x.AlarmName === name) as MetricAlarm | CompositeAlarm;
    return { name, state: a.StateValue ?? 'INSUFFICIENT_DATA', reason: a.StateReason ?? '' };
  });
}

/** "alarm web-5xx is in ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than 5.0" */
export function describeFiring(alarms: AlarmState[]): string {
  return alarms.map((a) => `alarm ${a.name} is in ALARM${a.reason ? `: ${a.reason}` : ''}`).join('; ');
}

/**
 * The alarms a rollout watches. Those already in ALARM when the rollout starts (what a
 * hotfix is often meant to clear) are reported but do not fail it until they have left
 * ALARM once; every other alarm fails the rollout as soon as it is in ALARM.
 */
export class AlarmWatch {
  private readonly excused = new Set<string>();

  constructor(
    private readonly client: CloudWatchClient,
    readonly names: string[],
  ) {}

  /** Reads the alarms before any change (a UserError names missing ones); returns their states. */
  async start(signal?: AbortSignal): Promise<AlarmState[]> {
    const states = await describeAlarms(this.client, this.names, signal);
    for (const s of states) if (s.state === 'ALARM') this.excused.add(s.name);
    return states;
  }

  /** Alarms that were already in ALARM at the start and have not left it since. */
  get excusedNames(): string[] {
    return [...this.excused];
  }

  /** The alarms in ALARM that count against the rollout now. */
  async firing(signal?: AbortSignal): Promise<AlarmState[]> {
    const states = await describeAlarms(this.client, this.names, signal);
    for (const s of states) if (s.state !== 'ALARM') this.excused.delete(s.name);
    return states.filter((s) => s.state === 'ALARM' && !this.excused.has(s.name));
  }

  /** An analysis check that fails while a counted alarm is in ALARM. */
  check(): ExtraCheck {
    return {
      name: 'alarms',
      evaluate: async (_window: Window, signal?: AbortSignal): Promise<CheckResult> => {
        const firing = await this.firing(signal);
        if (firing.length > 0)
          return { name: 'alarms', verdict: 'fail', reason: describeFiring(firing), judge: 'alarm' };
        const excused = this.excusedNames;
        const note = excused.length
          ? `; ${excused.join(', ')} in ALARM since before the rollout, not counted until it clears`
          : '';
        return {
          name: 'alarms',
          verdict: 'pass',
          reason: `no alarm in ALARM (${this.names.join(', ')})${note}`,
          judge: 'alarm',
        };
      },
    };
  }
}
