/**
 * Issue 11 item 3: zone offsets from the system's TZif files agree with Intl (which costs about 8 MB of
 * RSS to load), and a bad name or file gives undefined (the caller then asks Intl), never a throw.
 * Real parts: the machine's /usr/share/zoneinfo (tzdata) against Node's ICU.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, parseTzif, readZoneTable, tableOffset, ZONEINFO_DIR } from '../../src/core/zone-table.js';
import { dayIn } from '../../src/core/ledger.js';

/** The reference: Intl's wall clock in the zone, to the second, minus UTC. */
function zoneOffset(ts: number, timeZone: string): number {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  const f = Object.fromEntries(format.formatToParts(ts).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  const wholeSecond = Math.floor(ts / 1000) * 1000;
  return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!) - wholeSecond;
}

const ZONES = ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Sao_Paulo', 'UTC', 'Etc/GMT+1'];
const FROM = Date.UTC(1980, 0, 1);
const TO = Date.UTC(2036, 0, 1);

describe('zone tables from tzdata', () => {
  it('give the offsets Intl gives, around transitions too', () => {
    for (const zone of ZONES) {
      const table = readZoneTable(zone);
      expect(table, zone).toBeDefined();
      fc.assert(
        fc.property(fc.integer({ min: FROM, max: TO }), (ts) => {
          expect(tableOffset(table!, ts)).toBe(zoneOffset(ts, zone));
        }),
        { numRuns: 300 },
      );
      for (const at of table!.at.filter((t) => t > FROM && t < TO)) {
        for (const ts of [at - 1000, at, at + 1000]) expect(tableOffset(table!, ts), `${zone} ${new Date(ts).toISOString()}`).toBe(zoneOffset(ts, zone));
      }
    }
  });

  it('answer undefined past the last transition, and the first type before the first', () => {
    const table = readZoneTable('Europe/Paris')!;
    expect(tableOffset(table, table.at[table.at.length - 1]!)).toBeUndefined();
    expect(tableOffset(table, Date.UTC(2100, 0, 1))).toBeUndefined();
    expect(tableOffset(table, table.at[0]! - 1)).toBe(table.initial);
  });

  it('refuse names that leave the folder, unknown zones and files that are not TZif', () => {
    for (const name of ['../etc/passwd', 'Europe/../../etc/passwd', '/etc/passwd', 'Europe//Paris', '', 'Nowhere/Atlantis']) expect(readZoneTable(name), name).toBeUndefined();
    // TZif files that are no IANA name, which Intl refuses: the config refuses them as before.
    for (const name of ['posix/Europe/Paris', 'right/Europe/Paris', 'Factory', 'posixrules']) {
      expect(readZoneTable(name), name).toBeUndefined();
      expect(isKnownTimeZone(name), name).toBe(false);
    }
    expect(isKnownTimeZone('Europe/Paris')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-zone-'));
    writeFileSync(join(dir, 'Bad'), 'not a zone file at all, but long enough to hold a header of 44 bytes');
    expect(readZoneTable('Bad', dir)).toBeUndefined();
    expect(readZoneTable('Europe', ZONEINFO_DIR)).toBeUndefined();
  });

  it('never throw on a damaged file (truncated or with flipped bytes)', () => {
    const real = readFileSync(join(ZONEINFO_DIR, 'Europe/Paris'));
    fc.assert(
      fc.property(fc.nat({ max: real.length }), fc.array(fc.tuple(fc.nat({ max: real.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (cut, flips) => {
        const bytes = Buffer.from(real.subarray(0, cut));
        for (const [i, v] of flips) if (i < bytes.length) bytes[i] = v;
        const table = parseTzif(bytes);
        if (table) for (let i = 1; i < table.at.length; i++) expect(table.at[i]!).toBeGreaterThan(table.at[i - 1]!);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the ledger day from tzdata', () => {
  it('is the date Intl gives in the zone', () => {
    for (const zone of ZONES) {
      const day = dayIn(zone);
      const intl = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      fc.assert(
        fc.property(fc.integer({ min: FROM, max: Date.UTC(2100, 0, 1) }), (ts) => {
          expect(day(ts)).toBe(intl.format(ts));
        }),
        { numRuns: 300 },
      );
    }
  });
});
