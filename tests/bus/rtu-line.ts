/** A real RS-485 line in a test: a socat pty pair, the RTU simulator on one end, a ModbusBus on the other. */
import { silentLogger } from '../../src/core/logger.js';
import { ModbusBus, type BusOptions } from '../../src/bus/modbus-bus.js';
import type { Endpoint } from '../../src/bus/modbus-client.js';
import { t35Ms } from '../../src/drivers/modbus/wire-cost.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startModbusRtuSimulator, type ModbusRtuSimulator, type SimulatedRtuDevice } from '../../src/sim/modbus-rtu.js';

export interface RtuLine {
  readonly pair: PtyPair;
  readonly sim: ModbusRtuSimulator;
  readonly bus: ModbusBus;
  readonly endpoint: Extract<Endpoint, { type: 'serial' }>;
  close(): Promise<void>;
}

export interface RtuLineOptions extends Partial<Omit<BusOptions, 'id' | 'endpoint' | 'logger'>> {
  baud?: number;
  paced?: boolean;
}

export async function rtuLine(devices: SimulatedRtuDevice[], opts: RtuLineOptions = {}): Promise<RtuLine> {
  const baud = opts.baud ?? 9600;
  const pair = await createPtyPair();
  const sim = await startModbusRtuSimulator({ path: pair.b, baud, parity: 'none', dataBits: 8, stopBits: 1, devices, paced: opts.paced });
  const endpoint = { type: 'serial', port: pair.a, baud, parity: 'none', dataBits: 8, stopBits: 1 } as const;
  const bus = new ModbusBus({
    id: 'line',
    endpoint,
    timeoutMs: opts.timeoutMs ?? 300,
    retries: opts.retries ?? 0,
    maxQueue: opts.maxQueue,
    interFrameMs: opts.interFrameMs ?? t35Ms(baud),
    logger: silentLogger(),
    clientFactory: opts.clientFactory,
  });
  return {
    pair,
    sim,
    bus,
    endpoint,
    close: async () => {
      await bus.close();
      await sim.close();
      await pair.close();
    },
  };
}
