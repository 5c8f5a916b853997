/**
 * Who may approve a release through the approval gate: the `approvers` input, read into
 * users and teams. No GitHub client here, so the action's settings stay light (cold start).
 */
import { UserError } from '../util/errors.js';

/** An approver as configured: a user login or an `org/team` slug. */
export type Approver = { kind: 'user'; login: string } | { kind: 'team'; org: string; slug: string };

const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const TEAM = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9_.-]{1,100})$/;

/** The `approvers` input: logins (`alice`, `@alice`) and teams (`acme/release-managers`). */
export function parseApprovers(items: readonly string[]): Approver[] {
  const out: Approver[] = [];
  for (const raw of items) {
    const item = raw.replace(/^@/, '');
    const team = TEAM.exec(item);
    if (team) out.push({ kind: 'team', org: team[1] as string, slug: (team[2] as string).toLowerCase() });
    else if (LOGIN.test(item)) out.push({ kind: 'user', login: item });
    else
      throw new UserError(
        `approvers has '${raw}', which is neither a GitHub login nor an org/team slug.`,
        'List logins (alice) and teams (acme/release-managers), separated by commas or newlines.',
      );
  }
  if (out.length === 0)
    throw new UserError(
      'approvers is empty: nobody could approve.',
      'Name at least one user or org/team who may approve, e.g. approvers: acme/release-managers.',
    );
  return out;
}

export const describeApprover = (a: Approver): string => (a.kind === 'user' ? `@${a.login}` : `@${a.org}/${a.slug}`);
