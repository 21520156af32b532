import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EOT, ETX, STX, type TicMode } from '../../src/drivers/serial/tic/checksum.js';
import { encodeTicFrame, formatTicHorodate, parseTicHorodate, TicDecoder, type TicGroupInput } from '../../src/drivers/serial/tic/index.js';
import { arbChunkedBytes, arbCuts, feed, plain, splitAt } from './helpers.js';

const arbMode = fc.constantFrom<TicMode>('historique', 'standard');
const arbLabel = fc.stringMatching(/^[A-Z][A-Z0-9+-]{0,9}$/);
const arbValue = (mode: TicMode): fc.Arbitrary<string> =>
  mode === 'standard' ? fc.stringMatching(/^[\x20-\x7e]{0,40}$/) : fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,20}$|^$/);
const arbHorodate = fc
  .record({ ts: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) }), summer: fc.boolean(), degraded: fc.boolean() })
  .map(({ ts, summer, degraded }) => formatTicHorodate(ts, summer ? 'summer' : 'winter', degraded));
const arbGroup = (mode: TicMode): fc.Arbitrary<TicGroupInput> =>
  fc.record(
    { label: arbLabel, value: arbValue(mode), horodate: mode === 'standard' ? fc.option(arbHorodate, { nil: undefined }) : fc.constant(undefined) },
    { requiredKeys: ['label', 'value'] },
  ).map((g) => (g.horodate === undefined ? { label: g.label, value: g.value } : g));
const arbFrame = arbMode.chain((mode) => fc.record({ mode: fc.constant(mode), groups: fc.array(arbGroup(mode), { minLength: 1, maxLength: 12 }) }));
/** Line noise that cannot be mistaken for frame delimiters. */
const arbNoise = fc.uint8Array({ maxLength: 80 }).map((b) => b.filter((x) => x !== STX && x !== ETX && x !== EOT));

const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

describe('TicDecoder properties', () => {
  it('random bytes in random chunks never throw and never exceed the bound', () => {
    fc.assert(
      fc.property(arbChunkedBytes(800), fc.integer({ min: 16, max: 300 }), (chunks, maxFrameBytes) => {
        const decoder = new TicDecoder({ maxFrameBytes });
        for (const chunk of chunks) {
          decoder.push(chunk);
          expect(decoder.bufferedBytes()).toBeLessThanOrEqual(maxFrameBytes);
        }
      }),
    );
  });

  it('every valid frame between noise decodes exactly, however it is chunked', () => {
    fc.assert(
      fc.property(arbFrame, arbNoise, arbNoise, fc.gen(), (frame, before, after, gen) => {
        const stream = concat(before, encodeTicFrame(frame.groups, frame.mode), after);
        const cuts = gen(arbCuts, stream.length);
        const events = feed(new TicDecoder(), splitAt(stream, cuts));
        const frames = events.filter((e) => e.type === 'frame');
        expect(events.filter((e) => e.type === 'group-error' || e.type === 'frame-error')).toEqual([]);
        expect(frames).toHaveLength(1);
        expect(frames[0]).toMatchObject({ mode: frame.mode, droppedGroups: 0 });
        const decoded = frames[0]?.type === 'frame' ? frames[0].groups : [];
        expect(decoded.map((g) => ({ label: g.label, value: g.value, ...(g.horodate ? { horodate: g.horodate.raw } : {}) }))).toEqual(frame.groups);
      }),
    );
  });

  it('mutated valid frames never throw, and whatever group survives is well formed', () => {
    fc.assert(
      fc.property(
        arbFrame,
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
        (frame, mutations) => {
          const bytes = Uint8Array.from(encodeTicFrame(frame.groups, frame.mode));
          for (const m of mutations) bytes[m.at % bytes.length] = m.byte;
          const decoder = new TicDecoder({ maxFrameBytes: 256 });
          for (const event of decoder.push(bytes)) {
            if (event.type !== 'group') continue;
            expect(event.label).toMatch(/^[\x21-\x7e]+$/);
            expect(event.value).toMatch(/^[\x20-\x7e]*$/);
          }
          expect(decoder.bufferedBytes()).toBeLessThanOrEqual(256);
        },
      ),
    );
  });

  it('splitting at any point gives the same events as one push', () => {
    fc.assert(
      fc.property(arbFrame, arbNoise, fc.uint8Array({ maxLength: 40 }), fc.nat(), (frame, noise, garbage, cut) => {
        const stream = concat(noise, encodeTicFrame(frame.groups, frame.mode), garbage, encodeTicFrame(frame.groups, frame.mode));
        const at = cut % (stream.length + 1);
        expect(plain(feed(new TicDecoder(), splitAt(stream, [at])))).toEqual(plain(new TicDecoder().push(stream)));
      }),
    );
  });

  it('formatTicHorodate and parseTicHorodate round-trip the instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) }), fc.boolean(), (ms, summer) => {
        const ts = Math.floor(ms / 1000) * 1000;
        expect(parseTicHorodate(formatTicHorodate(ts, summer ? 'summer' : 'winter'))?.ts).toBe(ts);
      }),
    );
  });
});
