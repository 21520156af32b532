/** The shipped configs must load, against the profiles actually shipped in hardware/profiles. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, loadConfigFile, type Config } from '../../src/config/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Profile id -> point names, read straight from the YAML so this test does not depend on the profile loader. */
async function shippedProfiles(): Promise<Map<string, string[]>> {
  const dir = join(ROOT, 'hardware', 'profiles');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  const profiles = await Promise.all(
    files.map(async (f) => parse(await readFile(join(dir, f), 'utf8')) as { id: string; points: { name: string }[] }),
  );
  return new Map(profiles.map((p) => [p.id, p.points.map((point) => point.name)]));
}

async function loadShipped(name: string): Promise<Config> {
  const result = await loadConfigFile(join(ROOT, 'config', name), { knownProfiles: await shippedProfiles() });
  if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
  return result.config;
}

describe('config/demo.yaml', () => {
  let config: Config;
  beforeAll(async () => {
    config = await loadShipped('demo.yaml');
  });

  it('describes the demo site', () => {
    expect(config.site).toEqual({
      id: 'demo-school', name: 'École de démonstration', timezone: 'Europe/Paris', clock: { trust: 'always', maxHeld: 20_000 },
    });
    expect(config.gateway.id).toBe('gw-demo');
    expect(config.aggregation.window).toBe(10_000);
    expect(config.store).toMatchObject({ path: '.passerelle/demo.db', keyFile: '.passerelle/demo.key' });
    expect(config.uplink.broker).toBeUndefined();
    expect(config.uplink.format).toBe('senml-json');
  });

  it('has one loopback TCP bus per simulator on ports 5020-5022', () => {
    expect(config.buses.map((b) => (b.type === 'tcp' ? `${b.id}@${b.host}:${b.port}` : b.id))).toEqual([
      'sim-meter@127.0.0.1:5020',
      'sim-soil@127.0.0.1:5021',
      'sim-co2@127.0.0.1:5022',
    ]);
  });

  it('polls the three simulated devices every 2 s, beside the virtual device the dry-soil flow feeds', () => {
    expect(config.devices.filter((d) => d.protocol === 'flow').map((d) => d.id)).toEqual(['tree']);
    expect(config.devices.filter((d) => d.protocol === 'modbus').map((d) => [d.profile, d.unit, d.poll])).toEqual([
      ['eastron-sdm630', 1, 2000],
      ['soil-dfrobot', 1, 2000],
      ['senseair-s8', 254, 2000],
    ]);
  });

  it('lets only the agreed statistics leave: no current or frequency, delta for energy', () => {
    const allowed = new Map(config.policy.allow.map((r) => [r.match, r.statistics]));
    const meter = config.devices.find((d) => d.profile === 'eastron-sdm630')!.id;
    expect(allowed.get(`${meter}.energy_import`)).toEqual(['delta']);
    expect(allowed.get(`${meter}.power_total`)).toEqual(['mean', 'max']);
    expect([...allowed.keys()].some((m) => m.includes('current') || m.includes('frequency'))).toBe(false);
  });
});

describe('config/example-school.yaml', () => {
  it('loads, with a 9600 8N1 RS-485 line, a TCP bus and a TLS uplink', async () => {
    const config = await loadShipped('example-school.yaml');
    expect(config.buses.find((b) => b.type === 'serial' && b.port === '/dev/ttyUSB0')).toMatchObject({ baud: 9600, parity: 'none', dataBits: 8, stopBits: 1 });
    expect(config.buses.some((b) => b.type === 'tcp')).toBe(true);
    expect(config.devices.find((d) => d.profile === 'diematic3')).toMatchObject({ unit: 10 });
    expect(config.uplink.broker).toBe('mqtts://broker.example.org:8883');
    for (const file of [config.uplink.caFile, config.uplink.certFile, config.uplink.keyFile, config.uplink.passwordFile]) {
      expect(file).toMatch(/^\/etc\/passerelle\//);
    }
    expect(config.store.path.startsWith('/var/lib/passerelle/')).toBe(true);
  });
});
