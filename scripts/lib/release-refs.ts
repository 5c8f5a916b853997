/**
 * The toolkit's references to itself: `org/platform-actions/actions/<name>@v1` and
 * `org/platform-actions/.github/workflows/<file>.yml@v1` in the reusable workflows, the
 * starter workflows and the docs. A release rewrites each to the publishing repository
 * and a full commit SHA, so that a consumer who pins a reusable workflow by SHA also
 * runs exactly the actions of that release inside it.
 */

/** How the sources name the toolkit (placeholders a release replaces). */
export const SOURCE_REPOSITORY = 'org/platform-actions';

const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;

export function checkRepository(name: string): string {
  if (!REPOSITORY.test(name))
    throw new Error(`--repository '${name}' is not OWNER/NAME (for example acme/platform-actions).`);
  return name;
}

export interface Reference {
  /** actions/<name> or .github/workflows/<file> */
  path: string;
  ref: string;
}

function pattern(source: string): RegExp {
  const escaped = source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A path inside the repository, then @ and a version tag (v1, v1.2.3).
  return new RegExp(
    `\\b${escaped}/((?:actions/[A-Za-z0-9._-]+)|(?:\\.github/workflows/[A-Za-z0-9._-]+\\.ya?ml))@(v\\d+(?:\\.\\d+){0,2})\\b`,
    'g',
  );
}

/** Every internal reference in a text. */
export function findReferences(text: string, source = SOURCE_REPOSITORY): Reference[] {
  return [...text.matchAll(pattern(source))].map((m) => ({ path: m[1] as string, ref: m[2] as string }));
}

/** Rewrites every internal reference to repository/path@sha. */
export function rewriteReferences(
  text: string,
  target: { repository: string; sha: string },
  source = SOURCE_REPOSITORY,
): { text: string; count: number } {
  if (!/^[a-f0-9]{40}$/.test(target.sha)) throw new Error(`'${target.sha}' is not a full commit SHA.`);
  let count = 0;
  const out = text.replace(pattern(source), (_all, path: string) => {
    count++;
    return `${target.repository}/${path}@${target.sha}`;
  });
  return { text: out, count };
}

/** Files that carry references: workflows, starters, docs and examples (never dist/, tests or sources). */
export function isReferenceFile(path: string): boolean {
  if (/^(dist|node_modules|test|src|scripts)\//.test(path)) return false;
  return /\.(ya?ml|md)$/.test(path);
}
