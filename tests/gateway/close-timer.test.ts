/**
 * Issue 11 (CPU): window closing ran on a fixed 250 ms interval, four wake-ups a second on every gateway
 * whatever its windows. The close timer is now armed for the next due instant (a window's end plus grace,
 * the raw batch's commit) and runs at least once a second. Real Modbus TCP simulator, real store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import type { WindowSummary } from '../../src/core/types.js';
import { Gateway, closeGrace } from '../../src/gateway/gateway.js';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';

const profiles = loadProfiles();
let dir: string;
let sim: ModbusTcpSimulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-close-timer-'));
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function site(name: string, window: string) {
  return configSchema.parse({
    site: { id: 'close', name: 'Close timer', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'lan', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
    devices: [{ id: 'm', bus: 'lan', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'], poll: '200ms' }],
    aggregation: { window },
    store: { path: join(dir, `${name}.db`), keyFile: join(dir, `${name}.key`), commitInterval: '1h' },
    uplink: {},
    policy: { allow: [{ match: 'm.*', statistics: ['mean'] }] },
  });
}

describe('the close timer', () => {
  it('wakes at most about once a second between window ends (not every 250 ms)', async () => {
    const gateway = new Gateway({ config: site('quiet', '1h'), profiles, logger: silentLogger() });
    await gateway.start();
    const closes = vi.spyOn(Aggregator.prototype, 'close');
    try {
      await new Promise((r) => setTimeout(r, 4000));
      // A 250 ms interval made 15-16 calls here; now about one a second, plus one when the first live
      // reading ends crash recovery's wait, with slack for timer drift.
      expect(closes.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(closes.mock.calls.length).toBeLessThanOrEqual(8);
    } finally {
      closes.mockRestore();
      await gateway.stop();
    }
  }, 20_000);

  it('a close that keeps failing does not turn the timer into a busy loop', async () => {
    const config = site('failing', '2s');
    const gateway = new Gateway({ config, profiles, logger: silentLogger() });
    await gateway.start();
    await new Promise((r) => setTimeout(r, 1500)); // a real close first: the timer knows a window's end
    // A fault no real peer produces on demand: that window's end then stays in the past.
    const closes = vi.spyOn(Aggregator.prototype, 'close').mockImplementation(() => {
      throw new Error('injected');
    });
    try {
      // Past the last real window's end plus grace, then 2 s of failing closes.
      const waitedMs = 2000 + closeGrace(config) + 2000;
      await new Promise((r) => setTimeout(r, waitedMs));
      // The 50 ms floor allows at most one try per 50 ms; a 0 ms timer made thousands (3495 here).
      expect(closes.mock.calls.length).toBeGreaterThan(10);
      expect(closes.mock.calls.length).toBeLessThanOrEqual(waitedMs / 50);
    } finally {
      closes.mockRestore();
      await gateway.stop();
    }
  }, 20_000);

  it("puts each window's summary in the outbox at its end plus grace, not later", async () => {
    const config = site('prompt', '2s');
    const grace = closeGrace(config);
    const lags: number[] = [];
    const gateway = new Gateway({
      config,
      profiles,
      logger: silentLogger(),
      onEvent: (e) => {
        if (e.type === 'summary') lags.push(Date.now() - (summaryEnd(e.summary) + grace));
      },
    });
    await gateway.start();
    try {
      const deadline = Date.now() + 25_000;
      while (lags.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(lags.length).toBeGreaterThanOrEqual(5);
      for (const lag of lags) expect(lag).toBeGreaterThanOrEqual(0); // never before its grace is over
      // Armed for that instant (a few ms late), not left to the once-a-second floor (up to 1 s late: its
      // median would be under 300 ms one time in six). The median lets a loaded machine delay one or two.
      const median = [...lags].sort((a, b) => a - b)[Math.floor(lags.length / 2)]!;
      expect(median).toBeLessThan(300);
    } finally {
      await gateway.stop();
    }
  }, 40_000);
});

const summaryEnd = (s: WindowSummary): number => s.end;
