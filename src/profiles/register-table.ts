/**
 * A vendor's register table (CSV, as exported from a PDF or a spreadsheet) turned into the points of a
 * profile a technician then completes. Tolerant of what such tables look like: `;`, `,` or tab separators,
 * quoted fields, a French decimal comma ("0,1"), French or English headers, hex or decimal addresses,
 * function codes or register kinds. Every row that cannot become a point is named by its line; the good
 * rows are kept. Addresses are taken as wire (0-based) addresses, as profiles use.
 */
import { parse } from 'csv-parse/sync';
import { SENML_UNITS, type SenmlUnit } from '../core/units.js';
import { REGISTER_KINDS, VALUE_TYPES, WORD_ORDER_ALIASES, type RegisterKind, type ValueType, type WordOrder } from './schema.js';

export interface TablePoint {
  readonly line: number;
  readonly name: string;
  readonly kind: RegisterKind;
  readonly address: number;
  readonly type: ValueType;
  readonly order?: WordOrder;
  readonly scale?: number;
  readonly unit?: SenmlUnit;
}

export interface TableProblem {
  readonly line: number;
  readonly message: string;
}

export interface RegisterTable {
  readonly points: TablePoint[];
  readonly problems: TableProblem[];
}

/** A register table of one device has at most a few hundred rows; beyond this it is the wrong file. */
export const MAX_TABLE_ROWS = 5000;

type Column = 'name' | 'address' | 'kind' | 'type' | 'order' | 'scale' | 'unit';
const HEADERS: Record<Column, readonly string[]> = {
  name: ['name', 'nom', 'point', 'parameter', 'parametre', 'libelle', 'description', 'designation', 'variable'],
  address: ['address', 'adresse', 'addr', 'register', 'registre', 'offset'],
  kind: ['kind', 'function', 'fonction', 'fc', 'function code', 'code fonction', 'register type', 'type de registre', 'table'],
  type: ['type', 'data type', 'datatype', 'type de donnee', 'format', 'data format'],
  order: ['word order', 'order', 'ordre', 'ordre des mots', 'byte order', 'endianness', 'endian'],
  scale: ['scale', 'echelle', 'facteur', 'factor', 'gain', 'multiplier', 'coefficient', 'resolution'],
  unit: ['unit', 'unite', 'units'],
};

const fold = (s: string): string =>
  s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[_\-.]+/g, ' ').replace(/\s+/g, ' ').trim();

