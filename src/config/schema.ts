/**
 * The site configuration: ONE zod schema is the source of the TypeScript types, the validation and
 * the JSON Schema editors use (see jsonschema.ts). Every object is strict: an unknown key (a typo) is an error.
 */
import { z } from 'zod';
import { posix } from 'node:path';
import { brokerUrlFacts } from '../core/broker-url.js';
import { DATA_CLASSES, HEALTH_GROUPS, STATISTICS } from '../core/types.js';
import { SENML_UNITS } from '../core/units.js';
import { lineDeviceOptionsSchema } from '../drivers/serial/line/schema.js';
import { mbusDeviceOptionsSchema } from '../drivers/serial/mbus/schema.js';
import { isValidWindow } from '../core/duration.js';
import { isKnownTimeZone } from '../core/zone-table.js';
import { duration, pointQualitySchema } from '../core/schemas.js';

export { duration };

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, - and _ (it appears in MQTT topics)');

export const siteSchema = z.strictObject({
  id: id.describe('Site identifier, used in MQTT topics'),
  name: z.string().min(1).describe('Human-readable site name'),
  timezone: z
    .string()
    .refine((tz) => isKnownTimeZone(tz), 'unknown IANA time zone (e.g. Europe/Paris)')
    .default('Europe/Paris')
    .describe('IANA time zone; windows align to its wall clock'),
  clock: z
    .strictObject({
      trust: z
        .enum(['ntp', 'always'])
        .default('ntp')
        .describe('ntp: trust the clock once NTP-synchronised (boards without RTC); always: it is kept otherwise (RTC, container host)'),
      maxHeld: z
        .number()
        .int()
        .min(0)
        .max(1_000_000)
        .default(20_000)
        .describe('Readings held in memory until the clock is trusted; beyond, the oldest are discarded'),
    })
    .default({ trust: 'ntp', maxHeld: 20_000 })
    .describe('When the wall clock is right (docs/data-quality.md, Clock trust)'),
});

export const gatewaySchema = z.strictObject({
  id: id.describe('Gateway identifier, used in MQTT topics'),
});

const serialBusSchema = z.strictObject({
  id,
  type: z.literal('serial'),
  port: z.string().min(1).describe('Serial device, e.g. /dev/ttyUSB0'),
  baud: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  timeout: duration.default(1000).describe('Per-request answer timeout'),
  retries: z.number().int().min(0).max(5).default(1),
});

const tcpBusSchema = z.strictObject({
  id,
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  timeout: duration.default(1000).describe('Per-request answer timeout'),
  retries: z.number().int().min(0).max(5).default(1),
});

export const busSchema = z.discriminatedUnion('type', [serialBusSchema, tcpBusSchema]);

export const DEVICE_PROTOCOLS = ['modbus', 'tic', 'sdi12', 'line', 'mbus', 'flow'] as const;

const pointName = z.string().regex(/^[a-z0-9_]+$/, 'use lowercase letters, digits and _');

/** Refuses a list where two entries share a name (each names one point), at the later one. */
function uniqueNames(noun: string) {
  return (entries: readonly { name: string }[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" is already the name of an earlier ${noun}` });
      seen.add(e.name);
    });
  };
}

/** A device's quality overrides for one point: each given field replaces the profile's. */
export const pointQualityOverrideSchema = z.strictObject({
  ...pointQualitySchema.shape,
  range: z.tuple([z.number(), z.number()]).optional().describe('Physical range [min, max] on this site'),
});

export const ticOptionsSchema = z.strictObject({
  mode: z.enum(['auto', 'historique', 'standard']).default('auto').describe('historique: 1200 baud; standard: 9600 baud (both 7E1)'),
  labels: z.array(z.string().regex(/^[A-Z0-9+-]+$/, 'TIC labels are upper case, e.g. BASE, EAST, SINSTS')).min(1).optional()
    .describe('Labels kept as points; every known numeric label when absent'),
});

export const sdi12OptionsSchema = z.strictObject({
  address: z.string().regex(/^[0-9A-Za-z]$/, 'an SDI-12 address is one character: 0-9, A-Z or a-z'),
  crc: z.boolean().default(false).describe('Ask for CRC-checked replies (aMC!)'),
  values: z
    .array(
      z.strictObject({
        name: pointName,
        unit: z.enum(SENML_UNITS).optional(),
        class: z.enum(DATA_CLASSES),
        measure: z.enum(['gauge', 'counter']).default('gauge'),
        range: z.tuple([z.number(), z.number()]).optional(),
        rolloverAt: z.number().positive().optional().describe('Counters: the value at which the index reads 0 again'),
      }),
    )
    .min(1)
    // Two values of one name would be one point twice: the gateway refuses that at start.
    .superRefine(uniqueNames('value'))
    .describe('Names of the values aD0!... returns, in order'),
});

