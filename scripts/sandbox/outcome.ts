/**
 * The end of the printed timeline: where things stand (each environment's listener, and
 * which release each service runs, read back from ECS), what the releases went through
 * (rollbacks, the release returned as a unit, the pause and resume, the dead runner and the
 * reconcile run, the gates, the notifications), and whether the run is clean.
 */
import { restoreText } from './delivery.js';
import type { SandboxResult } from './pipeline.js';
import { seconds } from './timeline.js';

/** `release N` for a release's commit or one of its images; the text itself otherwise. */
export function releaseNamer(r: Pick<SandboxResult, 'releases'>): (text: string) => string {
  return (text) => {
    for (const release of r.releases) {
      if (text === release.sha || Object.values(release.images).includes(text)) return `release ${release.number}`;
    }
    return text;
  };
}

export function summaryLines(r: SandboxResult): string[] {
  const name = releaseNamer(r);
  const out = [`── Outcome ${'─'.repeat(68)}`];
  for (const s of r.state) {
    const gate = r.deploys.filter((d) => d.environment === s.environment && d.gate).at(-1)?.gate;
    out.push(
      `  ${s.environment.padEnd(11)} listener ${Object.entries(s.listener)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([tg, p]) => `${tg} ${p}%`)
        .join(', ')}${gate ? `; gate: ${gate}` : ''}`,
    );
    for (const [service, image] of Object.entries(s.live))
      out.push(`  ${''.padEnd(11)} ${service.padEnd(23)} ${name(image).padEnd(10)} ${image}`);
    const runs = new Set(Object.values(s.live).map(name));
    if (runs.size > 1)
      out.push(
        `  ${''.padEnd(11)} a mix of ${[...runs].join(' and ')}${r.killed?.environment === s.environment ? ': the killed job never ran its undo steps (see below)' : ''}`,
      );
  }
  if (r.devAfterRelease2) {
    out.push(
      `  release 2   dev after its job: ${Object.entries(r.devAfterRelease2.live)
        .map(([service, image]) => `${service} ${name(image)}`)
        .join(', ')}`,
    );
  }
  for (const d of r.deploys) {
    for (const s of d.services.filter((x) => x.status === 'rolled-back')) {
      out.push(
        `  rollback    release ${d.release} ${s.service} in ${d.environment}: ${s.status} on ${s.report.failure?.trigger ?? '?'}, 100% back on stable ${restoreText(s.report.failure?.recoverySeconds)} after detection`,
      );
    }
    if (d.undone.length > 0)
      out.push(
        `  as a unit   release ${d.release} in ${d.environment}: undo steps returned ${d.undone.join(', then ')} to what ran before (on-failure: rollback-release)`,
      );
    if (d.status === 'paused')
      out.push(
        `  paused      release ${d.release} open-webui in ${d.environment} at its pause step; resumed by a later job: ${r.deploys.find((x) => x.release === d.release && x.environment === d.environment && x !== d)?.status ?? 'not yet'}`,
      );
  }
  if (r.killed)
    out.push(
      `  killed      release ${r.killed.release}'s deploy runner in ${r.killed.environment} (SIGKILL mid-canary, no post step)`,
    );
  for (const a of r.reconcile?.actions ?? []) out.push(`  reconcile   ${a.where}: ${a.state} → ${a.done}`);
  if (r.refusal)
    out.push(
      `  refused     promote of release 2's open-webui: ${(r.refusal.split('\n')[0] as string).replace(/ \(Step .*$/, '')}`,
    );
  if (r.notifications.length > 0) {
    out.push(
      `  notified    ${r.notifications.length} message(s) to the webhook receiver: ${r.notifications.map((n) => `${n.environment} ${n.event}`).join(', ')}`,
    );
  }
  if (r.drift)
    out.push(
      `  drift       ${r.drift.drifted.join(', ') || 'none'}; issues: ${r.drift.issues.map((i) => `#${i.number} ${i.state} "${i.title}"`).join(', ') || 'none'}`,
    );
  const mark = (v: string | undefined) => (v === 'met' ? '✓' : v === 'missed' ? '✗' : '·');
  for (const e of r.dora?.environments ?? []) {
    const v = e.verdicts;
    out.push(
      `  DORA        ${e.environment.padEnd(11)} frequency ${e.deploymentFrequency.perDay}/day ${mark(v.deploymentFrequency)}, lead time ${e.leadTime ? `${e.leadTime.medianSeconds}s` : '-'} ${mark(v.leadTime)}, ` +
        `change failure rate ${e.changeFailureRate === null ? '-' : `${Math.round(e.changeFailureRate * 1000) / 10}%`} ${mark(v.changeFailureRate)}, time to restore ${e.timeToRestore ? `${e.timeToRestore.medianSeconds}s` : '-'} ${mark(v.timeToRestore)}`,
    );
  }
  if (r.dora)
    out.push(
      `  ${''.padEnd(11)} (✓ meets, ✗ misses the seed's targets: 10+/day, < 1h, < 5%, < 10m; · no data; the sandbox's day is a few minutes long)`,
    );
  out.push(
    `  GitHub stand-in: ${r.problems.length === 0 ? "every request and answer fits GitHub's OpenAPI description" : `${r.problems.length} problem(s):`}`,
  );
  for (const p of r.problems) out.push(`    - ${p}`);
  out.push(
    `  secrets: ${r.leaks.length === 0 ? 'none in any log, summary, comment, issue, deployment or notification' : `${r.leaks.length} leak(s):`}`,
  );
  for (const l of r.leaks) out.push(`    - ${l}`);
  if (r.error) out.push('', `✗ stopped: ${r.error}`);
  out.push(
    '',
    `${r.ok ? '✓' : '✗'} sandbox ${r.profile} ${r.ok ? 'passed' : 'FAILED'} in ${seconds(r.durationMs)}; job summaries in ${r.outputDir}`,
  );
  return out;
}
