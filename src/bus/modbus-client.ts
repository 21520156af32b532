/**
 * One Modbus connection (TCP socket or serial port) behind a small promise API, on modbus-serial. It
 * classifies every failure into a stable reason (and, for a failed reply, a detail) so the scheduler and
 * the quality marks never parse error strings.
 */
import modbusSerial from 'modbus-serial';
import { PasserelleError, errorMessage } from '../core/errors.js';
import { RtuLinePort, type Reception } from './rtu-line-port.js';

// modbus-serial is CommonJS: its module.exports is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;

export type ReadFunction = 1 | 2 | 3 | 4;

/**
 * timeout: nothing came back (silence). frame: something came back that is not a usable reply
 * (detail 'short': a reply cut off; 'garbled': bytes that are no reply). crc: a whole reply, bad CRC.
 */
export type FailureReason = 'timeout' | 'exception' | 'crc' | 'frame' | 'disconnected';
export type FailureDetail = 'silence' | 'short' | 'garbled';

export class ModbusFailure extends PasserelleError {
  readonly exceptionCode?: number;
  readonly detail?: FailureDetail;
  /** The transaction ran until the timeout (what a sick device costs the line). */
  readonly timedOut: boolean;

  constructor(
    readonly reason: FailureReason,
    message: string,
    extra: { exceptionCode?: number; detail?: FailureDetail; code?: string; timedOut?: boolean } = {},
  ) {
    super(extra.code ?? `E_MODBUS_${reason.toUpperCase()}`, message, reason !== 'exception');
    this.exceptionCode = extra.exceptionCode;
    this.detail = extra.detail;
    this.timedOut = extra.timedOut ?? reason === 'timeout';
  }

  /** A failure a retry of the same request may cure: nothing or nothing usable came back. */
  get retryableOnLine(): boolean {
    return this.reason === 'timeout' || this.reason === 'crc' || this.reason === 'frame';
  }
}

export type Endpoint =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'serial'; port: string; baud: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export function describeEndpoint(e: Endpoint): string {
  return e.type === 'tcp' ? `${e.host}:${e.port}` : `${e.port} @ ${e.baud} ${e.dataBits}${e.parity[0]!.toUpperCase()}${e.stopBits}`;
}

/**
 * Maps a modbus-serial error to a reason. `reception` (serial only) tells a silence from a short or
 * garbled reply, and a bad CRC on a real reply from noise that happened to end in two bytes.
 */
export function classifyError(err: unknown, reception?: Reception): ModbusFailure {
  const e = err as { message?: string; errno?: string; code?: string; modbusCode?: number };
  const msg = errorMessage(err);
  if (typeof e?.modbusCode === 'number') return new ModbusFailure('exception', msg, { exceptionCode: e.modbusCode });
  if (e?.errno === 'ETIMEDOUT' || /timed out/i.test(msg)) {
    if (!reception || reception.bytes === 0) return new ModbusFailure('timeout', 'no answer before the timeout', { detail: 'silence' });
    const detail = reception.headerAt >= 0 ? 'short' : 'garbled';
    const what = detail === 'short' ? 'a reply cut short' : 'not a reply';
    return new ModbusFailure('frame', `${reception.bytes} byte(s) came back before the timeout, ${what}`, { detail, timedOut: true });
  }
  if (/crc/i.test(msg)) {
    return reception && reception.headerAt > 0
      ? new ModbusFailure('frame', 'noise on the line, no reply', { detail: 'garbled' })
      : new ModbusFailure('crc', 'reply with a bad CRC');
  }
  if (/data length error/i.test(msg)) return new ModbusFailure('frame', msg, { detail: 'short' });
  if (/unexpected data/i.test(msg)) return new ModbusFailure('frame', msg, { detail: 'garbled' });
  if (/port not open|ECONNRESET|ECONNREFUSED|EPIPE|closed|not open/i.test(msg + (e?.code ?? ''))) return new ModbusFailure('disconnected', msg);
  return new ModbusFailure('frame', msg, { detail: 'garbled' });
}

/** A write request; only write.ts builds these (see there for the safety rules). */
export type WriteRequest =
  | { readonly fn: 5; readonly address: number; readonly value: boolean }
  | { readonly fn: 6 | 16; readonly address: number; readonly values: readonly number[] };

export class ModbusClient {
  private readonly port?: RtuLinePort;
  private readonly client: ModbusRTU;

  constructor(readonly endpoint: Endpoint) {
    this.port = endpoint.type === 'serial' ? new RtuLinePort(endpoint) : undefined;
    this.client = new ModbusRTU(this.port);
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  /** performance.now() of the last byte the serial line brought back for the last request; undefined on TCP or silence. */
  get lastByteAt(): number | undefined {
    return this.port && this.port.reception.bytes > 0 ? this.port.reception.lastByteAt : undefined;
  }

  async connect(timeoutMs: number): Promise<void> {
    const e = this.endpoint;
    this.client.setTimeout(timeoutMs);
    try {
      if (e.type === 'tcp') await this.client.connectTCP(e.host, { port: e.port, timeout: timeoutMs } as never);
      else await new Promise<void>((resolve, reject) => this.client.open((err: unknown) => (err ? reject(err) : resolve())));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const message = e.type === 'serial' ? errorMessage(err) : `cannot open ${describeEndpoint(e)}: ${errorMessage(err)}`;
      throw new ModbusFailure('disconnected', message, { code: typeof code === 'string' && code.startsWith('E_SERIAL') ? code : undefined });
    }
  }

  async read(unit: number, fn: ReadFunction, address: number, count: number, timeoutMs: number): Promise<number[]> {
    this.client.setID(unit);
    this.client.setTimeout(timeoutMs);
    try {
      switch (fn) {
        case 1:
          return (await this.client.readCoils(address, count)).data.slice(0, count).map(Number);
        case 2:
          return (await this.client.readDiscreteInputs(address, count)).data.slice(0, count).map(Number);
        case 3:
          return (await this.client.readHoldingRegisters(address, count)).data;
        case 4:
          return (await this.client.readInputRegisters(address, count)).data;
      }
    } catch (err) {
      throw classifyError(err, this.port?.reception);
    }
  }

  async write(unit: number, request: WriteRequest, timeoutMs: number): Promise<void> {
    this.client.setID(unit);
    this.client.setTimeout(timeoutMs);
    try {
      if (request.fn === 5) await this.client.writeCoil(request.address, request.value);
      else if (request.fn === 6) await this.client.writeRegister(request.address, request.values[0]!);
      else await this.client.writeRegisters(request.address, [...request.values]);
    } catch (err) {
      throw classifyError(err, this.port?.reception);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.client.isOpen) return resolve();
      this.client.close(() => resolve());
    });
  }
}
