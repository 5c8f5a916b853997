import { escapeText, heading, table } from '../github/markdown.js';
import { formatDuration } from '../util/duration.js';
import { TARGETS, verdicts, type Distribution, type EnvironmentFigures, type Verdict } from './dora.js';

const mark: Record<Verdict, string> = { met: '✅', missed: '❌', 'no-data': '—' };

const seconds = (d: Distribution | null) =>
  d === null ? 'no data' : `${formatDuration(d.medianSeconds * 1000)} (p90 ${formatDuration(d.p90Seconds * 1000)})`;
const perDay = (n: number) => (n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2));

/** The job summary: one column per environment, the seed's targets beside the figures. */
export function renderDoraSummary(figures: EnvironmentFigures[], windowText: string): string {
  const v = figures.map(verdicts);
  const cell = (i: number, key: keyof ReturnType<typeof verdicts>, text: string) =>
    `${mark[(v[i] as ReturnType<typeof verdicts>)[key]]} ${text}`;
  const rows = [
    [
      'Deployment frequency',
      `${TARGETS.deploymentFrequencyPerDay}+ a day`,
      ...figures.map((f, i) =>
        cell(
          i,
          'deploymentFrequency',
          `${perDay(f.deploymentFrequency.perDay)} a day (${f.deploymentFrequency.count})`,
        ),
      ),
    ],
    [
      'Lead time for changes (median)',
      `< ${formatDuration(TARGETS.leadTimeSeconds * 1000)}`,
      ...figures.map((f, i) => cell(i, 'leadTime', seconds(f.leadTime))),
    ],
    [
      'Change failure rate',
      `< ${TARGETS.changeFailureRate * 100}%`,
      ...figures.map((f, i) =>
        cell(
          i,
          'changeFailureRate',
          f.changeFailureRate === null
            ? 'no data'
            : `${(f.changeFailureRate * 100).toFixed(1)}% (${f.counts.failed} of ${f.counts.changes})`,
        ),
      ),
    ],
    [
      'Time to restore (median)',
      `< ${formatDuration(TARGETS.timeToRestoreSeconds * 1000)}`,
      ...figures.map((f, i) =>
        cell(
          i,
          'timeToRestore',
          `${f.timeToRestore === null ? (f.counts.failed === 0 ? 'no failures' : 'no data') : seconds(f.timeToRestore)}${f.counts.openFailures > 0 ? `, ${f.counts.openFailures} not restored` : ''}`,
        ),
      ),
    ],
  ];
  const notes = figures
    .map((f) => {
      const parts = [`${f.counts.changes} change(s)`, `${f.counts.rollbacks} rollback(s)`];
      if (f.counts.unfinished > 0) parts.push(`${f.counts.unfinished} unfinished (not counted)`);
      if (f.counts.commitsNotFound > 0)
        parts.push(`${f.counts.commitsNotFound} deployed commit(s) not found (no lead time)`);
      return `- **${escapeText(f.environment)}**: ${parts.join(', ')}.`;
    })
    .join('\n');
  return [
    heading(`DORA figures, last ${escapeText(windowText)}`, 3),
    table(['Figure', 'Target', ...figures.map((f) => escapeText(f.environment))], rows),
    notes,
    '',
    '_From the GitHub Deployments that platform-actions recorded; definitions in docs/actions/dora-report.md._',
    '',
  ].join('\n');
}
