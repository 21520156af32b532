import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16arc, sdi12CrcChars, Sdi12Session, type Sdi12Step } from '../../src/drivers/serial/sdi12/index.js';

/** A scripted sensor: answers each command, or stays silent (undefined). */
type Sensor = (command: string) => string | undefined;

interface Transcript {
  readonly sent: string[];
  readonly waits: Extract<Sdi12Step, { kind: 'wait' }>[];
  readonly end: Sdi12Step;
}

/** Runs a session against a sensor; during a wait the sensor sends its service request if `serviceRequest`. */
function run(session: Sdi12Session, sensor: Sensor, opts: { serviceRequest?: boolean; echo?: boolean } = {}): Transcript {
  const sent: string[] = [];
  const waits: Extract<Sdi12Step, { kind: 'wait' }>[] = [];
  let step = session.step;
  for (let guard = 0; guard < 100; guard++) {
    if (step.kind === 'done' || step.kind === 'failed') return { sent, waits, end: step };
    if (step.kind === 'wait') {
      waits.push(step);
      step = opts.serviceRequest ? session.onLine(serviceRequestOf(sent)) : session.onTimeout();
      continue;
    }
    sent.push(step.command);
    const reply = sensor(step.command);
    step = reply === undefined ? session.onTimeout() : session.onLine(opts.echo ? step.command + reply : reply);
  }
  throw new Error('session did not end');
}

const serviceRequestOf = (sent: string[]): string => (sent.at(-1) ?? '?')[0] as string;

/** A sensor at `address` whose measurement yields `values`, `perReply` per aDn! reply. */
function sensorWith(address: string, values: number[], opts: { seconds?: number; perReply?: number; crc?: boolean } = {}): Sensor {
  const per = opts.perReply ?? 2;
  return (command) => {
    if (command === '?!' || command === `${address}!`) return address;
    if (command === `${address}I!`) return `${address}14METER   TER12 104SN1`;
    if (/^.(M|C)C?\d?!$/.test(command) && command[0] === address) {
      return `${address}${String(opts.seconds ?? 2).padStart(3, '0')}${values.length}`;
    }
    const d = /^.D(\d)!$/.exec(command);
    if (d && command[0] === address) {
      const slice = values.slice(Number(d[1]) * per, Number(d[1]) * per + per);
      const body = address + slice.map((v) => (v < 0 ? String(v) : `+${v}`)).join('');
      return opts.crc ? body + sdi12CrcChars(crc16arc(body)) : body;
    }
    return undefined;
  };
}

describe('Sdi12Session', () => {
  it('acknowledge, measure, wait for the service request, then aD0! and aD1!', () => {
    const t = run(new Sdi12Session({ address: '0' }), sensorWith('0', [1.5, -2, 3.25], { seconds: 5 }), { serviceRequest: true });
    expect(t.sent).toEqual(['0!', '0M!', '0D0!', '0D1!']);
    expect(t.waits).toEqual([{ kind: 'wait', timeoutMs: 5000, serviceRequest: true }]);
    expect(t.end).toEqual({ kind: 'done', address: '0', values: [1.5, -2, 3.25] });
  });

  it('with identify, CRC and no service request: the wait elapses, then data', () => {
    const t = run(new Sdi12Session({ address: '3', identify: true, crc: true }), sensorWith('3', [10, 20], { crc: true }));
    expect(t.sent).toEqual(['3!', '3I!', '3MC!', '3D0!']);
    expect(t.end).toMatchObject({ kind: 'done', values: [10, 20], identity: { vendor: 'METER', model: 'TER12' } });
  });

  it('concurrent measurement waits without a service request', () => {
    const t = run(new Sdi12Session({ address: '1', concurrent: true }), sensorWith('1', [4]));
    expect(t.sent).toEqual(['1!', '1C!', '1D0!']);
    expect(t.waits[0]).toMatchObject({ serviceRequest: false });
  });

  it('asks the address first when it is unknown', () => {
    const t = run(new Sdi12Session({ address: '?' }), sensorWith('7', [1], { seconds: 0 }));
    expect(t.sent).toEqual(['?!', '7M!', '7D0!']);
    expect(t.end).toMatchObject({ kind: 'done', address: '7', values: [1] });
    expect(t.waits).toEqual([]);
  });

  it('retries a silent sensor, each try with a wake-up break, then fails', () => {
    const session = new Sdi12Session({ address: '0', tries: 3 });
    const t = run(session, () => undefined);
    expect(t.sent).toEqual(['0!', '0!', '0!']);
    expect(t.end).toMatchObject({ kind: 'failed', code: 'E_SDI12_TIMEOUT', message: expect.stringContaining('3 tries') });
  });

  it('retries a data reply with a bad CRC', () => {
    const good = sensorWith('0', [1, 2], { crc: true, seconds: 0 });
    let corrupt = 1;
    const flaky: Sensor = (c) => (c === '0D0!' && corrupt-- > 0 ? '0+1+3OqZ' : good(c));
    const t = run(new Sdi12Session({ address: '0', crc: true }), flaky);
    expect(t.sent).toEqual(['0!', '0MC!', '0D0!', '0D0!']);
    expect(t.end).toMatchObject({ kind: 'done', values: [1, 2] });
  });

  it('ignores an echo of its own command ahead of the reply', () => {
    const t = run(new Sdi12Session({ address: '0' }), sensorWith('0', [5], { seconds: 0 }), { echo: true });
    expect(t.end).toMatchObject({ kind: 'done', values: [5] });
  });

  it('fails when the sensor runs out of values before the announced count', () => {
    const short: Sensor = (c) => (c === '0M!' ? '00003' : sensorWith('0', [1, 2], { seconds: 0 })(c));
    const t = run(new Sdi12Session({ address: '0' }), short);
    expect(t.end).toMatchObject({ kind: 'failed', code: 'E_SDI12_INCOMPLETE', message: expect.stringContaining('2 of 3') });
  });

  it('while waiting, a line that is not the service request keeps the same step', () => {
    const session = new Sdi12Session({ address: '0' });
    session.onLine('0');
    const wait = session.onLine('00102');
    expect(wait).toMatchObject({ kind: 'wait', timeoutMs: 10_000 });
    expect(session.onLine('junk')).toBe(wait);
    expect(session.onLine('0')).toMatchObject({ kind: 'send', command: '0D0!' });
  });

  it('rejects a bad address at construction', () => {
    expect(() => new Sdi12Session({ address: '!' })).toThrow(/SDI-12 address/);
  });

  it('collects exactly the announced values however the sensor spreads them over aDn! replies', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('0', '9', 'a', 'Z'),
        fc.array(fc.integer({ min: -99999, max: 99999 }).map((n) => n / 100), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.boolean(),
        (address, values, perReply, crc, serviceRequest) => {
          const t = run(new Sdi12Session({ address, crc }), sensorWith(address, values, { perReply, crc }), { serviceRequest });
          expect(t.end).toEqual({ kind: 'done', address, values });
          expect(t.sent.filter((c) => c.includes('D'))).toHaveLength(Math.ceil(values.length / perReply));
        },
      ),
    );
  });
});
