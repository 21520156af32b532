/**
 * `npm run bench -- uplink [--days N]`: what the uplink costs the authority's broker for the demo site.
 *
 * 1. Bytes per day per point at the broker: the demo site's devices, poll intervals and policy
 *    (config/demo.yaml), values from the device simulators, aggregated by the real pipeline into
 *    5-minute windows (the production default; the demo's 10 s window is for watching and is shown too),
 *    encoded by the real uplink. Counted: MQTT PUBLISH packets as the broker receives them (fixed header,
 *    topic, packet id, MQTT 5 property length, payload) plus the 4-byte PUBACK for QoS 1; computed from
 *    the payloads, checked against the bytes a TCP proxy relays during the drain below.
 *    Baseline: every raw reading as `{"device","point","value","ts"}` JSON on its own topic, QoS 0
 *    (what a Node-RED or Telegraf flow publishing each poll does).
 * 2. JSON next to CBOR, same windows.
 * 3. A week of offline summaries (2016 five-minute windows of the demo site, encrypted store) drained
 *    to a loopback mosquitto with the uplink's default rate bound; lost = enqueued - distinct ids received.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { loadConfigFile, type Config } from '../src/config/index.js';
import { silentLogger } from '../src/core/logger.js';
import type { OutboxMessage } from '../src/core/outbox.js';
import type { PointInfo, Reading, WindowSummary } from '../src/core/types.js';
import { Aggregator } from '../src/pipeline/aggregator.js';
import { loadProfiles } from '../src/profiles/index.js';
import { createRegisterBank, type RegisterBank } from '../src/sim/register-bank.js';
import { Store } from '../src/store/store.js';
import { buildHealthMessages, buildOutboxMessages, DEFAULT_MAX_MESSAGES_PER_SECOND, healthTopic, MqttUplink, summaryTopic } from '../src/uplink/mqtt-uplink.js';
import { decodeSenml, type SenmlFormat } from '../src/uplink/senml.js';
import { startMosquitto } from '../tests/helpers/brokers.js';
import { startTcpProxy } from '../tests/uplink/tcp-proxy.js';
import { printResult, printTable, round3 } from './lib/report.js';

const DAY_MS = 86_400_000;
const PRODUCTION_WINDOW_MS = 300_000;
const WEEK_WINDOWS = 7 * 288;
const PUBACK_BYTES = 4;

interface DemoPoint extends PointInfo {
  readonly pollMs: number;
  readonly bank: RegisterBank;
}

export async function run(args: string[]): Promise<void> {
  const days = Number(args[args.indexOf('--days') + 1]) || 1;
  const config = await demoConfig();
  const points = demoPoints(config);
  const start = Date.UTC(2024, 5, 3, 22); // local midnight in Paris: whole local days
  const rows = [];
  const figures: Record<string, number> = {};
  for (const windowMs of [PRODUCTION_WINDOW_MS, config.aggregation.window]) {
    const summaries = aggregate(config, points, windowMs, start, days);
    const raw = rawBytesPerDay(config, points, start, days);
    for (const format of ['senml-json', 'senml-cbor'] as const) {
      const messages = summaries.flatMap((s) => encode(config, s, format));
      const perDay = wireBytes(messages, 5, true) / days / points.length;
      const health = summaries.flatMap((s) => healthOf(config, s, format));
      const withHealth = perDay + wireBytes(health, 5, true) / days / points.length;
      rows.push({
        window: `${windowMs / 1000} s`, format, messagesPerDay: messages.length / days, 'bytes/day/point': perDay,
        'with health': withHealth, 'raw JSON bytes/day/point': raw / points.length, 'raw / summary': raw / points.length / perDay,
        'raw / (summary+health)': raw / points.length / withHealth,
      });
      figures[`${windowMs}:${format}`] = perDay;
      figures[`${windowMs}:${format}:health`] = withHealth;
    }
    figures[`${windowMs}:raw`] = raw / points.length;
  }
  printTable(rows);

  const drain = await drainWeek(config, points, start);
  process.stdout.write(`\nweek backlog: ${WEEK_WINDOWS} messages (${drain.bytes} payload bytes) drained in ${drain.seconds.toFixed(2)} s at maxMessagesPerSecond=${DEFAULT_MAX_MESSAGES_PER_SECOND}; proxy saw ${drain.proxyBytes} bytes client->broker, computed ${drain.computedBytes}\n`);
  printResult('uplink', {
    rawOverSummaryBytes: round3(figures[`${PRODUCTION_WINDOW_MS}:raw`]! / figures[`${PRODUCTION_WINDOW_MS}:senml-json`]!),
    rawOverSummaryWithHealth: round3(figures[`${PRODUCTION_WINDOW_MS}:raw`]! / figures[`${PRODUCTION_WINDOW_MS}:senml-json:health`]!),
    jsonOverCbor: round3(figures[`${PRODUCTION_WINDOW_MS}:senml-json`]! / figures[`${PRODUCTION_WINDOW_MS}:senml-cbor`]!),
    weekBacklogDrainS: round3(drain.seconds),
    lost: drain.lost,
  });
}

async function demoConfig(): Promise<Config> {
  const result = await loadConfigFile(join(import.meta.dirname, '../config/demo.yaml'));
  if (!result.ok) throw new Error(`config/demo.yaml: ${JSON.stringify(result.errors)}`);
  return result.config;
}

/** The demo's polled points with the simulator bank that produces their values. */
function demoPoints(config: Config): DemoPoint[] {
  const profiles = loadProfiles();
  return config.devices.flatMap((device, i) => {
    const profile = profiles.get(device.profile!)!;
    const bank = createRegisterBank(profile, { seed: i + 1 });
    return profile.points
      .filter((p) => device.points?.includes(p.name) ?? true)
      .map((p) => ({
        device: device.id, point: p.name, dataClass: p.class, measure: p.measure, pollMs: device.poll, bank,
        ...(p.unit !== undefined && { unit: p.unit }), ...(p.range && { range: p.range }),
      }));
  });
}

