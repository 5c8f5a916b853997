import { error, warning } from '@actions/core';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Diagnostic } from './diagnostics.js';

/**
 * Writes diagnostics as annotations on the file and line they point at (relative to
 * the workspace, as GitHub expects), so they show in the PR's Files view.
 */
export function annotate(diagnostics: Diagnostic[], directory: string, workspace: string, title: string): void {
  for (const d of diagnostics) {
    const props: { title: string; file?: string; startLine?: number; endLine?: number; startColumn?: number } = {
      title: `${title}: ${d.summary}`,
    };
    if (d.file) {
      const abs = isAbsolute(d.file) ? d.file : resolve(directory, d.file);
      props.file = relative(workspace, abs) || d.file;
      if (d.line !== undefined) props.startLine = d.line;
      if (d.endLine !== undefined && d.endLine !== d.line) props.endLine = d.endLine;
    }
    const message = [d.summary, d.detail].filter(Boolean).join('\n\n');
    if (d.severity === 'error') error(message, props);
    else warning(message, props);
  }
}
