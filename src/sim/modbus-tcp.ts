/**
 * Modbus TCP simulator: one listening socket serving several unit ids, each backed by a RegisterBank.
 *
 * A small MBAP server on `net` rather than modbus-serial's ServerTCP, because ServerTCP cannot listen on
 * port 0 (`options.port || 502`), keeps an unbounded receive buffer, and leaves write requests without a
 * handler unanswered instead of answering exception 1.
 *
 * Behaviour: reads 1-4 and writes 5, 6, 15, 16 are answered from the bank (modbus-pdu.ts); any other function
 * gets exception 1 (illegal function); an unknown unit id gets exception 11 (gateway target device failed to
 * respond), as a TCP-to-RTU gateway would. Replies wait the profile's turnaroundMs. `faults` makes a unit
 * misbehave (faults.ts); `stats()` counts the function codes received per unit.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { createRegisterBank, type RegisterBank, type SimulatedDevice } from './register-bank.js';
import { createFaultControl, noise, processingDelayMs, staysSilent, type Fault, type FaultControl } from './faults.js';
import { answerPdu as answerBankPdu, createTraffic, exceptionPdu, snapshotTraffic, type SimulatorTraffic } from './modbus-pdu.js';

const MBAP_HEADER = 7; // transaction (2), protocol (2), length (2), unit (1)
/** Largest length field: unit id + the 253-byte maximum PDU. */
const MAX_LENGTH_FIELD = 254;
/** Requests waiting for their turnaround per connection; beyond it a request gets exception 6 (busy). */
const MAX_PENDING_PER_CONNECTION = 32;
const SERVER_BUSY = 6;
/** Open connections; beyond this Node closes new connections at once. */
const MAX_CONNECTIONS = 64;
const GATEWAY_TARGET_FAILED = 11;


export type { SimulatedDevice };

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
  /** Tell a unit to misbehave (see faults.ts). */
  readonly faults: FaultControl;
  /** Requests and function codes received, per unit (a copy). */
  stats(): SimulatorTraffic;
  /** TCP connections accepted since the start: a client that reconnects shows here. */
  connections(): number;
  close(): Promise<void>;
}

/** Reply PDU for one request PDU (function code first); exception 11 for a unit nobody simulates. */
export function answerPdu(bank: RegisterBank | undefined, pdu: Buffer): Buffer {
  return bank ? answerBankPdu(bank, pdu) : exceptionPdu(pdu[0] ?? 0, GATEWAY_TARGET_FAILED);
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
    banks.set(d.unit, createRegisterBank(d.profile, { seed: d.seed ?? d.unit, unmapped: d.unmapped }));
  }
  const faults = createFaultControl();
  const traffic = createTraffic();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((socket) => serveConnection(socket, { banks, log, timers, faults, traffic }));
  server.maxConnections = MAX_CONNECTIONS;
  let accepted = 0;
  server.on('connection', (s) => {
    accepted += 1;
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
    faults,
    stats: () => snapshotTraffic(traffic),
    connections: () => accepted,
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
  faults: FaultControl;
  traffic: ReturnType<typeof createTraffic>;
}

/**
 * The ADU a faulty unit sends, or undefined for silence. TCP has no CRC: 'bad-crc' is a reply under a
 * transaction id no request used (the client drops it and times out); 'garbage' and 'short' keep the MBAP
 * framing consistent so the stream stays in sync, with a PDU of noise or cut in half.
 */
function faultyAdu(fault: Fault | undefined, transaction: number, unit: number, reply: Buffer): Buffer | undefined {
  if (staysSilent(fault)) return undefined;
  switch (fault?.kind) {
    case 'bad-crc':
      return adu((transaction + 0x8000) & 0xffff, unit, reply);
    case 'garbage': {
      const pdu = noise(reply.length, transaction + 1);
      pdu[0] = 0; // function 0 does not exist: never mistaken for a reply or an exception
      return adu(transaction, unit, pdu);
    }
    case 'short':
      return adu(transaction, unit, reply.subarray(0, Math.max(1, Math.floor(reply.length / 2))));
    default:
      return adu(transaction, unit, reply);
  }
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
      const send = (bytes: Buffer | undefined): void => {
        if (!bytes || socket.destroyed) return;
        ctx.traffic.reply(unit);
        socket.write(bytes);
      };
      ctx.traffic.request(unit, pdu[0] ?? 0);
      if (inFlight >= MAX_PENDING_PER_CONNECTION) {
        send(adu(transaction, unit, exceptionPdu(pdu[0] ?? 0, SERVER_BUSY)));
        continue;
      }
      const fault = bank ? ctx.faults.active(unit) : undefined;
      const reply = fault?.kind === 'exception' ? exceptionPdu(pdu[0] ?? 0, fault.code) : answerPdu(bank, Buffer.from(pdu));
      const delay = processingDelayMs(bank?.profile.limits.turnaroundMs ?? 0, fault);
      inFlight++;
      const timer = setTimeout(() => {
        ctx.timers.delete(timer);
        inFlight--;
        send(faultyAdu(fault, transaction, unit, reply));
      }, delay);
      ctx.timers.add(timer);
    }
  });
}