/**
 * A virtual device: values computed by Node-RED flows enter the pipeline as its points, through the
 * bridge (src/bridge). Each point is declared like a sensor's, so it gets the same checks and policy.
 */
export const flowDeviceOptionsSchema = z.strictObject({
  points: z
    .array(
      z.strictObject({
        name: pointName,
        unit: z.enum(SENML_UNITS).optional(),
        class: z.enum(DATA_CLASSES),
        measure: z.enum(['gauge', 'counter']).default('gauge'),
        range: z.tuple([z.number(), z.number()]).optional().describe('Physical range [min, max]: a value outside is marked bad (range)'),
      }),
    )
    .min(1)
    .superRefine(uniqueNames('point'))
    .describe('Points the flows may send; any other point name is refused by the bridge'),
});

export const deviceSchema = z
  .strictObject({
    id,
    bus: id.optional().describe('id of a bus in buses; none for a flow device'),
    protocol: z.enum(DEVICE_PROTOCOLS).default('modbus'),
    unit: z.number().int().min(0).max(255).optional().describe('Modbus unit (slave) id'),
    profile: z.string().min(1).optional().describe('Modbus: profile id from hardware/profiles; M-Bus: from hardware/profiles/mbus'),
    poll: duration.default(10_000).describe('Poll interval (Modbus, SDI-12); TIC and line devices push'),
    points: z.array(z.string().min(1)).min(1).optional().describe('Points to read; all of the profile when absent'),
    writable: z.array(z.string().min(1)).default([]).describe('Points that may be written; nothing else is ever written'),
    quality: z
      .record(pointName, pointQualityOverrideSchema)
      .default({})
      .describe('Per point: quality settings that replace the profile ones (docs/data-quality.md)'),
    pointPoll: z.record(z.string(), duration).default({}).describe('Poll interval per point name, overriding poll'),
    timeout: duration.optional().describe('Answer timeout for this device; the bus timeout when absent'),
    retries: z.number().int().min(0).max(5).optional().describe('Retries after a timeout or CRC error; the bus setting when absent'),
    tic: ticOptionsSchema.optional(),
    sdi12: sdi12OptionsSchema.optional(),
    line: lineDeviceOptionsSchema.optional(),
    mbus: mbusDeviceOptionsSchema.optional().describe('M-Bus meter: primary address or secondary address'),
    flow: flowDeviceOptionsSchema.optional().describe('Virtual device fed by Node-RED flows through the bridge (docs/node-red-bridge.md)'),
  })
  .superRefine((d, ctx) => {
    const need = (key: 'unit' | 'profile' | 'sdi12' | 'line' | 'mbus' | 'flow' | 'bus', why: string) => {
      if (d[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is required ${why}` });
    };
    const forbid = (key: 'unit' | 'profile' | 'tic' | 'sdi12' | 'line' | 'mbus' | 'flow' | 'bus') => {
      if (d[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} does not apply to a ${d.protocol} device` });
    };
    for (const name of Object.keys(d.pointPoll)) {
      if (d.points && !d.points.includes(name))
        ctx.addIssue({ code: 'custom', path: ['pointPoll', name], message: `"${name}" is not one of this device's points` });
    }
    if (d.protocol === 'modbus') {
      need('unit', 'for a Modbus device');
      need('profile', 'for a Modbus device');
    } else {
      forbid('unit');
      if (d.protocol !== 'mbus') forbid('profile');
      if (d.writable.length > 0) ctx.addIssue({ code: 'custom', path: ['writable'], message: `a ${d.protocol} device has nothing to write` });
      if (Object.keys(d.pointPoll).length > 0)
        ctx.addIssue({ code: 'custom', path: ['pointPoll'], message: `pointPoll applies to Modbus devices only: a ${d.protocol} device reads all its points together` });
    }
    if (d.protocol !== 'tic') forbid('tic');
    if (d.protocol === 'sdi12') need('sdi12', 'for an SDI-12 device (address and values)');
    else forbid('sdi12');
    if (d.protocol === 'line') {
      need('line', 'for a line device (pattern or separators, fields)');
      // Without fields nothing has a data class: every value would be read, stored and never summarised.
      if (d.line && d.line.fields === undefined)
        ctx.addIssue({ code: 'custom', path: ['line'], message: 'list the fields to keep under line.fields, each with its class (`passerelle decode --protocol line` shows what the device sends)' });
    }
    else forbid('line');
    if (d.protocol === 'mbus') {
      need('mbus', 'for an M-Bus meter (address or secondary)');
      need('profile', 'for an M-Bus meter (hardware/profiles/mbus, or mbus-generic)');
      if (d.profile === 'mbus-generic' && !d.points) ctx.addIssue({ code: 'custom', path: ['points'], message: 'the generic M-Bus profile reads the points listed here (passerelle read --mbus shows their names)' });
    } else forbid('mbus');
    if (d.protocol === 'flow') {
      need('flow', 'for a flow device (its declared points)');
      forbid('bus');
      if (d.points) ctx.addIssue({ code: 'custom', path: ['points'], message: 'a flow device declares its points under flow.points' });
    } else {
      forbid('flow');
      need('bus', `for a ${d.protocol} device`);
    }
  });

