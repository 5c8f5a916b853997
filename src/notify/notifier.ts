/**
 * The `notify` input of the rollout actions (ecs-deploy, gke-deploy, rollback, promote,
 * reconcile, approval): parsed and masked once, then one `send` per event. A send never
 * throws and never takes longer than its timeout; a bad target list or a failed send is a
 * warning in the log. `flush` waits for sends still under way (each bounded by the
 * timeout), so an entry point can let them finish before it ends.
 */
import { notify, parseTargets, type Notification, type NotifyTarget } from './notify.js';
import { errorMessage } from '../util/errors.js';

export interface Notifier {
  /** How many targets there are (0: sends are no-ops). */
  readonly targets: number;
  /** Starts sending; resolves when every target answered or timed out. Never rejects. */
  send(n: Omit<Notification, 'runUrl'>): Promise<void>;
  /** Waits for every send started so far. */
  flush(): Promise<void>;
}

export interface NotifierOptions {
  mask: (secret: string) => void;
  info: (text: string) => void;
  warn: (text: string) => void;
  runUrl?: string;
  timeoutMs?: number;
}

export function notifier(text: string, options: NotifierOptions): Notifier {
  let targets: NotifyTarget[] = [];
  try {
    targets = parseTargets(text, options.mask);
  } catch (err) {
    options.warn(`Notifications are off: ${errorMessage(err)}`);
  }
  const pending = new Set<Promise<void>>();
  return {
    targets: targets.length,
    send(n) {
      if (targets.length === 0) return Promise.resolve();
      const p = notify(
        targets,
        { ...n, ...(options.runUrl ? { runUrl: options.runUrl } : {}) },
        { timeoutMs: options.timeoutMs ?? 5000 },
      )
        .then((results) => {
          for (const r of results) {
            if (r.ok) options.info(`Notification (${n.event}) to ${r.target}: sent.`);
            else
              options.warn(
                `Notification (${n.event}) to ${r.target}: not sent, ${r.detail}. The rollout goes on regardless.`,
              );
          }
        })
        .catch((err: unknown) => options.warn(`Notification (${n.event}) not sent: ${errorMessage(err)}.`));
      pending.add(p);
      void p.finally(() => pending.delete(p));
      return p;
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}
