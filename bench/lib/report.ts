/**
 * Shared benchmark output: a readable table, then ONE JSON line, always last, for scripts and CI
 * (`npm run bench -- NAME | tail -n 1`).
 */
export type Cell = string | number;
export type Row = Readonly<Record<string, Cell>>;

/** Prints rows as an aligned table; columns are the union of the rows' keys, in first-seen order. */
export function printTable(rows: readonly Row[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((cells) => cells[i]!.length)));
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  out(line(columns));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const cells of text) out(line(cells));
}

/** The last line of every benchmark: `{"bench":"<name>", ...figures}`. */
export function printResult(name: string, figures: Readonly<Record<string, number>>, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  out(JSON.stringify({ bench: name, ...figures }));
}

function formatCell(value: Cell | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Rounds for the JSON line: 3 significant digits are all a noisy machine supports. */
export const round3 = (n: number): number => Number(n.toPrecision(3));
