/**
 * Terraform's diagnostics (errors and warnings) with the file and line they point at,
 * read from its machine-readable output (`-json`), or from its human output where a
 * command has no JSON form that both terraform and tofu share (init).
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  /** Relative to the working directory, as Terraform reports it. */
  file?: string;
  line?: number;
  endLine?: number;
  column?: number;
  /** The configuration lines around the problem, when Terraform supplied them. */
  snippet?: string;
  address?: string;
}

interface JsonDiagnostic {
  severity?: string;
  summary?: string;
  detail?: string;
  address?: string;
  range?: { filename?: string; start?: { line?: number; column?: number }; end?: { line?: number } };
  snippet?: { code?: string; start_line?: number; context?: string | null };
}

export function fromJson(d: JsonDiagnostic): Diagnostic {
  const diagnostic: Diagnostic = {
    severity: d.severity === 'warning' ? 'warning' : 'error',
    summary: d.summary ?? 'Terraform reported a problem',
  };
  if (d.detail) diagnostic.detail = d.detail;
  if (d.address) diagnostic.address = d.address;
  if (d.range?.filename) {
    diagnostic.file = d.range.filename;
    if (d.range.start?.line !== undefined) diagnostic.line = d.range.start.line;
    if (d.range.start?.column !== undefined) diagnostic.column = d.range.start.column;
    if (d.range.end?.line !== undefined) diagnostic.endLine = d.range.end.line;
  }
  if (d.snippet?.code) {
    const first = d.snippet.start_line ?? diagnostic.line ?? 1;
    diagnostic.snippet = d.snippet.code
      .split('\n')
      .map((l, i) => `${String(first + i).padStart(4)}: ${l}`)
      .join('\n');
  }
  return diagnostic;
}

/** Diagnostics in Terraform's human output (`-no-color`), boxed or not. */
export function fromText(text: string): Diagnostic[] {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/^[│╷╵]\s?/, ''));
  const out: Diagnostic[] = [];
  let current: Diagnostic | undefined;
  let body: string[] = [];
  const close = () => {
    if (!current) return;
    const detail = body.join('\n').trim();
    if (detail) current.detail = detail;
    out.push(current);
    current = undefined;
    body = [];
  };
  for (const raw of lines) {
    const head = /^(Error|Warning): (.+)$/.exec(raw.trim());
    if (head && raw.startsWith(head[1] as string)) {
      close();
      current = { severity: head[1] === 'Error' ? 'error' : 'warning', summary: (head[2] as string).trim() };
      continue;
    }
    if (!current) continue;
    const where = /^\s*on (.+?) line (\d+)/.exec(raw);
    if (where && current.file === undefined) {
      current.file = where[1] as string;
      current.line = Number(where[2]);
      continue;
    }
    if (/^\s*\d+:/.test(raw) && current.file !== undefined && body.every((l) => l.trim() === '')) {
      current.snippet = current.snippet ? `${current.snippet}\n${raw}` : raw;
      continue;
    }
    body.push(raw);
  }
  close();
  return out;
}

export function describeDiagnostic(d: Diagnostic): string {
  const where = d.file ? ` (${d.file}${d.line !== undefined ? `:${d.line}` : ''})` : '';
  return `${d.summary}${where}${d.detail ? `\n${d.detail}` : ''}`;
}
