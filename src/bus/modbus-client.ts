/**
 * One Modbus connection (TCP socket or serial port) behind a small promise API, on modbus-serial. It
 * classifies every failure into a stable reason (and, for a failed reply, a detail) so the scheduler and
 * the quality marks never parse error strings.
 */
import modbusSerial from 'modbus-serial';
import { errorMessage } from '../core/errors.js';
import { classifyError } from './classify-error.js';
import { ModbusFailure, describeEndpoint, type Endpoint, type ModbusConnection, type ReadFunction, type WriteRequest } from './modbus-failure.js';
import { RtuLinePort } from './rtu-line-port.js';

// modbus-serial is CommonJS: its module.exports is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type ModbusRTU = InstanceType<typeof ModbusRTU>;

export { ModbusFailure, describeEndpoint } from './modbus-failure.js';
export { classifyError } from './classify-error.js';
export type { Endpoint, FailureDetail, FailureReason, ModbusConnection, ReadFunction, WriteRequest } from './modbus-failure.js';

/** The modbus-serial client: serial lines (RTU), and TCP when a caller asks for it (tcp-client.ts is the bus's TCP default). */
export class ModbusClient implements ModbusConnection {
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
