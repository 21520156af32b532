import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { knownProfiles } from '../../src/gateway/load-site.js';
import { loadProfiles, type Profile } from '../../src/profiles/index.js';
import { FUNCTION_OF, pointWidth } from '../../src/drivers/modbus/device-plan.js';
import { planSite, sitePlanJson, type SitePlanDevice, type SitePlanInput } from '../../src/drivers/modbus/site-plan.js';
import { requestCostMs, type LineTiming, type ReadFunction } from '../../src/drivers/modbus/wire-cost.js';

const profiles = loadProfiles();

async function loadExample(file: string): Promise<SitePlanInput> {
  const result = await loadConfigFile(file, { knownProfiles: knownProfiles(profiles) });
  if (!result.ok) throw new Error(`${file} does not load: ${JSON.stringify(result.errors)}`);
  return result.config;
}

const profileOf = (id: string | undefined): Profile => profiles.get(id ?? '')!;

/** Independent recomputation from the JSON: every request's cost with the bus timing and its device's turnaround. */
function recomputedBusTime(site: SitePlanInput, busId: string, requests: { unit: number; function: number; count: number }[]): number {
  const bus = site.buses.find((b) => b.id === busId)!;
  const timing: LineTiming = bus.type === 'tcp' ? { kind: 'tcp', rttMs: 1 } : { kind: 'rtu', baud: bus.baud! };
  return requests.reduce((sum, r) => {
    const device = site.devices.find((d) => d.bus === busId && d.unit === r.unit)!;
    return sum + requestCostMs(timing, r.function as ReadFunction, r.count, profileOf(device.profile).limits.turnaroundMs);
  }, 0);
}

/** Every selected point of every device lies inside one request of its unit and function. */
function expectEveryPointCovered(site: SitePlanInput, busId: string, requests: { unit: number; function: number; address: number; count: number }[]): void {
  for (const d of site.devices.filter((x) => x.bus === busId)) {
    const profile = profileOf(d.profile);
    const points = d.points ? profile.points.filter((p) => d.points!.includes(p.name)) : profile.points;
    for (const p of points) {
      const inside = requests.some(
        (r) => r.unit === d.unit && r.function === FUNCTION_OF[p.kind] && r.address <= p.address && p.address + pointWidth(p) <= r.address + r.count,
      );
      expect(inside, `${d.id}.${p.name}`).toBe(true);
    }
  }
}

describe('planSite on the shipped sites', () => {
  for (const file of ['config/example-school.yaml', 'config/demo.yaml']) {
    it(`${file}: JSON has the documented shape, bus time matches its requests, every point is read`, async () => {
      const site = await loadExample(file);
      const json = sitePlanJson(planSite(site, profiles));
      expect(Object.keys(json)).toEqual(['buses']);
      expect(json.buses.map((b) => b.bus)).toEqual(site.buses.map((b) => b.id));
      for (const b of json.buses) {
        expect(Object.keys(b)).toEqual(['bus', 'baud', 'busTimeMs', 'requests']);
        const config = site.buses.find((x) => x.id === b.bus)!;
        expect(b.baud).toBe(config.type === 'serial' ? config.baud : null);
        for (const r of b.requests) expect(Object.keys(r)).toEqual(['unit', 'function', 'address', 'count']);
        expect(b.busTimeMs).toBeCloseTo(recomputedBusTime(site, b.bus, b.requests), 2);
        expectEveryPointCovered(site, b.bus, b.requests);
      }
    });
  }

  it('example-school fits its budget: no warnings', async () => {
    expect(planSite(await loadExample('config/example-school.yaml'), profiles).warnings).toEqual([]);
  });
});

const meterOn = (bus: string, unit: number, poll: number): SitePlanDevice => ({ id: `meter-${unit}`, bus, unit, profile: 'eastron-sdm630', poll });

