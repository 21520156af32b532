import { connect, type Socket } from 'node:net';
import modbusSerial from 'modbus-serial';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodePoint, registersFor } from '../../src/drivers/modbus/codec.js';
import { getProfile, profileSchema } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';

// modbus-serial is CommonJS: its module.exports is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

const refusing = profileSchema.parse({
  id: 'refusing',
  manufacturer: 'Test',
  model: 'Refusing',
  limits: { refuse: [{ kind: 'input', start: 2, end: 2 }], turnaroundMs: 0 },
  points: [0, 1, 2, 3].map((a) => ({ name: `r${a}`, kind: 'input', address: a, class: 'diagnostic', sim: { base: a } })),
  identify: [],
});
const relays = profileSchema.parse({
  id: 'relays',
  manufacturer: 'Test',
  model: 'Relays',
  points: Array.from({ length: 10 }, (_, i) => ({ name: `k${i}`, kind: 'coil', address: i, type: 'bool', class: 'status', sim: { base: i % 3 === 0 ? 1 : 0 } })),
});

let sim: ModbusTcpSimulator;
const clients: Client[] = [];

async function client(unit: number): Promise<Client> {
  const c = new ModbusRTU();
  await c.connectTCP(sim.host, { port: sim.port });
  c.setID(unit);
  c.setTimeout(2000);
  clients.push(c);
  return c;
}

async function exceptionOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { modbusCode?: number }).modbusCode;
  }
  throw new Error('expected a Modbus exception');
}

beforeAll(async () => {
  sim = await startModbusTcpSimulator({
    host: '127.0.0.1',
    port: 0,
    devices: [
      { unit: 1, profile: getProfile('eastron-sdm630') },
      { unit: 2, profile: getProfile('soil-dfrobot') },
      { unit: 254, profile: getProfile('senseair-s8') },
      { unit: 10, profile: getProfile('diematic3') },
      { unit: 20, profile: refusing, unmapped: 'refuse' },
      { unit: 21, profile: relays },
    ],
  });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close(() => undefined);
});
afterAll(() => sim.close());

describe('Modbus TCP simulator, read by modbus-serial', () => {
  it('listens on a free port', () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.banks.size).toBe(6);
  });

  it('serves SDM630 floats that decode to the expected values', async () => {
    const c = await client(1);
    const { data } = await c.readInputRegisters(0, 18);
    const bank = sim.banks.get(1)!;
    for (const p of bank.profile.points.filter((x) => x.address < 18)) {
      const decoded = decodePoint(data.slice(p.address, p.address + registersFor(p.type)), p).value!;
      const served = bank.lastServed(p.name)!;
      expect(decoded).toBeCloseTo(served.value!, 5);
      expect(decoded).toBeCloseTo(bank.expectedValue(p.name, served.atMs)!, 5);
    }
  });

  it('serves several units on one port', async () => {
    const soil = await client(2);
    const { data } = await soil.readHoldingRegisters(0, 3);
    const bank = sim.banks.get(2)!;
    bank.profile.points.forEach((p, i) => expect(decodePoint([data[i]!], p).value).toBe(bank.lastServed(p.name)!.value));
    const s8 = await client(254);
    const co2 = (await s8.readInputRegisters(3, 1)).data[0]!;
    expect(co2).toBe(sim.banks.get(254)!.lastServed('co2')!.value);
  });

  it('serves Diematic sign-magnitude temperatures after its turnaround', async () => {
    const c = await client(10);
    const started = Date.now();
    const { data } = await c.readHoldingRegisters(453, 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(getProfile('diematic3').limits.turnaroundMs - 20);
    const bank = sim.banks.get(10)!;
    const returnTemp = bank.profile.points.find((p) => p.name === 'return_temp')!;
    expect(decodePoint([data[0]!], returnTemp).value).toBe(bank.lastServed('return_temp')!.value);
  });

  it('packs coils into bits', async () => {
    const c = await client(21);
    const { data } = await c.readCoils(0, 10);
    expect(data.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i % 3 === 0));
  });

  it('answers exception 11 for a unit it does not simulate', async () => {
    expect(await exceptionOf((await client(99)).readInputRegisters(0, 2))).toBe(11);
  });

  it('answers exception 2 for refused ranges and holes', async () => {
    const c = await client(20);
    expect((await c.readInputRegisters(0, 2)).data).toEqual([0, 1]);
    expect(await exceptionOf(c.readInputRegisters(1, 2))).toBe(2);
    expect(await exceptionOf(c.readInputRegisters(3, 2))).toBe(2);
  });

  it('answers exception 3 beyond the device read limit', async () => {
    expect(await exceptionOf((await client(1)).readInputRegisters(0, 81))).toBe(3);
  });

  it('accepts writes to holding points, refuses other addresses, and counts the function codes', async () => {
    const c = await client(2);
    await c.writeRegister(0, 5);
    expect((await c.readHoldingRegisters(0, 1)).data).toEqual([5]);
    await c.writeRegisters(1, [6, 7]);
    expect((await c.readHoldingRegisters(1, 2)).data).toEqual([6, 7]);
    expect(await exceptionOf(c.writeRegister(40, 5))).toBe(2);
    const traffic = sim.stats().units[2]!.functionCodes;
    expect(traffic[6]).toBe(2);
    expect(traffic[16]).toBe(1);
  });

});

