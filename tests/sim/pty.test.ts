import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { createPtyPair } from '../../src/sim/pty.js';

const open = (path: string) =>
  new Promise<SerialPort>((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 9600 }, (err) => (err ? reject(err) : resolve(port)));
  });

describe('pty pair', () => {
  it('carries bytes both ways through serialport', async () => {
    const pair = await createPtyPair();
    const [a, b] = await Promise.all([open(pair.a), open(pair.b)]);
    const received = new Promise<Buffer>((resolve) => b.once('data', resolve));
    a.write(Buffer.from([0x01, 0x04, 0x00, 0x00]));
    expect([...(await received)]).toEqual([0x01, 0x04, 0x00, 0x00]);
    const back = new Promise<Buffer>((resolve) => a.once('data', resolve));
    b.write('ok');
    expect((await back).toString()).toBe('ok');
    await Promise.all([new Promise((r) => a.close(r)), new Promise((r) => b.close(r))]);
    await pair.close();
  });
});
