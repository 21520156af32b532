/**
 * Issue 16, low: summaries queued under a looser policy were sent after the site tightened it. A real
 * store holds one message of the old policy and one of the current one; the gateway starts with a real
 * Mosquitto: only the current one leaves, the other is dropped and counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { Store } from '../../src/store/store.js';
import { policyHash } from '../../src/uplink/policy.js';
import { startMosquitto } from '../helpers/brokers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a policy tightened while summaries wait in the outbox', () => {
  it('sends none of the summaries queued under the old policy, and counts them as dropped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-policy-change-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const site = (policy: unknown) =>
      configSchema.parse({
        site: { id: 'ecole', name: 'Ecole', clock: { trust: 'always' } },
        gateway: { id: 'gw' },
        store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
        uplink: { broker: broker.url },
        policy,
      });
    const loose = site({ allow: [{ match: '*', statistics: ['min', 'max', 'mean', 'last'] }] });
    const strict = site({ allow: [{ match: '*.energy', statistics: ['delta'] }] });
    expect(policyHash(loose.policy)).not.toBe(policyHash(strict.policy));

    const store = Store.open({ path: strict.store.path, keyFile: strict.store.keyFile, logger: silentLogger() });
    store.enqueue({ id: 'under-loose', topic: 'passerelle/ecole/gw/summary', payload: Buffer.from('people: 2'), createdAt: 1, policy: policyHash(loose.policy) });
    store.enqueue({ id: 'under-strict', topic: 'passerelle/ecole/gw/summary', payload: Buffer.from('energy delta'), createdAt: 2, policy: policyHash(strict.policy) });
    store.close();

    const subscriber = mqtt.connect(broker.url, { protocolVersion: 4 });
    cleanups.push(() => void subscriber.end(true));
    const received: string[] = [];
    subscriber.on('message', (topic, payload) => void (topic.endsWith('/summary') && received.push(payload.toString())));
    await subscriber.subscribeAsync('passerelle/#', { qos: 1 });

    const gateway = new Gateway({ config: strict, profiles: loadProfiles(), logger: silentLogger() });
    await gateway.start();
    await waitFor(() => received.includes('energy delta'), 15_000, 'the summary of the current policy');
    await gateway.stop();
    expect(received).toEqual(['energy delta']);

    const after = Store.open({ path: strict.store.path, keyFile: strict.store.keyFile, logger: silentLogger() });
    cleanups.push(() => after.close());
    expect(after.count()).toBe(0);
    expect(after.takeDropCounts().summariesDropped).toBe(1);
  }, 40_000);
});
