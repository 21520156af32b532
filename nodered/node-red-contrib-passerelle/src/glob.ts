/** `*` matches any run of characters, as in the gateway's policy globs; everything else is literal. */
export function globMatcher(pattern: string): (key: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (key) => re.test(key);
}

/** "a.*, *.temp" -> ["a.*", "*.temp"]; empty means everything. */
export const splitMatch = (text: unknown): string[] =>
  typeof text === 'string'
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : [];
