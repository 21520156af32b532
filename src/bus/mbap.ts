/**
 * Modbus TCP framing (Modbus Messaging on TCP/IP 1.0b, MBAP header): requests out, replies cut from the
 * byte stream and checked against the request. Pure, no I/O; tcp-client.ts drives it over a socket.
 */
import { ModbusFailure, type ReadFunction, type WriteRequest } from './modbus-failure.js';

/** Transaction (2), protocol (2), length (2), unit (1). */
export const MBAP_HEADER = 7;
/** The length field counts the unit byte and the PDU (at most 253 bytes): 2..254 for any real frame. */
const MIN_LENGTH = 2;
const MAX_LENGTH = 254;
const EMPTY = Buffer.alloc(0);

/** A read request ADU (12 bytes). */
export function readRequest(transaction: number, unit: number, fn: ReadFunction, address: number, count: number): Buffer {
  // Byte by byte: writeUInt16BE checks its arguments each call, and this runs per request.
  const adu = Buffer.allocUnsafe(12);
  adu[0] = transaction >>> 8;
  adu[1] = transaction & 0xff;
  adu[2] = 0;
  adu[3] = 0;
  adu[4] = 0;
  adu[5] = 6;
  adu[6] = unit;
  adu[7] = fn;
  adu[8] = address >>> 8;
  adu[9] = address & 0xff;
  adu[10] = count >>> 8;
  adu[11] = count & 0xff;
  return adu;
}

/** A write request ADU: function 5 (one coil), 6 (one register) or 16 (registers). */
export function writeRequest(transaction: number, unit: number, request: WriteRequest): Buffer {
  const data =
    request.fn === 5 ? [request.value ? 0xff00 : 0] : request.fn === 6 ? [request.values[0]!] : [request.values.length];
  const extra = request.fn === 16 ? 1 + request.values.length * 2 : 0;
  const adu = Buffer.allocUnsafe(12 + extra);
  adu.writeUInt16BE(transaction, 0);
  adu.writeUInt16BE(0, 2);
  adu.writeUInt16BE(6 + extra, 4);
  adu[6] = unit;
  adu[7] = request.fn;
  adu.writeUInt16BE(request.address, 8);
  adu.writeUInt16BE(data[0]!, 10);
  if (request.fn === 16) {
    adu[12] = request.values.length * 2;
    request.values.forEach((v, i) => adu.writeUInt16BE(v, 13 + i * 2));
  }
  return adu;
}

/**
 * Cuts whole ADUs out of a TCP byte stream, however it is split. Bound: the bytes kept between two
 * chunks are less than one ADU (7 + 253). A length field outside 2..254 cannot be resynchronised
 * (nothing marks where the next frame starts): push() returns false and the caller drops the connection.
 */
export class MbapReader {
  private pending: Buffer = EMPTY;

  /**
   * Calls onFrame with each complete ADU found in the first `length` bytes of `chunk`: the frame is
   * `adu[0..size)`, valid during the call only (the chunk's buffer may be reused and may hold old bytes past
   * `length`). False when the stream is out of sync.
   */
  push(chunk: Buffer, onFrame: (adu: Buffer, size: number) => void, length = chunk.length): boolean {
    let buf = chunk;
    let end = length;
    if (this.pending.length > 0) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, length)]);
      end = buf.length;
    }
    while (end >= MBAP_HEADER) {
      const frameLength = (buf[4]! << 8) | buf[5]!;
      if (frameLength < MIN_LENGTH || frameLength > MAX_LENGTH) {
        this.pending = EMPTY;
        return false;
      }
      const size = 6 + frameLength;
      if (end < size) break;
      if (end === size) {
        // The usual case, one whole reply per read: no view to cut (a Buffer view per reply was about 4 % of
        // a TCP gateway's main-thread JavaScript time in a CPU profile), nothing to keep.
        onFrame(buf, size);
        this.pending = EMPTY;
        return true;
      }
      onFrame(buf, size);
      buf = buf.subarray(size, end);
      end = buf.length;
    }
    // A copy: the chunk's buffer is reused by the next read, and a few trailing bytes never hold a large chunk alive.
    this.pending = end === 0 ? EMPTY : Buffer.from(buf.subarray(0, end));
    return true;
  }

  reset(): void {
    this.pending = EMPTY;
  }
}

/**
 * What an ADU answering our transaction says: the values of a read, or why it is no usable reply. The ADU
 * is `adu[0..size)`.
 */
export function readReply(adu: Buffer, fn: ReadFunction, count: number, size = adu.length): number[] | ModbusFailure {
  const failure = replyFailure(adu, fn, size);
  if (failure) return failure;
  const byteCount = adu[MBAP_HEADER + 1];
  const expected = fn <= 2 ? Math.ceil(count / 8) : count * 2;
  const data = MBAP_HEADER + 2;
  if (size <= MBAP_HEADER + 1 || byteCount !== expected || size < data + expected)
    return new ModbusFailure('frame', `data length error: expected ${expected} byte(s), got ${Math.max(0, size - data)}`, { detail: 'short' });
  const values: number[] = new Array<number>(count);
  if (fn <= 2) for (let i = 0; i < count; i++) values[i] = (adu[data + (i >> 3)]! >> (i & 7)) & 1;
  // Bytes, not readUInt16BE: the length was checked above, and this runs for every register of every reply.
  else for (let i = 0, at = data; i < count; i++, at += 2) values[i] = (adu[at]! << 8) | adu[at + 1]!;
  return values;
}

/** Undefined when an ADU (`adu[0..size)`) answering a write is a whole echo of the function; else why not. */
export function writeReply(adu: Buffer, fn: WriteRequest['fn'], size = adu.length): ModbusFailure | undefined {
  const failure = replyFailure(adu, fn, size);
  if (failure) return failure;
  // 5, 6 and 16 all answer with four bytes after the function code (address and value or quantity).
  if (size < MBAP_HEADER + 5) return new ModbusFailure('frame', 'write reply cut short', { detail: 'short' });
  return undefined;
}

/** An exception reply, or a function code that is not the one asked; undefined for a reply to `fn`. */
function replyFailure(adu: Buffer, fn: number, size: number): ModbusFailure | undefined {
  const code = size > MBAP_HEADER ? adu[MBAP_HEADER] : undefined;
  if (code === fn) return undefined;
  if (code === (fn | 0x80)) {
    const exception = size > MBAP_HEADER + 1 ? adu[MBAP_HEADER + 1] : undefined;
    if (exception === undefined) return new ModbusFailure('frame', 'exception reply cut short', { detail: 'short' });
    return new ModbusFailure('exception', `Modbus exception ${exception}`, { exceptionCode: exception });
  }
  return new ModbusFailure('frame', `unexpected data: function ${code ?? 'none'} in reply to function ${fn}`, { detail: 'garbled' });
}

/** The transaction id, protocol id and unit of an ADU (at least MBAP_HEADER bytes). */
export const transactionOf = (adu: Buffer): number => (adu[0]! << 8) | adu[1]!;
export const isModbusProtocol = (adu: Buffer): boolean => adu[2] === 0 && adu[3] === 0;
