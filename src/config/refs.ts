/**
 * Checks the schema cannot express: references between sections and uniqueness. They run on the raw
 * data too (defensively), so a bad bus reference is reported alongside a typo elsewhere in the file.
 */
import { ticDefaultLabels, ticPointName } from '../drivers/serial/tic/schema.js';
import type { RawIssue } from './messages.js';
import { policyGlobMatches } from './policy-match.js';
import { isRecord } from './schema-walk.js';
import { didYouMean } from './suggest.js';

interface Entry {
  index: number;
  fields: Record<string, unknown>;
}

/** The mappings of a list section; anything malformed is the schema's to report. */
const entries = (data: unknown, section: string): Entry[] => {
  const list = isRecord(data) ? data[section] : undefined;
  return Array.isArray(list) ? list.flatMap((fields, index) => (isRecord(fields) ? [{ index, fields }] : [])) : [];
};

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function duplicateIds(section: 'buses' | 'devices', list: Entry[]): RawIssue[] {
  const noun = section === 'buses' ? 'bus' : 'device';
  const firstIndex = new Map<string, number>();
  const issues: RawIssue[] = [];
  for (const { index, fields } of list) {
    const id = text(fields.id);
    if (id === undefined) continue;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, index);
    else issues.push({ path: [section, index, 'id'], message: `duplicate ${noun} id "${id}" (already used by ${section}[${first}])` });
  }
  return issues;
}

function unknownBuses(devices: Entry[], busIds: Set<string>): RawIssue[] {
  return devices.flatMap(({ index, fields }) => {
    const bus = text(fields.bus);
    if (bus === undefined || busIds.has(bus)) return [];
    const declared = busIds.size === 0 ? 'no bus is declared under buses' : `declared buses: ${[...busIds].join(', ')}`;
    return [{ path: ['devices', index, 'bus'], message: `unknown bus "${bus}"${didYouMean(bus, busIds)}; ${declared}` }];
  });
}

/** Two devices answering to the same unit id on one line would collide on every request. */
function sharedUnits(devices: Entry[]): RawIssue[] {
  const owner = new Map<string, string>();
  const issues: RawIssue[] = [];
  for (const { index, fields } of devices) {
    const bus = text(fields.bus);
    if (bus === undefined || typeof fields.unit !== 'number' || protocolOf(fields) !== 'modbus') continue;
    const key = `${bus}\u0000${fields.unit}`;
    const first = owner.get(key);
    if (first === undefined) owner.set(key, String(fields.id));
    else issues.push({ path: ['devices', index, 'unit'], message: `unit ${fields.unit} on bus "${bus}" is already used by device "${first}"` });
  }
  return issues;
}

const protocolOf = (fields: Record<string, unknown>): string => text(fields.protocol) ?? 'modbus';

/**
 * Serial line protocols own their port: a TIC or line device needs a serial bus of its own; SDI-12
 * sensors may share one (the protocol is multi-drop) but not with another protocol.
 */
function serialProtocolBuses(devices: Entry[], buses: Entry[]): RawIssue[] {
  const busType = new Map(buses.flatMap(({ fields }) => (text(fields.id) ? [[text(fields.id)!, text(fields.type)] as const] : [])));
  const users = new Map<string, { protocol: string; id: string }[]>();
  for (const { fields } of devices) {
    const bus = text(fields.bus);
    if (bus) users.set(bus, [...(users.get(bus) ?? []), { protocol: protocolOf(fields), id: String(fields.id) }]);
  }
  return devices.flatMap(({ index, fields }) => {
    const protocol = protocolOf(fields);
    const bus = text(fields.bus);
    if (protocol === 'modbus' || bus === undefined || !busType.has(bus)) return [];
    if (busType.get(bus) !== 'serial') return [{ path: ['devices', index, 'bus'], message: `a ${protocol} device needs a serial bus; "${bus}" is not one` }];
    // SDI-12 and M-Bus are multi-drop: devices of the same protocol share the line.
    const others = (users.get(bus) ?? []).filter((u) => u.id !== String(fields.id) && !((protocol === 'sdi12' || protocol === 'mbus') && u.protocol === protocol));
    if (others.length === 0) return [];
    return [{ path: ['devices', index, 'bus'], message: `bus "${bus}" is also used by ${others.map((o) => `${o.id} (${o.protocol})`).join(', ')}: a ${protocol} device needs the port to itself` }];
  });
}

