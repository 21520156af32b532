/** Compiling and applying a user-configured line pattern, shared by the schema and the decoder. */

/** Compiles a pattern with named groups; returns a technician-readable reason when it is unusable. */
export function compileLinePattern(source: string | RegExp): RegExp | string {
  let regex: RegExp;
  try {
    // Flags g/y would make exec() stateful across lines: drop them.
    regex = typeof source === 'string' ? new RegExp(source) : new RegExp(source.source, source.flags.replace(/[gy]/g, ''));
  } catch (e) {
    return `pattern is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (namedGroups(regex).length === 0) return 'pattern has no named group: write e.g. T=(?<T>[-0-9.]+)';
  return regex;
}

/** Names of the `(?<name>...)` groups of a regex. */
export function namedGroups(regex: RegExp): string[] {
  const names: string[] = [];
  const re = /\(\?<([A-Za-z_$][\w$]*)>/g;
  for (let m = re.exec(regex.source); m; m = re.exec(regex.source)) if (m[1]) names.push(m[1]);
  return names;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A strict decimal number (not Number(): that turns "" into 0 and accepts "0x10" and "Infinity"). */
export function parseDecimal(text: string): number | null {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : null;
}
