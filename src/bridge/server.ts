/**
 * The gateway side of the Node-RED bridge: a Unix socket server (mode 0660, group of the flows user)
 * speaking newline-delimited JSON (frame.ts, protocol.ts; docs/node-red-bridge.md).
 *
 * Bounds, and what happens at each:
 *  - maxClients connections: one more is told E_BRIDGE_CLIENTS and closed;
 *  - maxFrameBytes per message: a longer one is discarded and answered E_BRIDGE_TOO_LARGE;
 *  - maxInFlight requests per client: one more is answered BUSY at once;
 *  - maxBacklogBytes unsent per client: a client that does not read (a stuck flow) is disconnected,
 *    counted in stats().slowDisconnects and logged; its node reconnects and subscribes again;
 *  - virtual points: at most one value per point per minIntervalMs, faster ones answered E_BRIDGE_RATE
 *    (every value is a raw row on the SD card).
 */
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { PasserelleError, errorMessage, isPasserelleError } from '../core/errors.js';
import { compileGlob } from '../core/glob.js';
import type { Logger } from '../core/logger.js';
import { pointKey, type Reading, type WindowSummary } from '../core/types.js';
import { FrameReader, MAX_FRAME_BYTES, encodeFrame } from './frame.js';
import type { BridgeHost } from './host.js';
import { describeIssues, requestId, requestSchema, type BridgeReply, type BridgeRequest } from './protocol.js';

export interface BridgeLimits {
  readonly maxClients: number;
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly maxBacklogBytes: number;
  readonly minIntervalMs: number;
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = {
  maxClients: 8,
  maxFrameBytes: MAX_FRAME_BYTES,
  maxInFlight: 16,
  maxBacklogBytes: 262_144,
  minIntervalMs: 1000,
};

export interface BridgeOptions {
  readonly socketPath: string;
  /** Group (name or numeric id) given the socket, so the Node-RED user may connect. */
  readonly group?: string;
  readonly host: BridgeHost;
  readonly logger: Logger;
  readonly limits?: Partial<BridgeLimits>;
}

export interface BridgeStats {
  clients: number;
  requests: number;
  refused: number;
  busy: number;
  /** Longest time from a request's arrival to its BUSY answer (ms): a refusal never waits for the line. */
  busyMaxMs: number;
  slowDisconnects: number;
  events: number;
}

export interface Bridge {
  readonly path: string;
  stats(): BridgeStats;
  close(): Promise<void>;
}

interface Subscription {
  readonly readings: boolean;
  readonly summaries: boolean;
  readonly match?: ((key: string) => boolean)[];
}

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const limits = { ...DEFAULT_BRIDGE_LIMITS, ...opts.limits };
  removeStaleSocket(opts.socketPath);
  const server = createServer();
  const bridge = new BridgeServer(server, opts, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PasserelleError('E_BRIDGE_LISTEN', `the Node-RED bridge cannot listen on ${opts.socketPath}: ${errorMessage(e)}`, false, { cause: e })));
    server.listen(opts.socketPath, resolve);
  });
  // Before any client can matter: 0660 (umask 022 left it unwritable by others meanwhile), then the group.
  chmodSync(opts.socketPath, 0o660);
  if (opts.group !== undefined) chownSync(opts.socketPath, -1, groupId(opts.group));
  opts.logger.info({ socket: opts.socketPath, group: opts.group }, 'node-red bridge listening');
  return bridge;
}

