/**
 * Modbus TCP simulator: one listening socket serving several unit ids, each backed by a RegisterBank.
 *
 * A small MBAP server on `net` rather than modbus-serial's ServerTCP, because ServerTCP cannot listen on
 * port 0 (`options.port || 502`), keeps an unbounded receive buffer, and leaves write requests without a
 * handler unanswered instead of answering exception 1.
 *
 * Behaviour: function codes 1-4 are answered from the bank; any other gets exception 1 (illegal function);
 * an unknown unit id gets exception 11 (gateway target device failed to respond), as a TCP-to-RTU
 * gateway would. Replies wait the profile's turnaroundMs.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Profile, RegisterKind } from '../profiles/schema.js';
import { createRegisterBank, EXCEPTION, type RegisterBank } from './register-bank.js';

const MBAP_HEADER = 7; // transaction (2), protocol (2), length (2), unit (1)
/** Largest length field: unit id + the 253-byte maximum PDU. */
const MAX_LENGTH_FIELD = 254;
/** Requests waiting for their turnaround per connection; beyond it a request gets exception 6 (busy). */
const MAX_PENDING_PER_CONNECTION = 32;
const SERVER_BUSY = 6;
/** Open connections; beyond this Node closes new connections at once. */
const MAX_CONNECTIONS = 64;
const GATEWAY_TARGET_FAILED = 11;
/** Longest simulated turnaround, so a slow profile cannot stall tests and demos. */
const MAX_TURNAROUND_MS = 2000;

const KIND_BY_FUNCTION: Readonly<Record<number, RegisterKind>> = { 1: 'coil', 2: 'discrete', 3: 'holding', 4: 'input' };

export interface SimulatedDevice {
  unit: number;
  profile: Profile;
  seed?: number;
}

export interface ModbusTcpSimulatorOptions {
  host: string;
  /** 0 picks a free port; read the chosen one from the result. */
  port: number;
  devices: SimulatedDevice[];
  logger?: Logger;
}

export interface ModbusTcpSimulator {
  readonly host: string;
  readonly port: number;
  /** Register banks by unit id, for tests to compare served and decoded values. */
  readonly banks: Map<number, RegisterBank>;
  close(): Promise<void>;
}

/** Reply PDU for one request PDU (function code first). */
export function answerPdu(bank: RegisterBank | undefined, pdu: Buffer): Buffer {
  const fc = pdu[0] ?? 0;
  const exception = (code: number): Buffer => Buffer.from([(fc | 0x80) & 0xff, code]);
  if (!bank) return exception(GATEWAY_TARGET_FAILED);
  const kind = KIND_BY_FUNCTION[fc];
  if (!kind) return exception(EXCEPTION.illegalFunction);
  if (pdu.length !== 5) return exception(EXCEPTION.illegalValue);
  const result = bank.read(kind, pdu.readUInt16BE(1), pdu.readUInt16BE(3));
  if (!Array.isArray(result)) return exception(result.exception);
  return fc <= 2 ? bitsReply(fc, result) : registersReply(fc, result);
}

function registersReply(fc: number, words: readonly number[]): Buffer {
  const out = Buffer.alloc(2 + words.length * 2);
  out[0] = fc;
  out[1] = words.length * 2;
  words.forEach((w, i) => out.writeUInt16BE(w, 2 + i * 2));
  return out;
}

/** Coils and discrete inputs: packed 8 per byte, first bit in the least significant position. */
function bitsReply(fc: number, bits: readonly number[]): Buffer {
  const out = Buffer.alloc(2 + Math.ceil(bits.length / 8));
  out[0] = fc;
  out[1] = out.length - 2;
  bits.forEach((b, i) => {
    if (b) out[2 + (i >> 3)]! |= 1 << (i & 7);
  });
  return out;
}

function adu(transaction: number, unit: number, pdu: Buffer): Buffer {
  const header = Buffer.alloc(MBAP_HEADER);
  header.writeUInt16BE(transaction, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt16BE(pdu.length + 1, 4);
  header[6] = unit;
  return Buffer.concat([header, pdu]);
}

export async function startModbusTcpSimulator(opts: ModbusTcpSimulatorOptions): Promise<ModbusTcpSimulator> {
  const log = opts.logger ?? silentLogger();
  const banks = new Map<number, RegisterBank>();
  for (const d of opts.devices) {
    if (banks.has(d.unit)) throw new PasserelleError('E_SIM_UNIT', `unit ${d.unit} is simulated twice`);
    banks.set(d.unit, createRegisterBank(d.profile, { seed: d.seed ?? d.unit }));
  }
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((socket) => serveConnection(socket, { banks, log, timers }));
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await listen(server, opts.host, opts.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  log.info({ host: opts.host, port, units: [...banks.keys()] }, 'modbus tcp simulator listening');
  return {
    host: opts.host,
    port,
    banks,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) =>
      reject(new PasserelleError('E_SIM_LISTEN', `the simulator cannot listen on ${host}:${port}: ${e.message}`, false, { cause: e })),
    );
    server.listen(port, host, () => resolve());
  });
}

interface ConnectionContext {
  banks: Map<number, RegisterBank>;
  log: Logger;
  timers: Set<NodeJS.Timeout>;
}

/**
 * Frames are cut from the stream as soon as complete, so the kept remainder is always shorter than one
 * ADU (at most 7 + 254 bytes). A length field outside 2..254 means the stream cannot be resynchronised:
 * the connection is closed.
 */
function serveConnection(socket: Socket, ctx: ConnectionContext): void {
  let pending: Buffer = Buffer.alloc(0);
  let inFlight = 0;
  socket.on('error', (e) => ctx.log.debug({ err: e.message }, 'simulator socket error'));
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= MBAP_HEADER) {
      const length = pending.readUInt16BE(4);
      if (length < 2 || length > MAX_LENGTH_FIELD) {
        ctx.log.warn({ length }, 'malformed MBAP header; closing the connection');
        socket.destroy();
        return;
      }
      if (pending.length < 6 + length) break;
      const frame = pending.subarray(0, 6 + length);
      pending = pending.subarray(6 + length);
      if (frame.readUInt16BE(2) !== 0) continue; // not Modbus: silently ignored, as the spec asks
      const transaction = frame.readUInt16BE(0);
      const unit = frame[6]!;
      const bank = ctx.banks.get(unit);
      const pdu = frame.subarray(MBAP_HEADER);
      const send = (reply: Buffer): void => {
        if (!socket.destroyed) socket.write(adu(transaction, unit, reply));
      };
      if (inFlight >= MAX_PENDING_PER_CONNECTION) {
        send(Buffer.from([(pdu[0]! | 0x80) & 0xff, SERVER_BUSY]));
        continue;
      }
      const reply = answerPdu(bank, Buffer.from(pdu));
      const delay = Math.min(MAX_TURNAROUND_MS, bank?.profile.limits.turnaroundMs ?? 0);
      inFlight++;
      const timer = setTimeout(() => {
        ctx.timers.delete(timer);
        inFlight--;
        send(reply);
      }, delay);
      ctx.timers.add(timer);
    }
  });
}
