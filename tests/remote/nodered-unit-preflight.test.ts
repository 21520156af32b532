/**
 * Under `nodered.supervisor: systemd` the packaged passerelle-nodered.service runs Node-RED as its own
 * user, with settings read from the site file when the unit starts. A push must not leave the gateway and
 * Node-RED on two configs, nor make the gateway write the flows user's files: pre-flight refuses both,
 * before anything is staged (the running config is untouched by construction: nothing ran).
 */
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { GatewayRuntime } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { isRefusal } from '../../src/remote/refusal.js';

function site(nodered: object | undefined, window = '5m'): Config {
  return configSchema.parse({
    site: { id: 'test-site', name: 'Test', clock: { trust: 'always' } },
    gateway: { id: 'gw-0001' },
    buses: [{ id: 'lan', type: 'tcp', host: '127.0.0.1', port: 5020 }],
    devices: [{ id: 'meter', bus: 'lan', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'] }],
    aggregation: { window },
    store: { path: '/tmp/never-opened.db', keyFile: '/tmp/never-opened.key' },
    uplink: { broker: 'mqtts://broker.invalid:8883' },
    policy: { allow: [{ match: 'meter.*', statistics: ['mean'] }] },
    ...(nodered ? { nodered } : {}),
  });
}

async function reasonOf(runtime: GatewayRuntime, next: Config, running: Config): Promise<string | undefined> {
  try {
    await runtime.preflight(next, running);
    return undefined;
  } catch (e) {
    if (!isRefusal(e)) throw e;
    return e.reason;
  }
}

const unit = { supervisor: 'systemd' };
const runtimeCarrying = (flows: string | undefined) => new GatewayRuntime({ profiles: loadProfiles(), logger: silentLogger() }, undefined, { flowsFor: () => flows });

describe('pre-flight with Node-RED in its own unit (supervisor: systemd)', () => {
  it('refuses flows carried by a bundle: the gateway cannot write the flows user files', async () => {
    expect(await reasonOf(runtimeCarrying('[]'), site(unit, '10m'), site(unit))).toBe('preflight:nodered');
  });

  it('refuses a change of the nodered section, into, out of or within the unit mode', async () => {
    const none = runtimeCarrying(undefined);
    expect(await reasonOf(none, site({ ...unit, port: 1881 }), site(unit))).toBe('preflight:nodered');
    expect(await reasonOf(none, site(unit), site({ enabled: true }))).toBe('preflight:nodered');
    expect(await reasonOf(none, site(undefined), site(unit))).toBe('preflight:nodered');
  });

  it('lets any other change through, and the nodered section change when the gateway runs Node-RED itself', async () => {
    const none = runtimeCarrying(undefined);
    expect(await reasonOf(none, site(unit, '10m'), site(unit))).toBeUndefined();
    expect(await reasonOf(none, site({ port: 1881 }), site({ port: 1880 }))).toBeUndefined();
  });
});
