/**
 * 16.4: aedes (the demo's broker) is an optional dependency. Without it every gateway command works and
 * the demo says what is missing. Runs real child processes with aedes hidden from module resolution.
 * (Not under tests/demo: that suite binds port 1883.)
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, startMosquitto } from '../helpers/brokers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const HIDE_AEDES = join(import.meta.dirname, 'no-aedes.mjs');
const run = promisify(execFile);

/** node with aedes hidden, then tsx; resolves with exit code and output. */
async function nodeWithoutAedes(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', HIDE_AEDES, '--import', 'tsx', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const startBroker = (port: number) =>
  `import('./src/demo/broker.ts').then((m) => m.startDemoBroker('127.0.0.1', ${port})).then(` +
  `(b) => { console.log(JSON.stringify({ embedded: b.embedded })); return b.close(); }, (e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); })`;

describe('without the optional aedes package', () => {
  it('the CLI loads and checks a site', async () => {
    const result = await nodeWithoutAedes(['src/cli/main.ts', 'check', 'config/example-school.yaml']);
    expect(result.stderr).not.toMatch(/aedes/);
    expect(result.code).toBe(0);
  }, 90_000);

  it('the demo broker says aedes is missing and how to get a broker', async () => {
    const result = await nodeWithoutAedes(['--input-type=module', '-e', startBroker(await freePort())]);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(out.code).toBe('E_DEMO_BROKER');
    expect(out.message).toMatch(/optional package aedes.*npm install/);
  }, 90_000);

  it('the demo uses a broker already listening on its port instead', async () => {
    const broker = await startMosquitto();
    try {
      const result = await nodeWithoutAedes(['--input-type=module', '-e', startBroker(broker.port)]);
      expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ embedded: false });
    } finally {
      await broker.close();
    }
  }, 90_000);

  it('a program on the port that is not an MQTT broker is not taken for one', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const result = await nodeWithoutAedes(['--input-type=module', '-e', startBroker(port)]);
      expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!).code).toBe('E_DEMO_BROKER');
    } finally {
      server.close();
    }
  }, 90_000);
});
