/**
 * The sandbox's record of what ran: every step (an action run as the runner runs it, or
 * something the emulated world did), when it started, how long it took, its key facts,
 * and its job summary saved under the output folder. Printed as it goes and at the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type StepKind = 'action' | 'world' | 'note';

export interface StepRecord {
  n: number;
  kind: StepKind;
  stage: string;
  /** What ran: `ecs-deploy open-webui`, `moto: authorize-security-group-ingress`... */
  title: string;
  environment?: string;
  release?: number;
  /** Milliseconds since the sandbox started. */
  startedAt: number;
  durationMs: number;
  ok: boolean;
  /** The few facts worth reading: digests, weights, verdicts, times. */
  facts: string[];
  /** The saved job summary, relative to the output folder. */
  summaryFile?: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function clock(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return `${pad(Math.floor(s / 60))}:${(s % 60).toFixed(1).padStart(4, '0')}`;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

export class Timeline {
  readonly steps: StepRecord[] = [];
  readonly started = Date.now();
  private lastStage = '';

  constructor(
    private readonly outputDir: string,
    private readonly print: (line: string) => void,
  ) {
    mkdirSync(outputDir, { recursive: true });
  }

  now(): number {
    return Date.now() - this.started;
  }

  /** Records a finished step, saves its summary, prints its line. */
  add(step: Omit<StepRecord, 'n' | 'summaryFile'>, summary?: string): StepRecord {
    const n = this.steps.length + 1;
    const record: StepRecord = { ...step, n };
    if (summary && summary.trim()) {
      const name = `${pad(n, 3)}-${slug([step.stage, step.environment, step.title].filter(Boolean).join(' '))}.md`;
      writeFileSync(join(this.outputDir, name), summary);
      record.summaryFile = name;
    }
    this.steps.push(record);
    this.printStep(record);
    return record;
  }

  /** A line that explains what the sandbox does differently from GitHub (gates, soak). */
  note(stage: string, text: string, environment?: string): void {
    this.add({
      kind: 'note',
      stage,
      title: text,
      environment,
      startedAt: this.now(),
      durationMs: 0,
      ok: true,
      facts: [],
    });
  }

  heading(stage: string): void {
    if (stage === this.lastStage) return;
    this.lastStage = stage;
    this.print('');
    this.print(`── ${stage} ${'─'.repeat(Math.max(3, 76 - stage.length))}`);
  }

  private printStep(s: StepRecord): void {
    this.heading(s.stage);
    const mark = s.kind === 'note' ? 'ℹ' : s.ok ? '✓' : '✗';
    const where = [s.release !== undefined ? `release ${s.release}` : '', s.environment ?? '']
      .filter(Boolean)
      .join(' · ');
    const head = s.kind === 'note' ? '' : `${seconds(s.durationMs).padStart(5)}  `;
    this.print(`  ${clock(s.startedAt)}  ${head}${mark} ${where ? `[${where}] ` : ''}${s.title}`);
    for (const fact of s.facts) this.print(`                   ${fact}`);
  }

  /** The whole timeline as Markdown, for sandbox-output/timeline.md. */
  markdown(title: string, footer: string[]): string {
    const rows = this.steps.map((s) => {
      const where = [s.release !== undefined ? `release ${s.release}` : '', s.environment ?? '']
        .filter(Boolean)
        .join(' · ');
      const what = s.summaryFile ? `[${s.title}](${s.summaryFile})` : s.title;
      const mark = s.kind === 'note' ? 'ℹ️' : s.ok ? '✅' : '❌';
      return `| ${s.n} | ${clock(s.startedAt)} | ${s.kind === 'note' ? '' : seconds(s.durationMs)} | ${s.stage} | ${where} | ${mark} ${what.replace(/\|/g, '\\|')} | ${s.facts.join('<br>').replace(/\|/g, '\\|')} |`;
    });
    return [
      `# ${title}`,
      '',
      '| # | at | took | stage | where | step | key facts |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      ...footer,
      '',
    ].join('\n');
  }
}