/** Parses the table; never throws on content (a bad file gives problems, not an exception). */
export function parseRegisterTable(text: string): RegisterTable {
  const body = text.replace(/^\uFEFF/, '');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(body, {
      delimiter: separatorOf(body),
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
      to: MAX_TABLE_ROWS + 2, // the header, the rows, and one more to tell the table is over the bound
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const line = (e as { lines?: number }).lines ?? 1;
    return { points: [], problems: [{ line, message: `not a readable CSV table: ${(e as Error).message}` }] };
  }
  const [header, ...rows] = records;
  if (!header) return { points: [], problems: [{ line: 1, message: 'the table is empty' }] };
  const columns = columnsOf(header.record);
  const missing = (['name', 'address'] as const).filter((c) => columns[c] === undefined);
  if (missing.length > 0) {
    const message = `no ${missing.join(' or ')} column in the header (${header.record.join(' | ')}); expected e.g. name;address;function;type;order;scale;unit`;
    return { points: [], problems: [{ line: header.info.lines, message }] };
  }
  const problems: TableProblem[] = [];
  if (rows.length > MAX_TABLE_ROWS) problems.push({ line: rows[MAX_TABLE_ROWS]!.info.lines, message: `over ${MAX_TABLE_ROWS} rows: the rest is ignored (one device's table?)` });
  const points: TablePoint[] = [];
  const names = new Map<string, number>();
  for (const { record, info } of rows.slice(0, MAX_TABLE_ROWS)) {
    const row = rowOf(record, columns, info.lines);
    if ('message' in row) {
      problems.push(row);
      continue;
    }
    const first = names.get(row.name);
    if (first !== undefined) problems.push({ line: row.line, message: `point name "${row.name}" is already on line ${first}` });
    else {
      names.set(row.name, row.line);
      points.push(row);
    }
  }
  return { points, problems };
}

/** The separator of the header line: `;` (French spreadsheets, whose decimals use `,`), then tab, then `,`. */
function separatorOf(text: string): string {
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const outsideQuotes = firstLine.replace(/"[^"]*"/g, '');
  if (outsideQuotes.includes(';')) return ';';
  if (outsideQuotes.includes('\t')) return '\t';
  return ',';
}

function columnsOf(header: readonly string[]): Partial<Record<Column, number>> {
  const columns: Partial<Record<Column, number>> = {};
  header.forEach((cell, index) => {
    const h = fold(cell).replace(/\s*\(.*\)$/, ''); // "Scale (x)" -> "scale"
    for (const column of Object.keys(HEADERS) as Column[]) {
      if (columns[column] === undefined && HEADERS[column].includes(h)) return void (columns[column] = index);
    }
  });
  return columns;
}

function rowOf(record: readonly string[], columns: Partial<Record<Column, number>>, line: number): TablePoint | TableProblem {
  const cell = (c: Column): string => (columns[c] === undefined ? '' : (record[columns[c]!] ?? '').trim());
  const bad = (message: string): TableProblem => ({ line, message });
  const name = pointName(cell('name'));
  if (!name) return bad(`no usable name in "${cell('name')}"`);
  const address = parseAddress(cell('address'));
  if (address === undefined) return bad(`${name}: address "${cell('address')}" is not a register number 0-65535 (decimal or 0x hex)`);
  const kind = cell('kind') === '' ? 'holding' : parseKind(cell('kind'));
  if (!kind) return bad(`${name}: function/kind "${cell('kind')}" is not one of ${REGISTER_KINDS.join(', ')} or a function code 1-4`);
  const type = cell('type') === '' ? (kind === 'coil' || kind === 'discrete' ? 'bool' : 'u16') : parseType(cell('type'));
  if (!type) return bad(`${name}: type "${cell('type')}" is not one of ${VALUE_TYPES.join(', ')} (or uint16, int32, float...)`);
  const orderText = cell('order');
  const order = orderText === '' ? undefined : WORD_ORDER_ALIASES[orderText.toLowerCase()];
  if (orderText !== '' && !order) return bad(`${name}: word order "${orderText}" is not ABCD, CDAB, BADC or DCBA`);
  const unit = parseUnit(cell('unit'));
  if (unit === null) return bad(`${name}: unit "${cell('unit')}" is not a SenML unit (e.g. V, A, W, Wh, kWh, Cel, %RH, Pa, m3)`);
  const scaleText = cell('scale');
  const scale = scaleText === '' ? 1 : parseDecimal(scaleText);
  if (scale === undefined) return bad(`${name}: scale "${scaleText}" is not a number (0.1, 0,1 and 1e-3 are)`);
  const factor = scale * (unit?.factor ?? 1);
  return {
    line,
    name,
    kind,
    address,
    type,
    ...(order ? { order } : {}),
    ...(factor !== 1 ? { scale: factor } : {}),
    ...(unit ? { unit: unit.unit } : {}),
  };
}

/** "Tension L1 (V)" -> "tension_l1": the profile's point name rule (lowercase letters, digits, _). */
export function pointName(text: string): string {
  return fold(text.replace(/\(.*?\)/g, ' ')).replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 64);
}

function parseAddress(text: string): number | undefined {
  const t = text.replace(/\s+/g, '');
  const n = /^0x[0-9a-f]{1,4}$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^[0-9a-f]{1,4}h$/i.test(t) ? Number.parseInt(t.slice(0, -1), 16) : /^\d{1,5}$/.test(t) ? Number(t) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffff ? n : undefined;
}

const KIND_BY_CODE: Record<number, RegisterKind> = { 1: 'coil', 2: 'discrete', 3: 'holding', 4: 'input' };