/** A socket left by a killed gateway is removed; anything else at that path is not ours to delete. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new PasserelleError('E_BRIDGE_PATH', `${path} exists and is not a socket; choose another bridge socket path`);
  unlinkSync(path);
}

function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  const gid = line?.split(':')[2];
  if (gid === undefined || !/^\d+$/.test(gid)) throw new PasserelleError('E_BRIDGE_GROUP', `no group "${group}" on this system (see /etc/group)`);
  return Number(gid);
}

class BridgeServer implements Bridge {
  private readonly clients = new Set<Client>();
  private readonly counters = { requests: 0, refused: 0, busy: 0, busyMaxMs: 0, slowDisconnects: 0, events: 0 };
  /** Last accepted value time per virtual point (keys only for declared points: bounded). */
  private readonly lastVirtual = new Map<string, number>();
  private readonly unlisten: () => void;

  constructor(
    private readonly server: Server,
    private readonly opts: BridgeOptions,
    private readonly limits: BridgeLimits,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    this.unlisten = opts.host.listen({ readings: (r) => this.broadcastReadings(r), summary: (s) => this.broadcastSummary(s) });
  }

  get path(): string {
    return this.opts.socketPath;
  }

  stats(): BridgeStats {
    return { clients: this.clients.size, ...this.counters };
  }

  async close(): Promise<void> {
    this.unlisten();
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.clients.size >= this.limits.maxClients) {
      this.counters.refused++;
      socket.end(encodeFrame({ ok: false, code: 'E_BRIDGE_CLIENTS', message: `${this.limits.maxClients} flows clients are already connected` }));
      return;
    }
    const client = new Client(socket, this.limits.maxFrameBytes);
    this.clients.add(client);
    socket.on('data', (chunk: Buffer) => this.receive(client, chunk));
    socket.on('error', () => undefined); // a client going away is not a gateway error
    // One line per connection (Node-RED connects once per start): the journal shows that flows reached the gateway.
    this.opts.logger.info({ clients: this.clients.size }, 'node-red bridge client connected');
    socket.on('close', () => {
      if (this.clients.delete(client)) this.opts.logger.info({ clients: this.clients.size }, 'node-red bridge client disconnected');
    });
  }

  private receive(client: Client, chunk: Buffer): void {
    for (const frame of client.reader.push(chunk)) {
      if (!frame.ok) this.send(client, { ok: false, code: frame.code, message: frame.message });
      else void this.handle(client, frame.value);
    }
  }

  private async handle(client: Client, raw: Record<string, unknown>): Promise<void> {
    const arrived = performance.now();
    this.counters.requests++;
    const id = requestId(raw);
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) return this.send(client, { id, ok: false, code: 'E_BRIDGE_REQUEST', message: describeIssues(parsed.error) });
    if (client.inFlight >= this.limits.maxInFlight) {
      this.noteBusy(arrived);
      return this.send(client, { id, ok: false, code: 'BUSY', message: `${this.limits.maxInFlight} requests of this client are already waiting` });
    }
    client.inFlight++;
    try {
      this.send(client, { id, ok: true, ...(await this.run(client, parsed.data)) });
    } catch (e) {
      const code = busyCode(e);
      if (code === 'BUSY') this.noteBusy(arrived);
      this.send(client, { id, ok: false, code, message: errorMessage(e) });
    } finally {
      client.inFlight--;
    }
  }

  private noteBusy(arrived: number): void {
    this.counters.busy++;
    this.counters.busyMaxMs = Math.max(this.counters.busyMaxMs, Math.round(performance.now() - arrived));
  }

  private async run(client: Client, req: BridgeRequest): Promise<Record<string, unknown>> {
    const { host } = this.opts;
    switch (req.op) {
      case 'subscribe':
        client.subscription = { readings: req.readings, summaries: req.summaries, match: req.match?.map(compileGlob) };
        return {};
      case 'unsubscribe':
        client.subscription = undefined;
        return {};
      case 'read':
        return { ...(await host.readPoint(req.device, req.point)) };
      case 'read-registers':
        return { values: await host.readRegisters(req) };
      case 'write':
        await host.writePoint(req.device, req.point, req.value);
        return {};
      case 'point':
        return this.virtualPoint(req.device, req.point, req.value, req.ts ?? Date.now());
    }
  }

  private virtualPoint(device: string, point: string, value: number, ts: number): Record<string, unknown> {
    const key = pointKey(device, point);
    const last = this.lastVirtual.get(key);
    if (last !== undefined && ts - last < this.limits.minIntervalMs && ts >= last)
      throw new PasserelleError('E_BRIDGE_RATE', `${key}: at most one value every ${this.limits.minIntervalMs} ms; this one was not taken`);
    this.opts.host.virtualPoint(device, point, value, ts);
    this.lastVirtual.set(key, ts);
    return { ts };
  }

  private broadcastReadings(readings: readonly Reading[]): void {
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!sub?.readings) continue;
      for (const r of readings) {
        if (!matches(sub, r.device, r.point)) continue;
        this.event(client, { event: 'reading', device: r.device, point: r.point, ts: r.ts, value: r.value, quality: r.quality, ...(r.reason ? { reason: r.reason } : {}) });
      }
    }
  }

  private broadcastSummary(summary: WindowSummary): void {
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!sub?.summaries) continue;
      const points = summary.points.filter((p) => matches(sub, p.device, p.point));
      if (points.length > 0) this.event(client, { event: 'summary', id: summary.id, start: summary.start, end: summary.end, points });
    }
  }

  private event(client: Client, message: object): void {
    this.counters.events++;
    this.send(client, message);
  }

  private send(client: Client, message: BridgeReply | object): void {
    const { socket } = client;
    if (socket.destroyed) return;
    if (socket.writableLength > this.limits.maxBacklogBytes) {
      this.counters.slowDisconnects++;
      this.opts.logger.warn({ backlog: socket.writableLength, limit: this.limits.maxBacklogBytes }, 'node-red bridge client does not read its messages: disconnected');
      this.clients.delete(client);
      socket.destroy();
      return;
    }
    socket.write(encodeFrame(message));
  }
}

class Client {
  readonly reader: FrameReader;
  inFlight = 0;
  subscription?: Subscription;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
  ) {
    this.reader = new FrameReader(maxFrameBytes);
  }
}

const matches = (sub: Subscription, device: string, point: string): boolean => !sub.match || sub.match.some((m) => m(pointKey(device, point)));

/** A full bus queue, or the bridge's share of it, is BUSY to a flow; other errors keep their code. */
function busyCode(e: unknown): string {
  if (!isPasserelleError(e)) return 'E_BRIDGE_INTERNAL';
  return e.code === 'E_BUS_QUEUE_FULL' || e.code === 'BUSY' ? 'BUSY' : e.code;
}
