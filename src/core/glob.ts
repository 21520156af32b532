/**
 * Policy globs: `*` matches any run of characters (dots included, possibly none); every other character
 * is literal. Matched without regular expressions: the literal pieces between stars are found left to
 * right, each at its first place (leftmost is always right when the only wildcard is `*`), so a key is
 * scanned once per piece and a pattern with many stars cannot backtrack exponentially.
 * Pure, in core so that config checks can reuse it.
 */
export type GlobMatcher = (key: string) => boolean;

export function compileGlob(pattern: string): GlobMatcher {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return (key) => key === pattern;
  const head = pieces[0]!;
  const tail = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p.length > 0);
  const minLength = head.length + tail.length + middle.reduce((n, p) => n + p.length, 0);
  return (key) => {
    if (key.length < minLength || !key.startsWith(head) || !key.endsWith(tail)) return false;
    let from = head.length;
    const end = key.length - tail.length;
    for (const piece of middle) {
      const at = key.indexOf(piece, from);
      if (at < 0 || at + piece.length > end) return false;
      from = at + piece.length;
    }
    return true;
  };
}
