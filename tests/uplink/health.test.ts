import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildHealthMessages, HEALTH_GROUPS, windowDeltas, type HealthInput } from '../../src/uplink/health.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';
import { healthTopic } from '../../src/uplink/topics.js';

const input: HealthInput = {
  site: 'site-a',
  gateway: 'gw-1',
  start: 1_700_000_000_000,
  end: 1_700_000_300_000,
  buses: { 'rs485-2': { requests: 300, timeouts: 4, crc: 1, exceptions: 0 }, plant: { requests: 150, timeouts: 0, crc: 0, exceptions: 2 } },
  storeBytes: 1_048_576,
  outboxPending: 3,
  drops: { raw: 0, summaries: 1 },
  clockSynced: false,
};
const topic = healthTopic('passerelle', 'site-a', 'gw-1');

describe('buildHealthMessages', () => {
  it.each(['senml-json', 'senml-cbor'] as const)('encodes every allowed group as %s a SenML reader resolves', (format) => {
    const [message, ...more] = buildHealthMessages(input, { health: [...HEALTH_GROUPS] }, format, topic);
    expect(more).toEqual([]);
    expect(message).toMatchObject({ id: 'site-a:gw-1:health:1700000000000', topic: 'passerelle/site-a/gw-1/health', createdAt: input.end });
    const read = new Map(resolveSenml(decodeSenml(message!.payload, format)).map((r) => [r.n.replace('urn:dev:passerelle:site-a:gw-1:', ''), r]));
    expect(read.get('msg-id')?.vs).toBe('site-a:gw-1:health:1700000000000');
    expect(read.get('health/bus/rs485-2/timeouts')).toMatchObject({ v: 4, t: input.end / 1000 });
    expect(read.get('health/bus/plant/exceptions')?.v).toBe(2);
    expect(read.get('health/store/bytes')).toMatchObject({ v: 1_048_576, u: 'B' });
    expect(read.get('health/outbox/pending')?.v).toBe(3);
    expect(read.get('health/drops/summaries')?.v).toBe(1);
    expect(read.get('health/clock/synced')?.vb).toBe(false);
  });

  it('sends only the groups the policy lists, and nothing by default', () => {
    expect(buildHealthMessages(input, {}, 'senml-json', topic)).toEqual([]);
    expect(buildHealthMessages(input, { health: [] }, 'senml-json', topic)).toEqual([]);
    fc.assert(
      fc.property(fc.subarray([...HEALTH_GROUPS], { minLength: 1 }), (groups) => {
        const [m] = buildHealthMessages(input, { health: groups }, 'senml-json', topic);
        const names = decodeSenml(m!.payload, 'senml-json').slice(2).map((r) => r.n!);
        const groupOf = (n: string): string => ({ bus: 'buses', store: 'store', outbox: 'store', drops: 'drops', clock: 'clock' })[n.split('/')[1]!]!;
        expect(new Set(names.map(groupOf))).toEqual(new Set(groups));
      }),
    );
  });

  it('reports the serial meters\' counters in the buses group and refused summaries in the store group', () => {
    const withSerial: HealthInput = {
      ...input,
      serial: { 'tic-main': { checksumErrors: 3, reopens: 1, noiseBytes: 0 } },
      outboxRefused: 2,
    };
    const names = (groups: ('buses' | 'store')[]) =>
      decodeSenml(buildHealthMessages(withSerial, { health: groups }, 'senml-json', topic)[0]!.payload, 'senml-json');
    const buses = names(['buses']);
    expect(buses.find((r) => r.n === 'health/serial/tic-main/checksumErrors')?.v).toBe(3);
    expect(buses.find((r) => r.n === 'health/serial/tic-main/reopens')?.v).toBe(1);
    expect(buses.map((r) => r.n)).not.toContain('health/serial/tic-main/noiseBytes'); // a zero says nothing
    expect(names(['store']).find((r) => r.n === 'health/outbox/refused')?.v).toBe(2);
    expect(names(['store']).map((r) => r.n)).not.toContain('health/serial/tic-main/reopens');
  });

  it('reports the flash writes per day in the store group, once known', () => {
    const records = (i: HealthInput) => decodeSenml(buildHealthMessages(i, { health: ['store'] }, 'senml-json', topic)[0]!.payload, 'senml-json');
    expect(records({ ...input, flashBytesPerDay: 5_000_000 }).find((r) => r.n === 'health/store/flash-bytes-per-day')).toMatchObject({ v: 5_000_000, u: 'B' });
    expect(records(input).map((r) => r.n)).not.toContain('health/store/flash-bytes-per-day');
    const [clock] = buildHealthMessages({ ...input, flashBytesPerDay: 5_000_000 }, { health: ['clock'] }, 'senml-json', topic);
    expect(clock!.payload.toString()).not.toContain('flash');
  });

  it('refuses a message above the size bound', () => {
    expect(() => buildHealthMessages(input, { health: ['buses'] }, 'senml-json', topic, 100)).toThrow(expect.objectContaining({ code: 'E_SENML_TOO_LARGE' }));
  });
});

describe('windowDeltas', () => {
  it('subtracts the previous snapshot, and restarts from zero when a counter went down', () => {
    expect(windowDeltas({ requests: 100, timeouts: 5 }, { requests: 130, timeouts: 5, crc: 2 })).toEqual({ requests: 30, timeouts: 0, crc: 2 });
    expect(windowDeltas({ requests: 100 }, { requests: 7 })).toEqual({ requests: 7 });
  });
});

describe('health sobriety', () => {
  it('sends requests always, and error counters only when non-zero', () => {
    const [m] = buildHealthMessages(input, { health: ['buses'] }, 'senml-json', 't');
    const names = decodeSenml(m!.payload, 'senml-json').map((r) => r.n);
    expect(names).toEqual(expect.arrayContaining(['health/bus/plant/requests', 'health/bus/plant/exceptions', 'health/bus/rs485-2/timeouts']));
    expect(names).not.toContain('health/bus/plant/timeouts');
    expect(names).not.toContain('health/bus/rs485-2/exceptions');
  });
});
