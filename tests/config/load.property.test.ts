/**
 * Property tests: any valid config written as YAML loads to exactly what the schema makes of the same
 * data, and any unknown key inserted in any mapping is reported at that key's line and column.
 */
import fc from 'fast-check';
import { Document, isMap, stringify, visit, type YAMLMap } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema, formatIssue, loadConfigText, type ConfigInput } from '../../src/config/index.js';
import { DATA_CLASSES, STATISTICS } from '../../src/core/types.js';

const idArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,14}$/);
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const durationArb = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd')).map(([n, u]) => `${n}${u}`),
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom('s', 'm')).map(([n, f, u]) => `${n}.${f}${u}`),
  fc.double({ min: 0.001, max: 86_400, noNaN: true }),
);
/** Windows must divide a day: the lengths a site would choose. */
const windowArb = fc.constantFrom('10s', '1m', '5m', '10m', '15m', '30m', '1h', '6h', '1d', 60, 300);
const timezone = fc.constantFrom('Europe/Paris', 'UTC', 'America/Guadeloupe', 'Indian/Reunion', 'Pacific/Noumea');
const classRecord = <T>(value: fc.Arbitrary<T>) => fc.dictionary(fc.constantFrom(...DATA_CLASSES), value, { maxKeys: 4 });

const serialBus = (id: string) =>
  fc.record(
    {
      id: fc.constant(id),
      type: fc.constant('serial' as const),
      port: text,
      baud: fc.constantFrom(1200, 2400, 9600, 19200, 115200),
      parity: fc.constantFrom('none', 'even', 'odd'),
      dataBits: fc.constantFrom(7, 8),
      stopBits: fc.constantFrom(1, 2),
      timeout: durationArb,
      retries: fc.integer({ min: 0, max: 5 }),
    },
    { requiredKeys: ['id', 'type', 'port'] },
  );

const tcpBus = (id: string) =>
  fc.record(
    {
      id: fc.constant(id),
      type: fc.constant('tcp' as const),
      host: text,
      port: fc.integer({ min: 1, max: 65535 }),
      timeout: durationArb,
      retries: fc.integer({ min: 0, max: 5 }),
    },
    { requiredKeys: ['id', 'type', 'host'] },
  );

/** Devices on declared buses, unit ids distinct (the loader refuses two devices on one unit of one line). */
const devicesOn = (busIds: string[]) =>
  fc.uniqueArray(idArb, { maxLength: 4 }).chain((ids) =>
    fc.tuple(
      ...ids.map((id, i) =>
        fc.record(
          {
            id: fc.constant(id),
            bus: fc.constantFrom(...busIds),
            unit: fc.constant(i + 1),
            profile: text,
            poll: durationArb,
            // No line break in a point name: the policy's `*` does not cross one (nor does any real point have one).
            points: fc.array(text.filter((t) => !/[\n\r\u2028\u2029]/.test(t)), { minLength: 1, maxLength: 3 }),
            writable: fc.array(text, { maxLength: 2 }),
          },
          { requiredKeys: ['id', 'bus', 'unit', 'profile'] },
        ),
      ),
    ),
  );

const policyArb = (deviceIds: string[]) =>
  fc.record(
    {
      // A rule must match a point of the site (every generated device has one): none without devices.
      allow: fc.array(
        fc.record({
          match: fc.oneof(fc.constant('*'), fc.constantFrom('*', ...deviceIds.map((d) => `${d}.*`))),
          statistics: fc.subarray([...STATISTICS], { minLength: 1 }),
        }),
        { maxLength: deviceIds.length > 0 ? 3 : 0 },
      ),
      minCount: classRecord(fc.integer({ min: 0, max: 50 })),
    },
    { requiredKeys: [] },
  );

const uplinkArb = fc.record(
  {
    broker: fc.constantFrom('mqtts://broker.example.org:8883', 'mqtts://127.0.0.1:8883', 'wss://b.example/mqtt'),
    passwordFile: text,
    caFile: text,
    topicPrefix: fc.stringMatching(/^[a-z][a-z0-9/_-]{0,20}$/),
    format: fc.constantFrom('senml-json', 'senml-cbor'),
    clientId: text,
  },
  { requiredKeys: [] },
);

