/**
 * The Node-RED side of the bridge: one connection per `passerelle-gateway` config node, newline-delimited
 * JSON (docs/node-red-bridge.md). Bounded like the gateway side: at most MAX_PENDING requests wait for a
 * reply (one more fails at once with BUSY), each waits at most timeoutMs, a reply line is at most
 * MAX_FRAME_BYTES. Reconnects by itself (backoff 0.5 s to 10 s) and subscribes again.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export const MAX_PENDING = 32;
export const MAX_FRAME_BYTES = 1_048_576;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export type ClientState = 'connecting' | 'connected' | 'disconnected';

export interface Subscription {
  readonly readings: boolean;
  readonly summaries: boolean;
  readonly match?: readonly string[];
}

export class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

interface Pending {
  resolve(reply: Record<string, unknown>): void;
  reject(e: BridgeError): void;
  timer: NodeJS.Timeout;
}

export class BridgeClient extends EventEmitter {
  private socket?: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private subscription?: Subscription;
  state: ClientState = 'disconnected';

  constructor(
    readonly path: string,
    private readonly timeoutMs = 10_000,
  ) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.failAll('E_BRIDGE_CLOSED', 'the node is stopping');
  }

  /** What this connection receives; sent now if connected, and again after every reconnect. */
  subscribe(sub: Subscription | undefined): void {
    this.subscription = sub;
    if (this.state === 'connected') this.sendSubscription();
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.state !== 'connected' || !this.socket) return Promise.reject(new BridgeError('E_BRIDGE_DOWN', `not connected to the gateway (${this.path})`));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new BridgeError('BUSY', `${MAX_PENDING} requests already wait for the gateway`));
    const id = this.nextId++;
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BridgeError('E_BRIDGE_TIMEOUT', `no reply from the gateway within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      socket.write(`${JSON.stringify({ ...message, id })}\n`);
    });
  }

  private open(): void {
    this.setState('connecting');
    const socket = connect(this.path);
    this.socket = socket;
    socket.on('connect', () => {
      this.retryMs = RETRY_MIN_MS;
      this.setState('connected');
      this.sendSubscription();
    });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => this.emit('problem', e.message));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.buffered = [];
      this.bufferedBytes = 0;
      this.failAll('E_BRIDGE_DOWN', 'the connection to the gateway closed');
      this.setState('disconnected');
      if (!this.stopped) this.retryTimer = setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  private sendSubscription(): void {
    const sub = this.subscription;
    const message = sub ? { op: 'subscribe', readings: sub.readings, summaries: sub.summaries, ...(sub.match ? { match: sub.match } : {}) } : { op: 'unsubscribe' };
    this.request(message).catch((e: BridgeError) => this.emit('problem', `subscription refused: ${e.message}`));
  }

  private receive(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      const line = Buffer.concat([...this.buffered, chunk.subarray(from, nl)]);
      this.buffered = [];
      this.bufferedBytes = 0;
      from = nl + 1;
      if (line.length > 0) this.handle(line);
    }
    const rest = chunk.subarray(from);
    this.bufferedBytes += rest.length;
    if (this.bufferedBytes > MAX_FRAME_BYTES) {
      this.emit('problem', `a message from the gateway is longer than ${MAX_FRAME_BYTES} bytes: reconnecting`);
      this.socket?.destroy();
      return;
    }
    if (rest.length > 0) this.buffered.push(Buffer.from(rest));
  }

  private handle(line: Buffer): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch {
      return void this.emit('problem', 'the gateway sent a line that is not JSON');
    }
    if (typeof message.event === 'string') return void this.emit('event', message);
    const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!pending) {
      if (message.ok === false) this.emit('problem', String(message.message));
      return;
    }
    this.pending.delete(message.id as number);
    clearTimeout(pending.timer);
    if (message.ok === true) pending.resolve(message);
    else pending.reject(new BridgeError(String(message.code), String(message.message)));
  }

  private failAll(code: string, why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new BridgeError(code, why));
      this.pending.delete(id);
    }
  }

  private setState(state: ClientState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }
}