/** A rule naming a device that does not exist lets nothing through: almost always a typo. */
function policyDeviceRefs(data: unknown, deviceIds: Set<string>): RawIssue[] {
  const policy = isRecord(data) ? data.policy : undefined;
  return entries(policy, 'allow').flatMap(({ index, fields }) => {
    const match = text(fields.match);
    const dot = match?.indexOf('.') ?? -1;
    if (match === undefined || dot < 0) return [];
    const device = match.slice(0, dot);
    if (/[*?[\]{}]/.test(device) || deviceIds.has(device)) return [];
    return [{ path: ['policy', 'allow', index, 'match'], message: `no device "${device}" in devices${didYouMean(device, deviceIds)}, so this rule allows nothing` }];
  });
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/**
 * The point names a device will report, or undefined when they cannot be known before it runs (a line
 * device without `fields`, a Modbus device whose profile is not known here).
 */
function devicePoints(fields: Record<string, unknown>, known?: KnownProfiles): string[] | undefined {
  switch (protocolOf(fields)) {
    case 'modbus': {
      const listed = strings(fields.points);
      if (listed) return listed;
      const profile = text(fields.profile);
      return known instanceof Map && profile !== undefined && known.has(profile) ? [...known.get(profile)!] : undefined;
    }
    case 'mbus': {
      // The generic profile's names follow a grammar (a Set whose has() applies it): not listable here.
      const listed = strings(fields.points);
      if (listed) return listed;
      const profile = text(fields.profile);
      const names = known instanceof Map && profile !== undefined ? known.get(profile) : undefined;
      return names instanceof MbusPointNames && names.listable ? [...names] : undefined;
    }
    case 'tic': {
      const tic = isRecord(fields.tic) ? fields.tic : {};
      const mode = tic.mode === 'historique' || tic.mode === 'standard' ? tic.mode : 'auto';
      return (strings(tic.labels) ?? ticDefaultLabels(mode)).map(ticPointName);
    }
    case 'sdi12': {
      const values = isRecord(fields.sdi12) && Array.isArray(fields.sdi12.values) ? fields.sdi12.values : [];
      return values.flatMap((v) => (isRecord(v) && typeof v.name === 'string' ? [v.name] : []));
    }
    case 'line': {
      const f = isRecord(fields.line) ? fields.line.fields : undefined;
      return isRecord(f) ? Object.keys(f) : undefined;
    }
    case 'flow': {
      const points = isRecord(fields.flow) && Array.isArray(fields.flow.points) ? fields.flow.points : [];
      return points.flatMap((p) => (isRecord(p) && typeof p.name === 'string' ? [p.name] : []));
    }
    default:
      return undefined;
  }
}

/**
 * A rule whose pattern matches none of the site's points lets nothing through (`meter.power_totl`):
 * the whole pattern is matched against every device.point. Rules naming an unknown device are
 * policyDeviceRefs' to report; a device whose points are unknown here may match anything aimed at it.
 */
function policyPointRefs(data: unknown, devices: Entry[], known?: KnownProfiles): RawIssue[] {
  const policy = isRecord(data) ? data.policy : undefined;
  const keys: string[] = [];
  const open: string[] = [];
  for (const { fields } of devices) {
    const id = text(fields.id);
    if (id === undefined) continue;
    const points = devicePoints(fields, known);
    if (points === undefined) open.push(id);
    else keys.push(...points.map((p) => `${id}.${p}`));
  }
  const deviceIds = new Set(devices.flatMap(({ fields }) => text(fields.id) ?? []));
  return entries(policy, 'allow').flatMap(({ index, fields }) => {
    const match = text(fields.match);
    if (match === undefined || keys.some((k) => policyGlobMatches(match, k))) return [];
    const device = match.slice(0, Math.max(0, match.indexOf('.')));
    const wildDevice = device === '' || device.includes('*');
    if (!wildDevice && !deviceIds.has(device)) return [];
    if (open.some((id) => (wildDevice ? policyGlobMatches(device || '*', id) : id === device))) return [];
    const hint = match.includes('*') ? '' : didYouMean(match, keys);
    return [{ path: ['policy', 'allow', index, 'match'], message: `no point of this site matches "${match}"${hint}, so this rule allows nothing` }];
  });
}

/** Per-point settings naming a point the device does not read would be silently ignored (or stop `run`). */
function unknownPointSettings(devices: Entry[], known?: KnownProfiles): RawIssue[] {
  return devices.flatMap(({ index, fields }) => {
    const points = devicePoints(fields, known);
    if (points === undefined) return [];
    const names = new Set(points);
    return (['quality', 'pointPoll'] as const).flatMap((section) => {
      const settings = fields[section];
      if (!isRecord(settings)) return [];
      // pointPoll against an explicit `points` list is the schema's check already.
      if (section === 'pointPoll' && strings(fields.points)) return [];
      return Object.keys(settings).flatMap((name) =>
        names.has(name) ? [] : [{ path: ['devices', index, section, name], at: 'key' as const, message: `"${name}" is not one of this device's points${didYouMean(name, names)}` }],
      );
    });
  });
}

/**
 * Profile ids, or profile id -> its point names (then `points` and `writable` are checked too).
 * A Set is used as given, so a profile whose names follow a grammar (the generic M-Bus profile)
 * can pass one whose has() applies it.
 */
export type KnownProfiles = ReadonlySet<string> | ReadonlyMap<string, Iterable<string>>;

/**
 * The point names of an M-Bus meter profile (hardware/profiles/mbus): M-Bus and Modbus profiles are two
 * libraries, and a device may only name one of its own protocol's. `listable` is false when the names
 * follow a grammar (the generic profile: a subclass whose has() applies it).
 */
export class MbusPointNames extends Set<string> {
  constructor(
    names: Iterable<string> = [],
    readonly listable = true,
  ) {
    super(names);
  }
}

function unknownProfiles(devices: Entry[], known: KnownProfiles): RawIssue[] {
  const ids = new Set(known.keys());
  return devices.flatMap(({ index, fields }) => {
    const profile = text(fields.profile);
    if (profile === undefined) return [];
    if (!ids.has(profile)) return [{ path: ['devices', index, 'profile'], message: `unknown profile "${profile}"${didYouMean(profile, ids)} (profiles live in hardware/profiles)` }];
    const names = known instanceof Map ? known.get(profile) : undefined;
    const mbusDevice = protocolOf(fields) === 'mbus';
    if (names !== undefined && mbusDevice !== names instanceof MbusPointNames) {
      const what = mbusDevice ? 'a Modbus profile, not an M-Bus meter profile (hardware/profiles/mbus)' : 'an M-Bus meter profile: set protocol: mbus on this device, or name a Modbus profile';
      return [{ path: ['devices', index, 'profile'], message: `profile "${profile}" is ${what}` }];
    }
    const points = names instanceof Set ? (names as Set<string>) : names ? new Set<string>(names) : undefined;
    return points ? [...unknownPoints(fields, index, 'points', profile, points), ...unknownPoints(fields, index, 'writable', profile, points)] : [];
  });
}

/** A misspelt point would silently never be read (or, for writable, never be writable). */
function unknownPoints(fields: Record<string, unknown>, index: number, list: 'points' | 'writable', profile: string, points: Set<string>): RawIssue[] {
  const names = Array.isArray(fields[list]) ? (fields[list] as unknown[]) : [];
  return names.flatMap((name, i) =>
    typeof name !== 'string' || points.has(name) ? [] : [{ path: ['devices', index, list, i], message: `profile "${profile}" has no point "${name}"${didYouMean(name, points)}` }],
  );
}

/** All cross-reference problems in (possibly invalid) config data. Profiles are checked only when known ones are given. */
export function crossCheck(data: unknown, knownProfiles?: KnownProfiles): RawIssue[] {
  const buses = entries(data, 'buses');
  const devices = entries(data, 'devices');
  const busIds = new Set(buses.flatMap(({ fields }) => text(fields.id) ?? []));
  const deviceIds = new Set(devices.flatMap(({ fields }) => text(fields.id) ?? []));
  return [
    ...duplicateIds('buses', buses),
    ...duplicateIds('devices', devices),
    ...unknownBuses(devices, busIds),
    ...sharedUnits(devices),
    ...serialProtocolBuses(devices, buses),
    ...policyDeviceRefs(data, deviceIds),
    ...policyPointRefs(data, devices, knownProfiles),
    ...unknownPointSettings(devices, knownProfiles),
    ...(knownProfiles ? unknownProfiles(devices, knownProfiles) : []),
  ];
}