export const aggregationSchema = z.strictObject({
  window: duration
    .default(300_000)
    .refine(isValidWindow, 'the window must divide a day evenly (e.g. 10s, 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d)')
    .describe('Window length; windows align to the wall clock'),
});

export const storeSchema = z.strictObject({
  path: z.string().min(1).describe('SQLite database file'),
  keyFile: z.string().min(1).describe('256-bit key file, mode 0600; created on first start'),
  cipher: z
    .enum(['chacha20', 'sqlcipher'])
    .default('chacha20')
    .describe('Authenticated ciphers only; chacha20 suits ARM boards without AES instructions'),
  retention: z
    .partialRecord(z.enum(DATA_CLASSES), duration)
    .default({})
    .describe('Raw reading retention per data class (default 7d)'),
  deliveredGrace: duration.default(604_800_000).describe('How long delivered summaries stay as the local audit trail'),
  commitInterval: duration
    .default(300_000)
    .refine((ms) => ms >= 1000 && ms <= 3_600_000, 'between 1s and 1h')
    .describe('Longest wait of raw readings in memory before a commit to flash (SD card wear); they are also committed with each window that closes. A power cut loses at most the readings of one interval'),
  maxBytes: z.number().int().min(1_048_576).default(536_870_912).describe('Store size cap in bytes; at the cap the oldest raw readings are dropped first'),
  maxOutboxBytes: z
    .number()
    .int()
    .min(65_536)
    .default(67_108_864)
    .describe('Second cap, undelivered summaries alone; beyond it the oldest undelivered summary is dropped (counted)'),
});

export const uplinkSchema = z.strictObject({
  broker: z
    .string()
    .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'write a broker URL such as mqtts://broker.example:8883')
    .optional()
    .describe('Broker URL; absent in the demo, where an embedded broker is started'),
  usernameFile: z.string().optional(),
  passwordFile: z.string().optional().describe('File holding the password (never in this config)'),
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  topicPrefix: z.string().regex(/^[^#+\s]+$/, 'no MQTT wildcards or spaces').default('passerelle'),
  format: z.enum(['senml-json', 'senml-cbor']).default('senml-json'),
  clientId: z.string().optional(),
  protocolVersion: z
    .union([z.literal(4), z.literal(5)])
    .default(5)
    .describe('MQTT 5 (falls back to 3.1.1 once if the broker refuses it), or 4 for 3.1.1 only'),
  maxInFlight: z.number().int().min(1).max(16).default(4).describe('Publishes awaiting PUBACK at once'),
  maxMessagesPerSecond: z
    .number()
    .positive()
    .max(10_000)
    .default(300)
    .describe('Drain rate bound after an outage, so a fleet coming back does not flood the broker'),
  maxMessageBytes: z
    .number()
    .int()
    .min(1024)
    .max(262_144)
    .default(16_384)
    .describe('Summaries larger than this are split into several messages (a point is never split)'),
  allowPlaintext: z
    .boolean()
    .default(false)
    .describe('Accept mqtt:// or ws:// (no TLS) to a broker off this machine: password and data travel in clear'),
}).superRefine(checkBrokerTransport);

/** Values a former release accepted, with why they are refused now (said instead of a did-you-mean). */
export const RETIRED_VALUES: Readonly<Record<string, string>> = {
  aes256cbc:
    'aes256cbc is not authenticated (a page changed on the card goes undetected) and is no longer offered; ' +
    'use chacha20 (the default) or sqlcipher, both authenticated (docs/store.md)',
};

/** TLS unless the broker is on this machine or the config says otherwise; no secret in the URL. */
function checkBrokerTransport(uplink: { broker?: string; allowPlaintext: boolean; caFile?: string; certFile?: string; keyFile?: string }, ctx: z.RefinementCtx): void {
  const facts = uplink.broker === undefined ? undefined : brokerUrlFacts(uplink.broker);
  if (!facts) return;
  if (facts.credentials) {
    ctx.addIssue({
      code: 'custom',
      path: ['broker'],
      params: { secret: true },
      message: 'no user name or password in the broker URL (they would reach logs); use usernameFile and passwordFile',
    });
  }
  if (facts.tls) return;
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    if (uplink[field] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs a TLS broker URL: ${facts.scheme}:// does not use TLS; write mqtts://${facts.host}:8883` });
    }
  }
  if (!facts.loopback && !uplink.allowPlaintext) {
    ctx.addIssue({
      code: 'custom',
      path: ['broker'],
      message: `${facts.scheme}:// sends the password and every summary in clear to ${facts.host}; write mqtts://${facts.host}:8883 (TLS), or set allowPlaintext: true for a broker on a network you trust`,
    });
  }
}

