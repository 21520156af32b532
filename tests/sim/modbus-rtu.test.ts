/**
 * The RTU simulator seen from the raw serial side: framing, CRC, shared-line silence, pacing, faults.
 * A SerialPort on the gateway end of a real pty pair plays the master, byte by byte.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { hasValidCrc, requestFrameLength, withCrc } from '../../src/drivers/modbus/rtu-frame.js';
import { getProfile } from '../../src/profiles/index.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startModbusRtuSimulator, type ModbusRtuSimulator } from '../../src/sim/modbus-rtu.js';

const soil = getProfile('soil-dfrobot');
let pair: PtyPair | undefined;
let sim: ModbusRtuSimulator | undefined;
let master: SerialPort | undefined;
let received: Buffer = Buffer.alloc(0);

afterEach(async () => {
  if (master?.isOpen) await new Promise((r) => master!.close(r));
  await sim?.close();
  await pair?.close();
  master = sim = pair = undefined;
});

async function setUp(paced = false, baud = 9600): Promise<void> {
  pair = await createPtyPair();
  sim = await startModbusRtuSimulator({ path: pair.b, baud, parity: 'none', dataBits: 8, stopBits: 1, paced, devices: [{ unit: 1, profile: soil }] });
  master = await new Promise<SerialPort>((resolve, reject) => {
    const p = new SerialPort({ path: pair!.a, baudRate: baud }, (e) => (e ? reject(e) : resolve(p)));
  });
  received = Buffer.alloc(0);
  master.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readRequest = (unit: number, address = 0, count = 3) => withCrc(Buffer.from([unit, 3, address >> 8, address & 0xff, 0, count]));

async function replyTo(request: Buffer, waitMs = 150): Promise<Buffer> {
  received = Buffer.alloc(0);
  master!.write(request);
  await sleep(waitMs);
  return received;
}

describe('RTU framing helpers', () => {
  it('checks the verified reference frames', () => {
    expect([...withCrc(Buffer.from([1, 4, 0, 0, 0, 2]))]).toEqual([1, 4, 0, 0, 0, 2, 0x71, 0xcb]);
    expect(hasValidCrc(Buffer.from([0x01, 0x84, 0x02, 0xc2, 0xc1]))).toBe(true);
    expect(hasValidCrc(Buffer.from([0x01, 0x84, 0x02, 0xc2, 0xc0]))).toBe(false);
  });

  it('finds any frame it framed, and rejects any single-bit change', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 250 }), fc.nat(), (body, flip) => {
        const frame = withCrc(body);
        expect(hasValidCrc(frame)).toBe(true);
        const bit = flip % (frame.length * 8);
        frame[bit >> 3]! ^= 1 << (bit & 7);
        expect(hasValidCrc(frame)).toBe(false);
      }),
    );
  });

  it('knows request lengths from the first bytes', () => {
    expect(requestFrameLength(Buffer.from([1]))).toBeUndefined();
    expect(requestFrameLength(Buffer.from([1, 3]))).toBe(8);
    expect(requestFrameLength(Buffer.from([1, 16, 0, 0, 0, 2]))).toBeUndefined();
    expect(requestFrameLength(Buffer.from([1, 16, 0, 0, 0, 2, 4]))).toBe(13);
    expect(requestFrameLength(Buffer.from([1, 43]))).toBe('unknown');
  });
});

describe('RTU simulator on a pty', () => {
  it('answers its unit with a valid frame that carries the served values', async () => {
    await setUp();
    const reply = await replyTo(readRequest(1));
    expect(hasValidCrc(reply)).toBe(true);
    expect([...reply.subarray(0, 3)]).toEqual([1, 3, 6]);
    expect(reply.readUInt16BE(3) / 10).toBe(sim!.banks.get(1)!.lastServed('moisture')!.value);
  });

  it('stays silent for other units and for a bad CRC, as a slave on RS-485 does', async () => {
    await setUp();
    expect(await replyTo(readRequest(2))).toHaveLength(0);
    const corrupt = readRequest(1);
    corrupt[7] = corrupt[7]! ^ 1;
    expect(await replyTo(corrupt)).toHaveLength(0);
    expect(sim!.stats()).toMatchObject({ badCrc: 1, frames: 1 });
    expect(sim!.stats().units[2]).toMatchObject({ requests: 1, replies: 0 });
  });

  it('drops a partial frame at the silence, then answers the next whole one', async () => {
    await setUp();
    expect(await replyTo(readRequest(1).subarray(0, 5), 50)).toHaveLength(0);
    expect(sim!.stats().incomplete).toBe(1);
    expect(hasValidCrc(await replyTo(readRequest(1)))).toBe(true);
  });

  it('answers two requests that arrive bunched in one write', async () => {
    await setUp();
    const reply = await replyTo(Buffer.concat([readRequest(1, 0, 1), readRequest(1, 1, 1)]));
    expect(reply).toHaveLength(14);
    expect(hasValidCrc(reply.subarray(0, 7)) && hasValidCrc(reply.subarray(7))).toBe(true);
  });

  it('answers exception 1 to a function it does not know, framed by the silence', async () => {
    await setUp();
    expect([...(await replyTo(withCrc(Buffer.from([1, 7]))))]).toEqual([...withCrc(Buffer.from([1, 0x87, 1]))]);
  });

  it('paces a reply at the wire time of request and reply, plus t3.5 and the turnaround', async () => {
    await setUp(true, 9600);
    const request = readRequest(1);
    received = Buffer.alloc(0);
    const sent = performance.now();
    let arrived = 0;
    master!.once('data', () => (arrived = performance.now()));
    master!.write(request);
    await sleep(200);
    const char = (11 * 1000) / 9600;
    const expected = 8 * char + 3.5 * char + soil.limits.turnaroundMs + 11 * char;
    expect(received).toHaveLength(11);
    expect(arrived - sent).toBeGreaterThanOrEqual(expected - 0.5); // never early (0.5 ms: write-call jitter)
    expect(arrived - sent).toBeLessThan(expected + 250); // only gross errors: the machine may be loaded
  });

  it.each([
    [{ kind: 'bad-crc' } as const, (r: Buffer) => r.length === 11 && !hasValidCrc(r)],
    [{ kind: 'garbage' } as const, (r: Buffer) => r.length === 11 && r[0] !== 1],
    [{ kind: 'short' } as const, (r: Buffer) => r.length === 6 && r[0] === 1],
    [{ kind: 'exception', code: 6 } as const, (r: Buffer) => [...r].join() === [...withCrc(Buffer.from([1, 0x83, 6]))].join()],
    [{ kind: 'silent' } as const, (r: Buffer) => r.length === 0],
  ])('misbehaves on demand: %o', async (fault, check) => {
    await setUp();
    sim!.faults.set(1, fault);
    expect(check(await replyTo(readRequest(1)))).toBe(true);
    sim!.faults.clear(1);
    expect(hasValidCrc(await replyTo(readRequest(1)))).toBe(true);
  });

  it('answers late when slow, and again after a dropout ends', async () => {
    await setUp();
    sim!.faults.set(1, { kind: 'slow', delayMs: 150 });
    expect(await replyTo(readRequest(1), 80)).toHaveLength(0);
    await sleep(150);
    expect(received).toHaveLength(11);
    sim!.faults.set(1, { kind: 'dropout', forMs: 200 });
    expect(await replyTo(readRequest(1))).toHaveLength(0);
    await sleep(100);
    expect(await replyTo(readRequest(1))).toHaveLength(11);
  });
});
