/** M-Bus meters in a site config and M-Bus profiles: what `check` refuses, with file, line and column. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfigText } from '../../src/config/index.js';
import { knownProfiles } from '../../src/gateway/load-site.js';
import { loadMbusProfileFile, loadMbusProfiles, loadProfiles } from '../../src/profiles/index.js';
import { issuesOf, positionOf } from './helpers.js';

const FILE = 'site.yaml';
const site = (devices: string) => `site: { id: s, name: S }
gateway: { id: g }
buses:
  - { id: mbus, type: serial, port: /dev/ttyUSB0, baud: 2400, parity: even }
devices:
${devices}
store: { path: /tmp/x.db, keyFile: /tmp/x.key }
`;
const known = knownProfiles(loadProfiles(), loadMbusProfiles());
const load = (text: string) => loadConfigText(text, FILE, { knownProfiles: known });

describe('M-Bus devices in a site config', () => {
  it('accepts primary and secondary addressing, and generic point names', () => {
    const result = load(site(`  - { id: heat, bus: mbus, protocol: mbus, profile: kamstrup-multical-601, poll: 15m, mbus: { address: 5 }, points: [energy, volume] }
  - { id: water, bus: mbus, protocol: mbus, profile: itron-cyble-mbus, mbus: { secondary: "12000123", manufacturer: ACW } }
  - { id: elec, bus: mbus, protocol: mbus, profile: mbus-generic, mbus: { address: 7 }, points: [energy, power_maximum, energy_s1_t2] }`));
    if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
    expect(result.config.devices.map((d) => d.mbus)).toEqual([{ address: 5 }, { secondary: '12000123', manufacturer: 'ACW' }, { address: 7 }]);
  });

  it('refuses a profile of the other library, at its line: what run would refuse, check refuses first', () => {
    const modbusOnMbusProfile = site(`  - { id: heat, bus: mbus, unit: 1, profile: kamstrup-multical-601 }`);
    const [first] = issuesOf(load(modbusOnMbusProfile));
    expect(first!.message).toContain('is an M-Bus meter profile: set protocol: mbus');
    expect(first).toMatchObject(positionOf(modbusOnMbusProfile, 'kamstrup-multical-601'));
    const mbusOnModbusProfile = site(`  - { id: heat, bus: mbus, protocol: mbus, profile: eastron-sdm630, mbus: { address: 5 } }`);
    expect(issuesOf(load(mbusOnModbusProfile)).map((i) => i.message).join()).toContain('is a Modbus profile, not an M-Bus meter profile');
  });

  it('refuses a meter with no address, or both, naming where', () => {
    const text = site(`  - { id: heat, bus: mbus, protocol: mbus, profile: kamstrup-multical-601, mbus: { address: 5, secondary: "12345678" } }`);
    const [issue] = issuesOf(load(text));
    expect(issue!.message).toMatch(/either address .* or secondary/);
    expect(issue).toMatchObject(positionOf(text, '{ address: 5'));
    const none = issuesOf(load(site(`  - { id: heat, bus: mbus, protocol: mbus, profile: kamstrup-multical-601 }`)));
    expect(none.map((i) => i.message).join()).toContain('mbus is required for an M-Bus meter');
  });

  it('refuses an unknown M-Bus profile, a point it does not have, and a generic name that is none', () => {
    const text = site(`  - { id: a, bus: mbus, protocol: mbus, profile: kamstrup-multical-602, mbus: { address: 1 } }
  - { id: b, bus: mbus, protocol: mbus, profile: kamstrup-multical-601, mbus: { address: 2 }, points: [energy, enrgy] }
  - { id: c, bus: mbus, protocol: mbus, profile: mbus-generic, mbus: { address: 3 }, points: [energy, watts] }
  - { id: d, bus: mbus, protocol: mbus, profile: mbus-generic, mbus: { address: 4 } }`);
    const issues = issuesOf(load(text)).map(formatIssue);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/unknown profile "kamstrup-multical-602".*did you mean "kamstrup-multical-601"/),
        expect.stringContaining(`${FILE}:${positionOf(text, 'enrgy').line}:${positionOf(text, 'enrgy').col} devices[1].points[1]: profile "kamstrup-multical-601" has no point "enrgy"`),
        expect.stringContaining('profile "mbus-generic" has no point "watts"'),
        expect.stringContaining('the generic M-Bus profile reads the points listed here'),
      ]),
    );
  });
});

describe('M-Bus profiles', () => {
  const write = (yaml: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'mbus-profile-'));
    const file = join(dir, 'my-meter.yaml');
    writeFileSync(file, yaml);
    return file;
  };
  const head = 'id: my-meter\nprotocol: mbus\nmanufacturer: X\nmodel: Y\npoints:\n';

  it('the shipped profiles load', () => {
    expect([...loadMbusProfiles().keys()]).toEqual(['engelmann-sensostar', 'itron-cyble-mbus', 'kamstrup-multical-601', 'mbus-generic']);
  });

  it('refuses a unit the quantity does not convert to, at its line', () => {
    const yaml = `${head}  - { name: energy, record: { quantity: energy }, unit: m3, class: heating }\n`;
    expect(() => loadMbusProfileFile(write(yaml))).toThrow(/my-meter\.yaml:6:\d+ points\.0\.unit: energy is in Wh; it converts to Wh, kWh, J, not m3/);
  });

  it('keeps fabrication numbers and customer records in class identifier', () => {
    const yaml = `${head}  - { name: serial, record: { quantity: fabrication_number }, class: diagnostic }\n`;
    expect(() => loadMbusProfileFile(write(yaml))).toThrow(/points\.0\.class: a fabrication_number record identifies the meter or its customer: class identifier/);
  });
});