export const policyRuleSchema = z.strictObject({
  match: z.string().min(1).describe('device.point glob, e.g. meter-main.* or *.temperature'),
  statistics: z.array(z.enum(STATISTICS)).min(1).describe('Statistics that may leave the site'),
});

export const policySchema = z.strictObject({
  allow: z.array(policyRuleSchema).default([]).describe('Nothing leaves unless a rule allows it'),
  minCount: z
    .partialRecord(z.enum(DATA_CLASSES), z.number().int().min(0))
    .default({})
    .describe('Per class (e.g. occupancy: 5): a gauge sends its values only when all reach the threshold, a counter only its delta at or above it (never its index); counts still go'),
  health: z
    .array(z.enum(HEALTH_GROUPS))
    .default([])
    .describe('Health figures sent once per window: buses, store, drops, clock (none by default); without drops, drop counts stay local'),
});

export const remoteSchema = z.strictObject({
  stateDir: z.string().min(1).describe('Where pushed configs are staged (two slots) with the state file, e.g. /var/lib/passerelle/cfg'),
  trustFile: z.string().min(1).describe('Trust file installed with the gateway (docs/remote-config.md); later versions arrive signed'),
  topicPrefix: z.string().regex(/^[^#+\s]+$/, 'no MQTT wildcards or spaces').default('pas/v1').describe('Config topics are PREFIX/gw/GATEWAY/cfg/...'),
  maxBundleBytes: z.number().int().min(4096).max(1_048_576).default(262_144).describe('Larger publishes are refused by the client before any parsing'),
  headMaxAge: duration.default(93_600_000).describe('A head older than this is reported stale-head (a withheld update)'),
});

/** Loopback hosts: the editor there is reached only from this machine (or an SSH tunnel). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Who starts Node-RED: the gateway, as its child; or systemd, as the packaged passerelle-nodered.service. */
export const NODERED_SUPERVISORS = ['gateway', 'systemd'] as const;
/** Defaults of `dir` and `socket` when the gateway starts Node-RED itself. */
const GATEWAY_NODERED_PATHS = { dir: '/var/lib/passerelle/nodered', socket: '/var/lib/passerelle/nodered/bridge.sock' } as const;
/**
 * What deploy/passerelle-nodered.service is written for: its state directory, the gateway's runtime
 * directory for the bridge socket (the flows user can reach it; not the gateway's 0700 state directory)
 * and its User=. A site with `supervisor: systemd` must agree with the unit (check says where not).
 */
export const SYSTEMD_NODERED = {
  dir: '/var/lib/passerelle-flows',
  socketDir: '/run/passerelle',
  socket: '/run/passerelle/bridge.sock',
  runAs: 'passerelle-flows',
  /** The heap its MemoryHigh/MemoryMax are sized for; a larger maxOldSpaceMB needs a drop-in (check warns). */
  unitHeapMB: 256,
} as const;

export const noderedSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Start Node-RED with the gateway (docs/node-red.md); false keeps the section but starts nothing'),
    supervisor: z
      .enum(NODERED_SUPERVISORS)
      .default('gateway')
      .describe('gateway: the gateway runs Node-RED as its child; systemd: the packaged passerelle-nodered.service runs it as passerelle-flows and the gateway only hosts the bridge socket'),
    dir: z
      .string()
      .min(1)
      .optional()
      .describe('Node-RED state: generated settings, admin password hash, credential key; flows and credentials in its user/ folder (default /var/lib/passerelle/nodered; /var/lib/passerelle-flows with supervisor: systemd)'),
    socket: z
      .string()
      .min(1)
      .optional()
      .describe('Unix socket of the gateway bridge the Passerelle nodes connect to, mode 0660 (default /var/lib/passerelle/nodered/bridge.sock; /run/passerelle/bridge.sock with supervisor: systemd)'),
    socketGroup: z.string().min(1).optional().describe('Group of the bridge socket: the flows user must be in it'),
    host: z.string().min(1).default('127.0.0.1').describe('Address the editor listens on; anything but loopback needs tls'),
    port: z.number().int().min(1).max(65535).default(1880),
    tls: z
      .strictObject({
        certFile: z.string().min(1).describe('Certificate (PEM) of the editor'),
        keyFile: z.string().min(1).describe('Its private key (PEM), readable by the flows user only'),
      })
      .optional()
      .describe('HTTPS for the editor; required to listen on the LAN'),
    user: z.string().min(1).default('admin').describe('Editor login name; its password is set with passerelle nodered passwd'),
    runAs: z
      .string()
      .min(1)
      .default('passerelle-flows')
      .describe('Unprivileged system user Node-RED runs as when the gateway runs as root (no access to serial ports, store or keys)'),
    maxOldSpaceMB: z.number().int().min(64).max(4096).default(256).describe('Heap cap of the Node-RED process (MB); 256 suits a 1 GB board'),
  })
  .superRefine((n, ctx) => {
    if (!LOOPBACK_HOSTS.has(n.host) && !n.tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: `the editor on ${n.host} would be reachable from the network without TLS (passwords and flows in clear); add tls: {certFile, keyFile} or keep host: 127.0.0.1`,
      });
    }
    if (n.supervisor === 'systemd') checkSystemdNodered(n, ctx);
  })
  .transform((n) => {
    const defaults = n.supervisor === 'systemd' ? SYSTEMD_NODERED : GATEWAY_NODERED_PATHS;
    return { ...n, dir: n.dir ?? defaults.dir, socket: n.socket ?? defaults.socket };
  });