function parseKind(text: string): RegisterKind | undefined {
  const t = fold(text);
  const code = /^(?:fc\s*)?(?:0x)?0?([1-4])$/.exec(t);
  if (code) return KIND_BY_CODE[Number(code[1])];
  if (/holding|hr\b|maintien|^4x/.test(t)) return 'holding';
  if (/input reg|^input$|^ir$|entree|^3x/.test(t)) return 'input';
  if (/coil|bobine|^0x$/.test(t)) return 'coil';
  if (/discrete|di\b|^1x/.test(t)) return 'discrete';
  return undefined;
}

const TYPE_ALIASES: Record<string, ValueType> = {
  u16: 'u16', uint16: 'u16', 'unsigned 16': 'u16', word: 'u16', ushort: 'u16', unsigned: 'u16', uint: 'u16',
  i16: 'i16', int16: 'i16', 'signed 16': 'i16', short: 'i16', int: 'i16', signed: 'i16',
  sm16: 'sm16',
  u32: 'u32', uint32: 'u32', 'unsigned 32': 'u32', dword: 'u32', ulong: 'u32', udint: 'u32',
  i32: 'i32', int32: 'i32', 'signed 32': 'i32', long: 'i32', dint: 'i32',
  f32: 'f32', float: 'f32', float32: 'f32', real: 'f32', 'ieee754': 'f32', 'ieee 754': 'f32', single: 'f32',
  bool: 'bool', boolean: 'bool', bit: 'bool',
};

const parseType = (text: string): ValueType | undefined => TYPE_ALIASES[fold(text)];

/** Units as vendors write them, to a SenML unit and the factor the value needs (kW -> W x 1000). */
const UNIT_ALIASES: Record<string, { unit: SenmlUnit; factor: number }> = {
  '°c': { unit: 'Cel', factor: 1 }, degc: { unit: 'Cel', factor: 1 }, 'deg c': { unit: 'Cel', factor: 1 },
  kw: { unit: 'W', factor: 1000 }, kvar: { unit: 'var', factor: 1000 }, kva: { unit: 'VA', factor: 1000 },
  mwh: { unit: 'kWh', factor: 1000 }, kvarh: { unit: 'varh', factor: 1000 }, kvah: { unit: 'VAh', factor: 1000 },
  bar: { unit: 'Pa', factor: 100_000 }, mbar: { unit: 'hPa', factor: 1 }, kpa: { unit: 'Pa', factor: 1000 },
  '%hr': { unit: '%RH', factor: 1 }, 'hr%': { unit: '%RH', factor: 1 }, rh: { unit: '%RH', factor: 1 }, '% rh': { unit: '%RH', factor: 1 },
  'm³': { unit: 'm3', factor: 1 }, 'l/min': { unit: 'l/s', factor: 1 / 60 }, 'm3/h': { unit: 'm3/s', factor: 1 / 3600 },
};

/** undefined: no unit given; null: a unit we cannot name in SenML (the row is refused, not guessed). */
function parseUnit(text: string): { unit: SenmlUnit; factor: number } | undefined | null {
  const t = text.trim();
  if (t === '' || t === '-') return undefined;
  const exact = SENML_UNITS.find((u) => u === t);
  if (exact) return { unit: exact, factor: 1 };
  return UNIT_ALIASES[t.toLowerCase()] ?? SENML_UNITS.filter((u) => u.toLowerCase() === t.toLowerCase()).map((unit) => ({ unit, factor: 1 }))[0] ?? null;
}

/** "0,1", "0.1", "1e-3", "x10", "×0,01", "1/10" to a finite non-zero number. */
export function parseDecimal(text: string): number | undefined {
  const t = text.replace(/^[x×*]\s*/i, '').replace(/\s+/g, '');
  const ratio = /^(\d+)\/(\d+)$/.exec(t);
  const n = ratio ? Number(ratio[1]) / Number(ratio[2]) : /^[-+]?(\d+([.,]\d*)?|[.,]\d+)(e[-+]?\d+)?$/i.test(t) ? Number(t.replace(',', '.')) : NaN;
  return Number.isFinite(n) && n !== 0 ? n : undefined;
}