function readingsAt(points: readonly DemoPoint[], ts: number): Reading[] {
  return points
    .filter((p) => (ts % p.pollMs) === 0)
    .map((p) => ({ device: p.device, point: p.point, ts, value: p.bank.expectedValue(p.point, ts), quality: 'good' as const }));
}

/** The real aggregator over `days` of polls (every poll good). */
function aggregate(config: Config, points: readonly DemoPoint[], windowMs: number, start: number, days: number): WindowSummary[] {
  const aggregator = new Aggregator({
    site: config.site.id, gateway: config.gateway.id, windowMs, timeZone: config.site.timezone, points,
    expectedPerWindow: (key) => windowMs / points.find((p) => `${p.device}.${p.point}` === key)!.pollMs,
  });
  const step = Math.min(...points.map((p) => p.pollMs));
  const summaries: WindowSummary[] = [];
  for (let ts = start; ts < start + days * DAY_MS; ts += step) {
    aggregator.add(readingsAt(points, ts));
    if ((ts + step) % windowMs === 0) summaries.push(...aggregator.close(ts + step));
  }
  summaries.push(...aggregator.close(start + days * DAY_MS));
  return summaries;
}

function encode(config: Config, summary: WindowSummary, format: SenmlFormat): OutboxMessage[] {
  return buildOutboxMessages(summary, config.policy, format, summaryTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id));
}

/** The demo policy's health message for a healthy window: three buses answering every poll, nothing dropped. */
function healthOf(config: Config, summary: WindowSummary, format: SenmlFormat): OutboxMessage[] {
  const polls = (summary.end - summary.start) / 2000;
  const buses = Object.fromEntries(config.buses.map((b) => [b.id, { requests: polls, timeouts: 0, crc: 0, exceptions: 0 }]));
  const input = { site: config.site.id, gateway: config.gateway.id, start: summary.start, end: summary.end, buses, storeBytes: 50_000_000, outboxPending: 0, drops: { raw: 0, summaries: 0 }, clockSynced: true };
  return buildHealthMessages(input, config.policy, format, healthTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id));
}