/** passerelle-nodered.service runs Node-RED as one user, from one directory, next to one socket: a site must agree. */
function checkSystemdNodered(n: { dir?: string; socket?: string; runAs: string }, ctx: z.RefinementCtx): void {
  const unit = 'the packaged unit passerelle-nodered.service';
  if (n.runAs !== SYSTEMD_NODERED.runAs)
    ctx.addIssue({ code: 'custom', path: ['runAs'], message: `with supervisor: systemd, ${unit} runs Node-RED as ${SYSTEMD_NODERED.runAs}, not ${n.runAs}; leave runAs out` });
  if (n.dir !== undefined && posix.normalize(n.dir).replace(/\/$/, '') !== SYSTEMD_NODERED.dir)
    ctx.addIssue({ code: 'custom', path: ['dir'], message: `with supervisor: systemd, ${unit} keeps Node-RED's files in ${SYSTEMD_NODERED.dir} (the only place its user may write); leave dir out` });
  if (n.socket !== undefined && posix.dirname(posix.normalize(n.socket)) !== SYSTEMD_NODERED.socketDir)
    ctx.addIssue({
      code: 'custom',
      path: ['socket'],
      message: `with supervisor: systemd, the bridge socket must be in ${SYSTEMD_NODERED.socketDir} (the gateway's runtime directory, which the flows user can reach; it cannot enter the gateway's state directory); leave socket out`,
    });
}
/** The live status page (src/status): on this machine by default; on the LAN only with TLS and a login. */
export const statusSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'write HOST:PORT, e.g. 127.0.0.1:8780')
      .default('127.0.0.1:8780')
      .describe('HOST:PORT the page listens on; off this machine (e.g. 0.0.0.0:8443) it needs tlsCertFile, tlsKeyFile and auth'),
    tlsCertFile: z.string().min(1).optional().describe('PEM certificate (chain) of the page, for a LAN listener'),
    tlsKeyFile: z.string().min(1).optional().describe('PEM private key, mode 0600'),
    auth: z
      .strictObject({
        passwordHashFile: z
          .string()
          .min(1)
          .describe('File holding the admin password as a bcrypt hash, mode 0600 (the Node-RED editor\'s admin credential file); no default password'),
        maxFailuresPerIp: z.number().int().min(1).max(100).default(5).describe('Failed logins per address per quarter hour; beyond, 429'),
      })
      .optional()
      .describe('Login for the page; required off this machine'),
    maxClients: z.number().int().min(1).max(32).default(4).describe('Live pages open at once; beyond, 503'),
  })
  .superRefine(checkStatusExposure);

