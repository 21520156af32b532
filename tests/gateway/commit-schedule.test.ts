/**
 * Issue 11 (flash writes): the raw batch and the window's summaries were two commits (two syncs, two
 * rewrites of the pages they share) every window. The batch now rides on the window's commit, and is
 * committed alone only when no window took it within store.commitInterval. Real Modbus TCP simulator,
 * real encrypted store read beside the running gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { readExistingKey } from '../../src/store/keyfile.js';
import { openForReading } from '../../src/store/live-read.js';

const profiles = loadProfiles();
let dir: string;
let sim: ModbusTcpSimulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-commits-'));
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function site(name: string, window: string, commitInterval: string) {
  return configSchema.parse({
    site: { id: 'commits', name: 'Commit schedule', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'lan', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
    devices: [{ id: 'm', bus: 'lan', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'], poll: '200ms' }],
    aggregation: { window },
    store: { path: join(dir, `${name}.db`), keyFile: join(dir, `${name}.key`), commitInterval },
    uplink: {},
    policy: { allow: [{ match: 'm.*', statistics: ['mean'] }] },
  });
}

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Raw readings committed so far, read as a local tool would (the running gateway holds the store: a snapshot). */
function committedReadings(config: ReturnType<typeof site>): number {
  const key = readExistingKey(config.store.keyFile);
  const reader = openForReading(config.store.path, 'chacha20', key);
  try {
    return (reader.db.prepare('SELECT coalesce(sum(n), 0) AS n FROM raw_batches').get() as { n: number }).n;
  } finally {
    reader.close();
    key.fill(0);
  }
}

describe('raw readings reach the disk', () => {
  it("with the summaries of the window that closes: one commit per window, even under a long commit interval", async () => {
    const config = site('window', '10s', '1h');
    let summaries = 0;
    let atFirstSummary = -1;
    const gateway = new Gateway({
      config,
      profiles,
      logger: silentLogger(),
      onEvent: (e) => {
        if (e.type === 'summary' && ++summaries === 1) atFirstSummary = committedReadings(config);
      },
    });
    await gateway.start();
    try {
      await until('a window to close', () => summaries > 0, 25_000);
      expect(atFirstSummary).toBeGreaterThan(0); // committed with the window, not an hour later
    } finally {
      await gateway.stop();
    }
  }, 40_000);

  it('alone after store.commitInterval when no window closes meanwhile', async () => {
    const config = site('interval', '1h', '1s');
    const gateway = new Gateway({ config, profiles, logger: silentLogger() });
    await gateway.start();
    try {
      await until('readings committed by the interval', () => committedReadings(config) > 0, 10_000);
    } finally {
      await gateway.stop();
    }
  }, 20_000);
});
