/**
 * Glob patterns as people write them for paths and addresses: `*` matches any run of
 * characters except the separator, `**` any run including it, `?` one character.
 * Without a separator (`sep: undefined`) `*` and `**` are the same.
 */
export function globToRegExp(pattern: string, sep?: string): RegExp {
  const escape = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  const notSep = sep === undefined ? '[\\s\\S]' : `[^${escape(sep)}]`;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` also matches no folder at all.
        if (sep !== undefined && pattern[i + 1] === sep) {
          i++;
          out += `(?:[\\s\\S]*${escape(sep)})?`;
        } else {
          out += '[\\s\\S]*';
        }
      } else {
        out += `${notSep}*`;
      }
    } else if (c === '?') {
      out += notSep;
    } else {
      out += escape(c);
    }
  }
  return new RegExp(`^${out}$`);
}

/** True when the text has glob characters. */
export function isGlob(text: string): boolean {
  return /[*?]/.test(text);
}

/** True when `value` matches any of the patterns. */
export function matchesAny(value: string, patterns: string[], sep?: string): boolean {
  return patterns.some((p) => globToRegExp(p, sep).test(value));
}