const STATUS_LOOPBACK_LISTEN = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** Off this machine, the page needs TLS and a login: its content says what the building consumes and when. */
function checkStatusExposure(status: { listen: string; tlsCertFile?: string; tlsKeyFile?: string; auth?: unknown }, ctx: z.RefinementCtx): void {
  const host = status.listen.slice(0, status.listen.lastIndexOf(':'));
  const port = Number(status.listen.slice(status.listen.lastIndexOf(':') + 1));
  if (!(port >= 1 && port <= 65535)) ctx.addIssue({ code: 'custom', path: ['listen'], message: `port ${port} is not 1..65535` });
  if ((status.tlsCertFile === undefined) !== (status.tlsKeyFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: [status.tlsCertFile === undefined ? 'tlsKeyFile' : 'tlsCertFile'], message: 'tlsCertFile and tlsKeyFile go together' });
  }
  if (STATUS_LOOPBACK_LISTEN.test(host)) return;
  if (status.tlsCertFile === undefined || status.tlsKeyFile === undefined) {
    ctx.addIssue({ code: 'custom', path: ['listen'], message: `${host} is reachable from the network: the page needs TLS there (tlsCertFile, tlsKeyFile), or listen on 127.0.0.1` });
  }
  if (status.auth === undefined) {
    ctx.addIssue({ code: 'custom', path: ['listen'], message: `${host} is reachable from the network: the page needs a login there (auth.passwordHashFile), or listen on 127.0.0.1` });
  }
}

export const configSchema = z.strictObject({
  site: siteSchema,
  gateway: gatewaySchema,
  buses: z.array(busSchema).default([]),
  devices: z.array(deviceSchema).default([]),
  aggregation: aggregationSchema.prefault({}),
  store: storeSchema,
  uplink: uplinkSchema.prefault({}),
  policy: policySchema.prefault({}),
  remote: remoteSchema.optional().describe('Signed remote configuration pushes over MQTT (docs/remote-config.md); off when absent'),
  profiles: z
    .array(z.string().min(1))
    .max(16)
    .default([])
    .describe('Folders of site-local Modbus profiles (*.yaml) that add to the shipped library, e.g. /etc/passerelle/profiles; relative to this file'),
  nodered: noderedSchema.optional().describe('Node-RED editor and flows in a supervised child process (docs/node-red.md); off when absent'),
  status: statusSchema.optional().describe('Live status page (127.0.0.1 by default); off when absent'),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type BusConfig = Config['buses'][number];
export type DeviceConfig = Config['devices'][number];
export type UplinkConfig = Config['uplink'];
export type StoreConfig = Config['store'];
export type PolicyConfig = Config['policy'];
export type RemoteConfig = NonNullable<Config['remote']>;
export type NoderedConfig = NonNullable<Config['nodered']>;
export type StatusConfig = NonNullable<Config['status']>;

/** A device of one protocol, with the fields the schema guarantees for it. */
/** Every protocol but flow has a bus (the schema requires it). */
export type ModbusDeviceConfig = DeviceConfig & { protocol: 'modbus'; bus: string; unit: number; profile: string };
export type TicDeviceConfig = DeviceConfig & { protocol: 'tic'; bus: string };
export type Sdi12DeviceConfig = DeviceConfig & { protocol: 'sdi12'; bus: string; sdi12: NonNullable<DeviceConfig['sdi12']> };
export type LineDeviceConfig = DeviceConfig & { protocol: 'line'; bus: string; line: NonNullable<DeviceConfig['line']> };
export type MbusDeviceConfig = DeviceConfig & { protocol: 'mbus'; bus: string; profile: string; mbus: NonNullable<DeviceConfig['mbus']> };
export type FlowDeviceConfig = DeviceConfig & { protocol: 'flow'; flow: NonNullable<DeviceConfig['flow']> };

export { isModbusDevice, modbusDevices, isFlowDevice, isSerialProtocolDevice, serialProtocolBusIds } from './devices.js';
