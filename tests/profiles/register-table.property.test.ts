import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDecimal, parseRegisterTable } from '../../src/profiles/register-table.js';

const KINDS = [
  ['holding', '3', 'FC03', 'Holding register'],
  ['input', '4', 'fc4', 'Input'],
] as const;
const TYPES = [
  ['u16', 'uint16', 'U16'],
  ['i32', 'int32', 'DINT'],
  ['f32', 'float', 'REAL'],
] as const;

const row = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/).filter((n) => !n.endsWith('_') && !n.includes('__')),
  address: fc.integer({ min: 0, max: 0xffff }),
  hex: fc.boolean(),
  kind: fc.integer({ min: 0, max: 1 }),
  kindSpelling: fc.integer({ min: 0, max: 3 }),
  type: fc.integer({ min: 0, max: 2 }),
  typeSpelling: fc.integer({ min: 0, max: 2 }),
  order: fc.constantFrom(undefined, 'ABCD', 'CDAB', 'word-swap'),
  // Scales as tables give them: a few decimals.
  scale: fc.option(fc.integer({ min: 1, max: 100_000 }).map((n) => n / 1000), { nil: undefined }),
  unit: fc.constantFrom(undefined, 'V', 'A', 'Wh', '%RH'),
});

type Row = typeof row extends fc.Arbitrary<infer T> ? T : never;

/** Writes a table the way a spreadsheet would: `;` with decimal commas, or `,` with points; some fields quoted. */
function render(rows: Row[], semicolon: boolean, quoteAll: boolean): string {
  const sep = semicolon ? ';' : ',';
  const q = (s: string) => (quoteAll || s.includes(sep) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['Name', 'Address', 'Function', 'Data type', 'Word order', 'Scale', 'Unit'].map(q).join(sep)];
  for (const r of rows) {
    const scale = r.scale === undefined ? '' : semicolon ? String(r.scale).replace('.', ',') : String(r.scale);
    const address = r.hex ? `0x${r.address.toString(16).toUpperCase()}` : String(r.address);
    lines.push([r.name, address, KINDS[r.kind]![r.kindSpelling]!, TYPES[r.type]![r.typeSpelling]!, r.order ?? '', scale, r.unit ?? ''].map(q).join(sep));
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('register table import (CSV)', () => {
  it('reads back every row, whatever the separator, quoting, decimal mark and spelling', () => {
    fc.assert(
      fc.property(fc.uniqueArray(row, { selector: (r) => r.name, maxLength: 30 }), fc.boolean(), fc.boolean(), (rows, semicolon, quoteAll) => {
        const table = parseRegisterTable(render(rows, semicolon, quoteAll));
        expect(table.problems).toEqual([]);
        expect(table.points).toEqual(
          rows.map((r, i) => ({
            line: i + 2,
            name: r.name,
            kind: KINDS[r.kind]![0],
            address: r.address,
            type: TYPES[r.type]![0],
            ...(r.order ? { order: r.order === 'word-swap' ? 'CDAB' : r.order } : {}),
            ...(r.scale !== undefined && r.scale !== 1 ? { scale: r.scale } : {}),
            ...(r.unit ? { unit: r.unit } : {}),
          })),
        );
      }),
    );
  });

  it('never throws, and names a bad row by its line while keeping the good ones', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const table = parseRegisterTable(text);
        for (const p of table.problems) expect(p.line).toBeGreaterThanOrEqual(1);
      }),
    );
    const table = parseRegisterTable('nom;adresse;type\nok;1;u16\nbroken;70000;u16\n"also ok";2;"float"\nbad type;3;quad\n');
    expect(table.points.map((p) => [p.line, p.name])).toEqual([[2, 'ok'], [4, 'also_ok']]);
    expect(table.problems).toEqual([
      { line: 3, message: expect.stringContaining('address "70000"') },
      { line: 5, message: expect.stringContaining('type "quad"') },
    ]);
  });

  it('refuses a unit it cannot name in SenML instead of guessing, and converts the usual multiples', () => {
    const table = parseRegisterTable('name,address,unit,scale\np,0,kW,0.1\nq,1,furlongs,\n');
    expect(table.points).toEqual([{ line: 2, name: 'p', kind: 'holding', address: 0, type: 'u16', scale: 100, unit: 'W' }]);
    expect(table.problems[0]).toMatchObject({ line: 3, message: expect.stringContaining('"furlongs" is not a SenML unit') });
  });

  it('reads decimals as tables write them', () => {
    expect([parseDecimal('0,1'), parseDecimal('x10'), parseDecimal('1/100'), parseDecimal('1e-3'), parseDecimal('0'), parseDecimal('abc')]).toEqual([0.1, 10, 0.01, 0.001, undefined, undefined]);
  });

  it('says which header is missing', () => {
    expect(parseRegisterTable('foo;bar\n1;2\n').problems).toEqual([{ line: 1, message: expect.stringContaining('no name or address column') }]);
  });
});
