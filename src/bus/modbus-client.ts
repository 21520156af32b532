/**
 * One Modbus connection (TCP socket or serial port) behind a small promise API. It classifies every
 * failure into a stable reason so the scheduler and the quality marks never parse error strings.
 */
import modbusSerial from 'modbus-serial';
import { PasserelleError } from '../core/errors.js';

// modbus-serial is CommonJS: its module.exports is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;

export type ReadFunction = 1 | 2 | 3 | 4;

export type FailureReason = 'timeout' | 'exception' | 'crc' | 'frame' | 'disconnected';

export class ModbusFailure extends PasserelleError {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(`E_MODBUS_${reason.toUpperCase()}`, message, reason !== 'exception');
  }
}

export type Endpoint =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'serial'; port: string; baud: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export function describeEndpoint(e: Endpoint): string {
  return e.type === 'tcp' ? `${e.host}:${e.port}` : `${e.port} @ ${e.baud} ${e.dataBits}${e.parity[0]!.toUpperCase()}${e.stopBits}`;
}

/** Maps a modbus-serial error to a reason. */
export function classifyError(err: unknown): ModbusFailure {
  const e = err as { message?: string; errno?: string; code?: string; modbusCode?: number };
  const msg = e?.message ?? String(err);
  if (typeof e?.modbusCode === 'number') return new ModbusFailure('exception', msg, e.modbusCode);
  if (e?.errno === 'ETIMEDOUT' || /timed out/i.test(msg)) return new ModbusFailure('timeout', 'no answer before the timeout');
  if (/crc/i.test(msg)) return new ModbusFailure('crc', 'reply with a bad CRC');
  if (/port not open|ECONNRESET|ECONNREFUSED|EPIPE|closed|not open/i.test(msg + (e?.code ?? '')))
    return new ModbusFailure('disconnected', msg);
  return new ModbusFailure('frame', msg);
}

export class ModbusClient {
  private readonly client: ModbusRTU = new ModbusRTU();

  constructor(readonly endpoint: Endpoint) {}

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  async connect(timeoutMs: number): Promise<void> {
    const e = this.endpoint;
    this.client.setTimeout(timeoutMs);
    try {
      if (e.type === 'tcp') await this.client.connectTCP(e.host, { port: e.port, timeout: timeoutMs } as never);
      else
        await this.client.connectRTUBuffered(e.port, {
          baudRate: e.baud,
          parity: e.parity,
          dataBits: e.dataBits,
          stopBits: e.stopBits,
        });
    } catch (err) {
      throw new ModbusFailure('disconnected', `cannot open ${describeEndpoint(e)}: ${(err as Error).message}`);
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
      throw classifyError(err);
    }
  }

  async writeRegisters(unit: number, address: number, values: number[], timeoutMs: number): Promise<void> {
    this.client.setID(unit);
    this.client.setTimeout(timeoutMs);
    try {
      if (values.length === 1) await this.client.writeRegister(address, values[0]!);
      else await this.client.writeRegisters(address, values);
    } catch (err) {
      throw classifyError(err);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.client.isOpen) return resolve();
      this.client.close(() => resolve());
    });
  }
}
