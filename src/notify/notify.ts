/**
 * Telling people what a rollout did: Slack incoming webhooks (Block Kit), Microsoft Teams
 * workflow webhooks (an Adaptive Card in a message attachment) and a generic JSON
 * webhook. A notification never fails or holds up a rollout: every send has a short
 * deadline, all targets are sent at once, and a failure comes back as a result for the
 * log, never as an exception. Webhook URLs are secrets: `parseTargets` hands each to
 * `mask` before anything can print it, and results name the target by kind and host only.
 */
import { UserError } from '../util/errors.js';

export type NotifyEvent = 'started' | 'paused' | 'rolled-back' | 'failed' | 'held' | 'promoted' | 'succeeded';
export type TargetKind = 'slack' | 'teams' | 'webhook';

export interface Notification {
  event: NotifyEvent;
  service: string;
  environment: string;
  /** The release (a version or commit). */
  release: string;
  image?: string;
  digest?: string;
  /** One line: why (the failing check), who approved, what it waits for. */
  summary: string;
  /** The failing check's numbers, e.g. [["p95 latency", "812 ms > 500 ms"]]. */
  facts?: Array<[string, string]>;
  runUrl?: string;
}

export interface NotifyTarget {
  kind: TargetKind;
  url: string;
}

export interface SendResult {
  target: string;
  ok: boolean;
  detail: string;
}

const KINDS: readonly TargetKind[] = ['slack', 'teams', 'webhook'];

const targetNotAUrl = (kind: TargetKind): UserError =>
  new UserError(
    `notify: the ${kind} target is not a URL.`,
    `Give the webhook URL from a secret, e.g. ${kind}=\${{ secrets.${kind.toUpperCase()}_WEBHOOK_URL }}.`,
  );

/**
 * The `notify` input: one target a line, `slack=URL`, `teams=URL` or `webhook=URL`
 * (a bare https URL is a generic webhook). Every URL is masked first.
 */
export function parseTargets(text: string, mask: (secret: string) => void): NotifyTarget[] {
  const targets: NotifyTarget[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    const named = eq > 0 && /^[a-z]+$/.test(line.slice(0, eq));
    const kind = (named ? line.slice(0, eq) : 'webhook') as TargetKind;
    const url = named ? line.slice(eq + 1).trim() : line;
    mask(url);
    if (!KINDS.includes(kind))
      throw new UserError(
        `notify: "${kind}" is not a kind of target.`,
        'Write slack=URL, teams=URL or webhook=URL, one a line.',
      );
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw targetNotAUrl(kind);
    }
    if (
      parsed.protocol !== 'https:' &&
      !(parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname))
    ) {
      throw new UserError(
        `notify: the ${kind} target is not an https URL.`,
        'Use the https webhook URL Slack, Teams or your receiver gives (plain http only on loopback).',
      );
    }
    targets.push({ kind, url });
  }
  return targets;
}

const TITLES: Record<NotifyEvent, string> = {
  started: 'Rollout started',
  paused: 'Paused: awaiting approval',
  'rolled-back': 'Rolled back',
  failed: 'Rollout failed',
  held: 'Held',
  promoted: 'Promoted',
  succeeded: 'Rollout succeeded',
};
const EMOJI: Record<NotifyEvent, string> = {
  started: '🚀',
  paused: '⏸️',
  'rolled-back': '↩️',
  failed: '❌',
  held: '✋',
  promoted: '⏫',
  succeeded: '✅',
};

const title = (n: Notification) => `${TITLES[n.event]}: ${n.service} in ${n.environment} (release ${n.release})`;
const facts = (n: Notification): Array<[string, string]> => [
  ['Service', n.service],
  ['Environment', n.environment],
  ['Release', n.release],
  ...(n.image ? ([['Image', n.image]] as Array<[string, string]>) : []),
  ...(n.digest ? ([['Digest', n.digest]] as Array<[string, string]>) : []),
  ...(n.facts ?? []),
];
/** Slack mrkdwn: &, < and > are control characters. */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming-webhook message: `text` (the notification fallback) and Block Kit blocks. */
export function slackMessage(n: Notification): Record<string, unknown> {
  const fields = facts(n).slice(0, 10); // a section holds at most 10 fields
  return {
    text: `${EMOJI[n.event]} ${title(n)}`,
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: `${EMOJI[n.event]} ${title(n)}`.slice(0, 150), emoji: true },
      },
      { type: 'section', text: { type: 'mrkdwn', text: slackText(n.summary).slice(0, 3000) } },
      {
        type: 'section',
        fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackText(k)}*\n${slackText(v)}`.slice(0, 2000) })),
      },
      ...(n.runUrl
        ? [
            {
              type: 'actions',
              elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the run' }, url: n.runUrl }],
            },
          ]
        : []),
    ],
  };
}

/** A Teams workflows-webhook message: one attachment holding an Adaptive Card 1.4. */
export function teamsMessage(n: Notification): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: `${EMOJI[n.event]} ${title(n)}`, weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'TextBlock', text: n.summary, wrap: true },
            { type: 'FactSet', facts: facts(n).map(([title, value]) => ({ title, value })) },
          ],
          ...(n.runUrl ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the run', url: n.runUrl }] } : {}),
        },
      },
    ],
  };
}

/** The generic webhook: the notification as it is, with a version to parse it by. */
export function genericMessage(n: Notification): Record<string, unknown> {
  return { schema: 'platform-actions/notification@1', title: title(n), ...n, facts: Object.fromEntries(n.facts ?? []) };
}

const bodyFor = (kind: TargetKind, n: Notification) =>
  kind === 'slack' ? slackMessage(n) : kind === 'teams' ? teamsMessage(n) : genericMessage(n);

/** Sends to every target at once; each gets `timeoutMs` at most. Never throws. */
export async function notify(
  targets: readonly NotifyTarget[],
  n: Notification,
  options: { timeoutMs?: number } = {},
): Promise<SendResult[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return Promise.all(
    targets.map(async (t): Promise<SendResult> => {
      const name = `${t.kind} (${new URL(t.url).host})`;
      try {
        const res = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(bodyFor(t.kind, n)),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        await res.body?.cancel().catch(() => undefined);
        return res.ok
          ? { target: name, ok: true, detail: `HTTP ${res.status}` }
          : { target: name, ok: false, detail: `answered HTTP ${res.status}` };
      } catch (err) {
        const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
        return {
          target: name,
          ok: false,
          detail: timedOut ? `no answer within ${timeoutMs} ms` : 'could not be reached',
        };
      }
    }),
  );
}
