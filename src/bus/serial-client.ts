/**
 * A serial line's Modbus connection, whose modbus-serial client (and serialport under it, about 1.6 MB of
 * heap) is imported at the first connect: a module once loaded stays for the life of the process, and a
 * TCP-only gateway never needs them.
 */
import { ModbusFailure, type Endpoint, type ModbusConnection, type ReadFunction, type WriteRequest } from './modbus-failure.js';

export class DeferredSerialClient implements ModbusConnection {
  private client?: ModbusConnection;

  constructor(readonly endpoint: Endpoint) {}

  get isOpen(): boolean {
    return this.client?.isOpen ?? false;
  }

  get lastByteAt(): number | undefined {
    return this.client?.lastByteAt;
  }

  async connect(timeoutMs: number): Promise<void> {
    this.client ??= new (await import('./modbus-client.js')).ModbusClient(this.endpoint);
    await this.client.connect(timeoutMs);
  }

  read(unit: number, fn: ReadFunction, address: number, count: number, timeoutMs: number): Promise<number[]> {
    return this.opened().read(unit, fn, address, count, timeoutMs);
  }

  write(unit: number, request: WriteRequest, timeoutMs: number): Promise<void> {
    return this.opened().write(unit, request, timeoutMs);
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  /** The bus connects before it sends; a send before any connect is a line that is not open. */
  private opened(): ModbusConnection {
    if (!this.client) throw new ModbusFailure('disconnected', 'port not open');
    return this.client;
  }
}