/** Every poll of every point published as its own JSON message, QoS 0 (no packet id, no PUBACK). */
function rawBytesPerDay(config: Config, points: readonly DemoPoint[], start: number, days: number): number {
  let bytes = 0;
  const step = Math.min(...points.map((p) => p.pollMs));
  for (let ts = start; ts < start + days * DAY_MS; ts += step) {
    for (const r of readingsAt(points, ts)) {
      const topic = `${config.uplink.topicPrefix}/${config.site.id}/${config.gateway.id}/raw/${r.device}/${r.point}`;
      const payload = JSON.stringify({ device: r.device, point: r.point, value: r.value, ts: r.ts });
      bytes += publishPacketBytes(topic.length, Buffer.byteLength(payload), 0, 5);
    }
  }
  return bytes / days;
}

function wireBytes(messages: readonly OutboxMessage[], protocolVersion: 4 | 5, withPuback: boolean): number {
  return messages.reduce((n, m) => n + publishPacketBytes(Buffer.byteLength(m.topic), m.payload.length, 1, protocolVersion) + (withPuback ? PUBACK_BYTES : 0), 0);
}

/** MQTT PUBLISH size: fixed header byte + remaining-length varint + topic (2 + n) + packet id (QoS > 0) + v5 property length. */
function publishPacketBytes(topicBytes: number, payloadBytes: number, qos: 0 | 1, protocolVersion: 4 | 5): number {
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (protocolVersion === 5 ? 1 : 0) + payloadBytes;
  const varint = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + varint + remaining;
}

/** A week of the demo site's 5-minute summaries, enqueued offline into an encrypted store, drained to mosquitto. */
async function drainWeek(config: Config, points: readonly DemoPoint[], start: number) {
  const day = aggregate(config, points, PRODUCTION_WINDOW_MS, start, 1);
  const week = Array.from({ length: 7 }, (_, d) => day.map((s) => shift(s, d * DAY_MS))).flat();
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-bench-uplink-'));
  const broker = await startMosquitto();
  const proxy = await startTcpProxy(broker.port);
  const store = Store.open({ path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') });
  const received = new Set<string>();
  const subscriber = connect(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const messages = week.flatMap((s) => encode(config, s, config.uplink.format));
    for (const m of messages) store.enqueue(m);
    subscriber.on('message', (_t, payload) => received.add(decodeSenml(payload, config.uplink.format)[0]!.vs!));
    await subscriber.subscribeAsync(summaryTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id), { qos: 1 });
    const uplink = new MqttUplink({ url: proxy.url, site: config.site.id, gateway: config.gateway.id, topicPrefix: config.uplink.topicPrefix, outbox: store, logger: silentLogger() });
    const t0 = performance.now();
    await uplink.start();
    while (store.count() > 0 || received.size < messages.length) {
      if (performance.now() - t0 > 120_000) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - t0) / 1000;
    await uplink.stop();
    const sentIds = new Set(messages.map((m) => m.id));
    const summaryIds = [...received].filter((id) => sentIds.has(id));
    const proxyBytes = proxy.captured.reduce((n, c) => n + c.length, 0);
    return {
      seconds,
      lost: messages.length - summaryIds.length,
      bytes: messages.reduce((n, m) => n + m.payload.length, 0),
      computedBytes: wireBytes(messages, 5, true),
      proxyBytes,
    };
  } finally {
    await subscriber.endAsync(true);
    store.close();
    await proxy.close();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function shift(s: WindowSummary, byMs: number): WindowSummary {
  const start = s.start + byMs;
  return { ...s, id: `${s.site}:${s.gateway}:${start}`, start, end: s.end + byMs };
}
