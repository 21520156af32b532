/** The child supervisor with real processes: restart, crash-loop guard, SIGTERM then SIGKILL. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ChildSupervisor, type ChildState } from '../../src/nodered/supervisor.js';

function collectingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const waitFor = async (what: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('ChildSupervisor', () => {
  it('restarts a crashing child, then stays down after 5 crashes and says so', async () => {
    const { logger, lines } = collectingLogger();
    const states: ChildState[] = [];
    const sup = new ChildSupervisor({
      command: process.execPath,
      args: ['-e', 'console.log("[error] boom"); process.exit(3)'],
      env: {},
      cwd: '/',
      logger,
      backoffMs: { first: 20, max: 50 },
      onState: (s) => states.push(s),
    });
    sup.start();
    await waitFor(() => sup.state().status === 'crash-loop');
    expect(sup.state().restarts).toBe(4);
    expect(sup.state().lastExit?.code).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(sup.state()).toMatchObject({ status: 'crash-loop', restarts: 4, pid: undefined });
    expect(lines.join('')).toMatch(/crashed 5 times within 10 min: not restarted again/);
    expect(lines.filter((l) => l.includes('boom')).length).toBe(5);
  });

  it('brings a killed child back by itself', async () => {
    const { logger } = collectingLogger();
    const sup = new ChildSupervisor({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: {}, cwd: '/', logger, backoffMs: { first: 20, max: 50 } });
    sup.start();
    const first = sup.state().pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => sup.state().status === 'running' && sup.state().pid !== first);
    expect(sup.state().restarts).toBe(1);
    await sup.stop();
    expect(sup.state().status).toBe('stopped');
  });

  it('kills a child that ignores SIGTERM after the stop bound', async () => {
    const { logger, lines } = collectingLogger();
    const sup = new ChildSupervisor({
      command: process.execPath,
      args: ['-e', 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'],
      env: {},
      cwd: '/',
      logger,
      stopTimeoutMs: 300,
    });
    sup.start();
    await waitFor(() => lines.some((l) => l.includes('ready')));
    const t0 = Date.now();
    await sup.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(sup.state()).toMatchObject({ status: 'stopped', lastExit: { signal: 'SIGKILL' } });
  });
});
