/**
 * `npm start`: a small reference site on this machine. Simulated Modbus devices, an embedded broker
 * on 127.0.0.1:1883 when the config names none, and the gateway, printing one line per summary sent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modbusDevices, type Config } from '../config/schema.js';
import { createHumanLogger } from '../core/logger.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { WindowSummary } from '../core/types.js';
import { formatDuration } from '../core/duration.js';
import { loadDriverModules } from '../gateway/driver-modules.js';
import { Gateway, type GatewayEvent } from '../gateway/gateway.js';
import { packageRoot, type Profile } from '../profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../sim/modbus-tcp.js';
import { stopOnSignals } from '../gateway/lifecycle.js';
import { loadSite } from '../gateway/load-site.js';
import { startDemoBroker } from './broker.js';
import { describeSummary } from './summary-line.js';
import { demoSeedFile, prepareDemoNodeRed, type DemoNodeRed } from './nodered.js';

export const DEMO_BROKER = { host: '127.0.0.1', port: 1883 };

export async function demoCommand(configFile: string, logLevel: string): Promise<void> {
  const file = existsSync(configFile) ? configFile : join(packageRoot(), configFile);
  const { config, profiles } = await loadSite(file);
  await loadDriverModules(config);
  const logger = createHumanLogger(logLevel);
  const simulators = await startSimulators(config, profiles);
  const broker = config.uplink.broker ? undefined : await startDemoBroker(DEMO_BROKER.host, DEMO_BROKER.port);
  const pending = new Map<string, WindowSummary>();
  const gateway = new Gateway({
    noderedSeedFlows: config.nodered?.enabled ? demoSeedFile(config.nodered) : undefined,
    config,
    profiles,
    logger,
    brokerUrl: broker?.url,
    onEvent: (e) => printEvent(e, pending, config),
  });
  printBanner(config, simulators, broker, gateway);
  // After the banner: hashing the password takes a moment on a small board.
  const nodered = config.nodered?.enabled ? prepareDemoNodeRed(config.nodered, packageRoot()) : undefined;
  await gateway.start();
  if (nodered) printNodeRed(config, gateway, nodered);
  stopOnSignals(async () => {
    await gateway.stop();
    await Promise.all(simulators.map((s) => s.close()));
    await broker?.close();
    nodered?.forget();
    process.stdout.write(`stopped; unsent summaries stay in ${config.store.path}\n`);
  }, (msg) => process.stdout.write(`${msg}\n`));
}

async function startSimulators(config: Config, profiles: ReadonlyMap<string, Profile>): Promise<ModbusTcpSimulator[]> {
  const sims: ModbusTcpSimulator[] = [];
  for (const bus of config.buses) {
    if (bus.type !== 'tcp') continue;
    const devices = modbusDevices(config).filter((d) => d.bus === bus.id).map((d) => ({ unit: d.unit, profile: profiles.get(d.profile)! }));
    if (devices.length > 0) sims.push(await startModbusTcpSimulator({ host: bus.host, port: bus.port, devices }));
  }
  return sims;
}

function printBanner(config: Config, sims: ModbusTcpSimulator[], broker: Awaited<ReturnType<typeof startDemoBroker>> | undefined, gateway: Gateway): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`Passerelle demo: site ${config.site.id} (${config.site.name}), gateway ${config.gateway.id}`);
  for (const sim of sims) {
    const units = [...sim.banks.keys()].map((u) => `unit ${u}`).join(', ');
    const names = config.devices.filter((d) => config.buses.find((b) => b.id === d.bus && b.type === 'tcp' && b.port === sim.port)).map((d) => `${d.id} (${d.profile})`);
    out(`  simulator  ${sim.host}:${sim.port}  ${names.join(', ')}  [${units}]`);
  }
  const url = gateway.brokerUrl ?? '(none)';
  const how = broker ? (broker.embedded ? 'embedded aedes broker' : 'a broker already listening there') : 'configured broker';
  out(`  broker     ${url}  (${how})`);
  out(`  raw data   ${config.store.path}  (encrypted, ${config.store.cipher}; key in ${config.store.keyFile})`);
  if (!existsSync(config.store.keyFile)) out(`  first run: a new key file is created; the warning about it below is expected (a site backs its key up)`);
  out(`  watch it:  mosquitto_sub -h 127.0.0.1 -t '${config.uplink.topicPrefix}/#' -v`);
  if (gateway.statusUrl) out(`  status     ${gateway.statusUrl}  (live page: what is read, what left the building)`);
  out(`Summaries every ${formatDuration(config.aggregation.window)}; Ctrl-C stops.`);
}

function printNodeRed(config: Config, gateway: Gateway, nodered: DemoNodeRed): void {
  const state = gateway.noderedState();
  if (!state) return;
  if (state.reason) {
    process.stdout.write(`  Node-RED   not running: ${state.reason.replace(/^Node-RED not started: /, '')}\n`);
    return;
  }
  process.stdout.write(`  Node-RED   ${state.url}  user ${config.nodered!.user}, password ${nodered.password}  (this run only; starts in a few seconds)\n`);
}

/** Bounded: summaries whose messages were never published are forgotten after this many. */
const MAX_PENDING = 64;

function printEvent(e: GatewayEvent, pending: Map<string, WindowSummary>, config: Config): void {
  if (e.type === 'summary') {
    for (const m of e.messages) pending.set(m.id, e.summary);
    if (e.messages.length === 0) process.stdout.write(`${describeSummary(e.summary, undefined, config)}\n`);
    while (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value!);
    return;
  }
  const summary = pending.get(e.message.id);
  pending.delete(e.message.id);
  process.stdout.write(`${describeSummary(summary, { message: e.message, bytes: e.bytes }, config)}\n`);
}

export type PublishedInfo = { message: OutboxMessage; bytes: number };
