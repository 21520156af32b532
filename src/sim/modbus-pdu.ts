/**
 * The transport-independent half of a simulated Modbus device: one request PDU (function code first) in,
 * one reply PDU out, from a RegisterBank. Used by the TCP and RTU simulators.
 *
 * Reads 1-4 and writes 5, 6, 15, 16 are served; any other function gets exception 1 (illegal function).
 * A malformed request gets exception 3 (illegal data value).
 */
import type { RegisterKind } from '../profiles/schema.js';
import { EXCEPTION, type ReadResult, type RegisterBank, type WriteResult } from './register-bank.js';

const READ_KIND: Readonly<Record<number, RegisterKind>> = { 1: 'coil', 2: 'discrete', 3: 'holding', 4: 'input' };
const COIL_ON = 0xff00;
/** Largest quantities of one write (Modbus application protocol 1.1b3). */
const MAX_WRITE_COILS = 1968;
const MAX_WRITE_REGISTERS = 123;

export const exceptionPdu = (fc: number, code: number): Buffer => Buffer.from([(fc | 0x80) & 0xff, code]);

export function answerPdu(bank: RegisterBank, pdu: Buffer): Buffer {
  const fc = pdu[0] ?? 0;
  const result = READ_KIND[fc] ? answerRead(bank, fc, pdu) : answerWrite(bank, fc, pdu);
  return Buffer.isBuffer(result) ? result : exceptionPdu(fc, result.exception);
}

function answerRead(bank: RegisterBank, fc: number, pdu: Buffer): Buffer | { exception: number } {
  if (pdu.length !== 5) return { exception: EXCEPTION.illegalValue };
  const result: ReadResult = bank.read(READ_KIND[fc]!, pdu.readUInt16BE(1), pdu.readUInt16BE(3));
  if (!Array.isArray(result)) return result;
  return fc <= 2 ? bitsReply(fc, result) : registersReply(fc, result);
}

function answerWrite(bank: RegisterBank, fc: number, pdu: Buffer): Buffer | { exception: number } {
  const echo = (): Buffer => Buffer.from(pdu.subarray(0, 5));
  const done = (r: WriteResult): Buffer | { exception: number } => ('ok' in r ? echo() : r);
  switch (fc) {
    case 5: {
      if (pdu.length !== 5) return { exception: EXCEPTION.illegalValue };
      const value = pdu.readUInt16BE(3);
      if (value !== COIL_ON && value !== 0) return { exception: EXCEPTION.illegalValue };
      return done(bank.write('coil', pdu.readUInt16BE(1), [value ? 1 : 0]));
    }
    case 6:
      if (pdu.length !== 5) return { exception: EXCEPTION.illegalValue };
      return done(bank.write('holding', pdu.readUInt16BE(1), [pdu.readUInt16BE(3)]));
    case 15:
    case 16: {
      const quantity = pdu.length >= 6 ? pdu.readUInt16BE(3) : 0;
      const bytes = fc === 15 ? Math.ceil(quantity / 8) : 2 * quantity;
      const max = fc === 15 ? MAX_WRITE_COILS : MAX_WRITE_REGISTERS;
      if (quantity < 1 || quantity > max || pdu[5] !== bytes || pdu.length !== 6 + bytes) return { exception: EXCEPTION.illegalValue };
      const data = pdu.subarray(6);
      const values =
        fc === 15
          ? Array.from({ length: quantity }, (_, i) => (data[i >> 3]! >> (i & 7)) & 1)
          : Array.from({ length: quantity }, (_, i) => data.readUInt16BE(2 * i));
      return done(bank.write(fc === 15 ? 'coil' : 'holding', pdu.readUInt16BE(1), values));
    }
    default:
      return { exception: EXCEPTION.illegalFunction };
  }
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

/** What a simulator received, per unit: lets a test prove that no write function code was ever sent. */
export interface UnitTraffic {
  /** Requests addressed to this unit with a valid frame. */
  requests: number;
  /** Replies sent (faults that keep the device silent are not replies). */
  replies: number;
  /** Requests by function code. */
  functionCodes: Record<number, number>;
}

export interface SimulatorTraffic {
  /** By unit id; requests to units nobody simulates are counted too. */
  readonly units: Record<number, UnitTraffic>;
  /** Every function code received, all units together. */
  readonly functionCodes: Record<number, number>;
}

/** Bounded: at most 256 units x 256 function codes. */
export function createTraffic(): SimulatorTraffic & { request(unit: number, fc: number): void; reply(unit: number): void } {
  const units: Record<number, UnitTraffic> = {};
  const functionCodes: Record<number, number> = {};
  const of = (unit: number): UnitTraffic => (units[unit] ??= { requests: 0, replies: 0, functionCodes: {} });
  return {
    units,
    functionCodes,
    request(unit, fc) {
      const u = of(unit);
      u.requests++;
      u.functionCodes[fc] = (u.functionCodes[fc] ?? 0) + 1;
      functionCodes[fc] = (functionCodes[fc] ?? 0) + 1;
    },
    reply: (unit) => void of(unit).replies++,
  };
}

/** A deep copy, so a caller's snapshot does not move. */
export const snapshotTraffic = (t: SimulatorTraffic): SimulatorTraffic => structuredClone({ units: t.units, functionCodes: t.functionCodes });