export const validConfigInput: fc.Arbitrary<ConfigInput> = fc
  .uniqueArray(idArb, { minLength: 1, maxLength: 3 })
  .chain((busIds) =>
    fc.tuple(
      fc.tuple(...busIds.map((id) => fc.oneof(serialBus(id), tcpBus(id)))),
      devicesOn(busIds),
    ),
  )
  .chain(([buses, devices]) =>
    fc.record(
      {
        site: fc.record({ id: idArb, name: text, timezone }, { requiredKeys: ['id', 'name'] }),
        gateway: fc.record({ id: idArb }),
        buses: fc.constant(buses),
        devices: fc.constant(devices),
        aggregation: fc.record({ window: windowArb }, { requiredKeys: [] }),
        store: fc.record(
          { path: text, keyFile: text, cipher: fc.constantFrom('chacha20', 'sqlcipher'), retention: classRecord(durationArb) },
          { requiredKeys: ['path', 'keyFile'] },
        ),
        uplink: uplinkArb,
        policy: policyArb(devices.map((d) => d.id)),
      },
      // buses and devices always present: the devices refer to the generated buses.
      { requiredKeys: ['site', 'gateway', 'store', 'buses', 'devices'] },
    ),
  ) as fc.Arbitrary<ConfigInput>;

describe('loading generated configs', () => {
  it('a valid config written as YAML loads to what the schema makes of the same data', () => {
    fc.assert(
      fc.property(validConfigInput, (input) => {
        const result = loadConfigText(stringify(input), 'gen.yaml');
        if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
        expect(result.config).toEqual(configSchema.parse(input));
      }),
      { numRuns: 200 },
    );
  });

  it('an unknown key inserted in any mapping is reported, alone, at its line and column', () => {
    const unknownKey = fc.stringMatching(/^[a-z]{4,10}$/).map((s) => `zq_${s}`);
    const anyScalar = fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 10 }));
    fc.assert(
      fc.property(validConfigInput, fc.nat(), unknownKey, anyScalar, (input, pick, key, value) => {
        const doc = new Document(input);
        const maps: YAMLMap[] = [];
        visit(doc, { Map: (_, node) => void maps.push(node) });
        maps[pick % maps.length]!.set(key, value);
        const yaml = doc.toString();

        const lineIndex = yaml.split('\n').findIndex((l) => new RegExp(`(^|[\\s{,-])${key}:`).test(l));
        const line = yaml.split('\n')[lineIndex]!;
        const result = loadConfigText(yaml, 'gen.yaml');
        if (result.ok) expect.fail(`unknown key ${key} accepted:\n${yaml}`);
        expect(result.errors).toHaveLength(1);
        expect(result.errors[0]).toMatchObject({ line: lineIndex + 1, col: line.indexOf(key) + 1, message: expect.stringContaining(`unknown key "${key}"`) });
        expect(result.errors[0]!.path.endsWith(key)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('the mappings candidate for insertion include nested ones (the generator reaches deep)', () => {
    const depths = fc.sample(validConfigInput.map((input) => {
      let deepest = 0;
      visit(new Document(input), { Map: (_, node, path) => void (isMap(node) && (deepest = Math.max(deepest, path.length))) });
      return deepest;
    }), 50);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(4);
  });

  it('any text, valid YAML or not, gives a result (never a throw) whose issues point inside the file', () => {
    const yamlish = fc.array(fc.oneof(fc.constantFrom('site:', '  id: a', '- ', 'devices:', '  - id: x', '{', ']', '"', ': ', '\t', '&a', '*a', '<<: *a', '---', '#', '\n'), fc.string({ maxLength: 8 })), { maxLength: 30 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(yamlish, validConfigInput.map((input) => stringify(input))), (text) => {
        const result = loadConfigText(text, 'fuzz.yaml');
        if (result.ok) return;
        const lineCount = text.split('\n').length;
        for (const issue of result.errors) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lineCount + 1);
          expect(issue.col).toBeGreaterThanOrEqual(1);
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
