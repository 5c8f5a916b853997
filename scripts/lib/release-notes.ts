/**
 * Release notes from the commits since the previous tag: breaking changes first (a
 * subject with `!:` or a body with `BREAKING CHANGE`), then everything else, each with
 * its short SHA, so a consumer can see what moved between two pins.
 */

export interface Commit {
  sha: string;
  subject: string;
  body: string;
}

export function releaseNotes(
  version: string,
  previousTag: string | undefined,
  commits: Commit[],
  references: { repository: string; sha: string; count: number },
): string {
  const breaking = commits.filter(
    (c) => /^[a-z]+(\([^)]*\))?!:/i.test(c.subject) || /^BREAKING[ -]CHANGE:/m.test(c.body),
  );
  const others = commits.filter((c) => !breaking.includes(c));
  const line = (c: Commit) => `- ${c.subject} (${c.sha.slice(0, 12)})`;
  const parts = [
    `# v${version}`,
    '',
    previousTag
      ? `Changes since ${previousTag}: ${commits.length} commit(s).`
      : `First release: ${commits.length} commit(s).`,
    '',
  ];
  if (breaking.length)
    parts.push(
      '## Breaking changes',
      '',
      ...breaking.map(line),
      '',
      'See docs/versioning.md for what to check before moving to this release.',
      '',
    );
  parts.push('## Changes', '', ...(others.length ? others.map(line) : ['- (none besides the above)']), '');
  parts.push(
    '## Pinning',
    '',
    `The reusable workflows and starters of this release call the actions as \`${references.repository}/actions/<name>@${references.sha}\` (${references.count} references), a commit that holds the actions and their dist/.`,
    `Pin this release by the commit of tag v${version}, not by the moving tag; see docs/versioning.md.`,
    '',
  );
  return parts.join('\n');
}