describe('planSite warnings', () => {
  it('warns when one cycle needs more bus time than the poll interval', () => {
    const site: SitePlanInput = { buses: [{ id: 'slow', type: 'serial', baud: 2400 }], devices: [meterOn('slow', 1, 500)] };
    const plan = planSite(site, profiles);
    const bus = plan.buses[0]!;
    expect(bus.busTimeMs).toBeGreaterThan(500);
    expect(plan.warnings.map((w) => w.kind)).toEqual(['cycle-exceeds-poll', 'line-over-budget']);
    expect(plan.warnings[0]!.message).toContain('meter-1');
  });

  it('warns, with the overshoot, when devices together need more than the line', () => {
    const devices = [1, 2, 3, 4, 5].map((u) => meterOn('tgbt', u, 1000));
    const plan = planSite({ buses: [{ id: 'tgbt', type: 'serial', baud: 9600 }], devices }, profiles);
    const bus = plan.buses[0]!;
    // Each cycle fits its own second, but five of them do not fit one second of line.
    expect(bus.devices.every((d) => d.busTimeMs < d.pollMs)).toBe(true);
    expect(bus.load).toBeGreaterThan(1);
    const over = plan.warnings.filter((w) => w.kind === 'line-over-budget');
    expect(over).toHaveLength(1);
    expect(over[0]!.message).toContain(`${Math.round((bus.load - 1) * 100)}% over budget`);
  });

  it('load is the sum over devices of bus time / poll, and the warnings follow it', () => {
    const deviceArb = fc.record({
      profile: fc.constantFrom(...profiles.keys()),
      poll: fc.integer({ min: 50, max: 600_000 }),
    });
    fc.assert(
      fc.property(fc.array(deviceArb, { minLength: 1, maxLength: 6 }), fc.constantFrom(1200, 2400, 9600, 19200, 115200), (ds, baud) => {
        const devices = ds.map((d, i) => ({ id: `d${i}`, bus: 'line', unit: i + 1, profile: d.profile, poll: d.poll }));
        const plan = planSite({ buses: [{ id: 'line', type: 'serial', baud }], devices }, profiles);
        const bus = plan.buses[0]!;
        const json = sitePlanJson(plan).buses[0]!;
        const perDevice = devices.map((d) => recomputedBusTime({ buses: [{ id: 'line', type: 'serial', baud }], devices }, 'line', json.requests.filter((r) => r.unit === d.unit)));
        const load = perDevice.reduce((sum, t, i) => sum + t / devices[i]!.poll, 0);
        expect(bus.load).toBeCloseTo(load, 9);
        expect(plan.warnings.some((w) => w.kind === 'line-over-budget')).toBe(load > 1);
        const late = devices.filter((d, i) => perDevice[i]! > d.poll).map((d) => d.id);
        expect(plan.warnings.filter((w) => w.kind === 'cycle-exceeds-poll').map((w) => w.device)).toEqual(late);
      }),
      { numRuns: 60 },
    );
  });

  it('plans TCP lines with a 1 ms round trip and no baud', () => {
    const plan = planSite({ buses: [{ id: 'gw', type: 'tcp' }], devices: [meterOn('gw', 1, 10_000)] }, profiles);
    expect(plan.buses[0]!.baud).toBeNull();
    expect(plan.buses[0]!.timing).toEqual({ kind: 'tcp', rttMs: 1 });
  });

  it('leaves out lines owned by another serial protocol, and names them', () => {
    const plan = planSite(
      {
        buses: [
          { id: 'linky', type: 'serial', baud: 1200 },
          { id: 'tgbt', type: 'serial', baud: 9600 },
        ],
        devices: [{ id: 'compteur', bus: 'linky', protocol: 'tic', poll: 10_000 }, meterOn('tgbt', 1, 10_000)],
      },
      profiles,
    );
    expect(plan.buses.map((b) => b.bus)).toEqual(['tgbt']);
    expect(plan.otherBuses).toEqual([{ bus: 'linky', protocols: ['tic'] }]);
  });

  it('names the device whose bus does not exist', () => {
    expect(() => planSite({ buses: [], devices: [meterOn('nowhere', 1, 1000)] }, profiles)).toThrow(/meter-1.*nowhere/);
  });
});