describe('Modbus TCP simulator framing', () => {
  function rawConnection(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(sim.port, sim.host, () => resolve(s));
      s.once('error', reject);
    });
  }
  const nextData = (s: Socket): Promise<Buffer> => new Promise((resolve) => s.once('data', resolve));

  it('answers a request that arrives one byte at a time', async () => {
    const s = await rawConnection();
    const request = Buffer.from([0x12, 0x34, 0, 0, 0, 6, 20, 4, 0, 0, 0, 2]);
    const reply = nextData(s);
    for (const b of request) {
      s.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect([...(await reply)]).toEqual([0x12, 0x34, 0, 0, 0, 7, 20, 4, 4, 0, 0, 0, 1]);
    s.destroy();
  });

  it('answers two requests sent in one packet, in order', async () => {
    const s = await rawConnection();
    const replies: Buffer[] = [];
    s.on('data', (d: Buffer) => replies.push(d));
    s.write(Buffer.from([0, 1, 0, 0, 0, 6, 20, 4, 0, 0, 0, 1, 0, 2, 0, 0, 0, 6, 20, 4, 0, 1, 0, 1]));
    await new Promise((r) => setTimeout(r, 100));
    expect([...Buffer.concat(replies)]).toEqual([0, 1, 0, 0, 0, 5, 20, 4, 2, 0, 0, 0, 2, 0, 0, 0, 5, 20, 4, 2, 0, 1]);
    s.destroy();
  });

  it('answers exception 1 to a function it does not know (7, read exception status)', async () => {
    const s = await rawConnection();
    const reply = nextData(s);
    s.write(Buffer.from([0, 8, 0, 0, 0, 2, 2, 7]));
    expect([...(await reply)]).toEqual([0, 8, 0, 0, 0, 3, 2, 0x87, 1]);
    s.destroy();
  });

  it('answers exception 3 to a read request of the wrong length', async () => {
    const s = await rawConnection();
    const reply = nextData(s);
    s.write(Buffer.from([0, 9, 0, 0, 0, 5, 20, 4, 0, 0, 0]));
    expect([...(await reply)]).toEqual([0, 9, 0, 0, 0, 3, 20, 0x84, 3]);
    s.destroy();
  });

  it('closes a connection whose MBAP length cannot be right', async () => {
    const s = await rawConnection();
    const closed = new Promise((resolve) => s.once('close', resolve));
    s.write(Buffer.from([0, 1, 0, 0, 0xff, 0xff, 1, 4]));
    await expect(closed).resolves.toBe(false);
  });
});

describe('simulator lifecycle', () => {
  it('refuses the same unit twice and reports a port already in use', async () => {
    const p = getProfile('soil-dfrobot');
    await expect(startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: p }, { unit: 1, profile: p }] })).rejects.toMatchObject({ code: 'E_SIM_UNIT' });
    await expect(startModbusTcpSimulator({ host: '127.0.0.1', port: sim.port, devices: [] })).rejects.toMatchObject({ code: 'E_SIM_LISTEN' });
  });

  it('stops listening once closed, dropping open connections', async () => {
    const other = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: getProfile('soil-dfrobot') }] });
    const s = connect(other.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const dropped = new Promise((r) => s.once('close', r));
    await other.close();
    await dropped;
    const refused = connect(other.port, '127.0.0.1');
    await expect(new Promise((_, reject) => refused.once('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
