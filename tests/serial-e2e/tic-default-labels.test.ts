/**
 * Issue 13 item 7: a TIC device without `labels` (mode auto, as many sites will write it) reports the
 * labels its meter sends, not `count: 0` for every label of both modes. Real simulator on a real pty,
 * the gateway's own wiring (buildDrivers), quality checks with staleness, windows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Reading, WindowSummary } from '../../src/core/types.js';
import { buildDrivers } from '../../src/gateway/build-drivers.js';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { QualityChecker } from '../../src/pipeline/quality.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { startTicSimulator } from '../../src/sim/tic.js';
import { ticPointName } from '../../src/drivers/serial/tic/points.js';
import { TIC_LABELS } from '../../src/drivers/serial/tic/labels.js';
import { waitFor } from './helpers.js';
import { loadDriverModules } from '../../src/gateway/driver-modules.js';

// The serial line drivers are imported on demand (a TCP-only gateway never loads them): these tests build them directly.
await loadDriverModules();

const WINDOW_MS = 2000;

describe('TIC without labels', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('summaries carry the labels the meter sends, and nothing for the ones it never sends', async () => {
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const config = configSchema.parse({
      site: { id: 's', name: 'S', timezone: 'Europe/Paris', clock: { trust: 'always' } },
      gateway: { id: 'g' },
      buses: [{ id: 'tic', type: 'serial', port: pair.a, baud: 9600, dataBits: 7, parity: 'even' }],
      devices: [{ id: 'linky', bus: 'tic', protocol: 'tic', tic: { mode: 'auto' } }],
      aggregation: { window: '2s' },
      store: { path: '/tmp/unused.db', keyFile: '/tmp/unused.key' },
    });
    const built = buildDrivers(config, new Map(), silentLogger());
    const quality = new QualityChecker(built.quality);
    const aggregator = new Aggregator({ site: 's', gateway: 'g', windowMs: WINDOW_MS, timeZone: 'Europe/Paris', points: built.points });
    const summaries: WindowSummary[] = [];
    const ingest = (readings: readonly Reading[]) => aggregator.add(readings.map((r) => quality.check(r)));
    const closer = setInterval(() => {
      const now = Date.now();
      ingest(quality.sweep(now));
      summaries.push(...aggregator.close(now - 300));
    }, 100);
    const sim = await startTicSimulator({ path: pair.b, mode: 'standard', gapMs: 150 });
    const driver = built.drivers[0]!;
    await driver.start(ingest);
    cleanups.push(async () => {
      clearInterval(closer);
      await driver.stop();
      await sim.stop();
    });

    await waitFor(() => summaries.length >= 3, 30_000, 'three windows');
    const sentNumeric = new Set(
      Object.keys(sim.sentFrames()[0]!.values)
        .filter((label) => TIC_LABELS[label]?.numeric)
        .map(ticPointName),
    );
    // Every full window: exactly the numeric labels the simulator sends, each with readings.
    for (const summary of summaries.slice(1)) {
      expect(new Set(summary.points.map((p) => p.point))).toEqual(sentNumeric);
      for (const p of summary.points) expect(p.count, p.point).toBeGreaterThan(0);
    }
    expect(built.points.length).toBeGreaterThan(sentNumeric.size * 3); // what was reported before: every known label
  }, 60_000);
});
