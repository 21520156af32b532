/**
 * Issue 16, low: a hostile broker declared one 256 MiB packet and the gateway buffered it (606 MiB RSS).
 * A real broker never does that, so this is a raw TCP server on loopback speaking just enough MQTT:
 * it checks the CONNECT announces a Maximum Packet Size, accepts, then streams a huge PUBLISH.
 */
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttUplink } from '../../src/uplink/mqtt-uplink.js';
import { MAX_INCOMING_PACKET_BYTES, packetSizeGuard } from '../../src/uplink/packet-guard.js';
import { MemoryOutbox } from '../helpers/memory-outbox.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** MQTT 5 Maximum Packet Size property (id 39) with our bound, as it appears in a CONNECT. */
const MAX_PACKET_PROPERTY = Buffer.from([39, 0x00, 0x01, 0x00, 0x00]);
const CONNACK_V5 = Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]);
/** PUBLISH QoS 0 declaring the largest remaining length MQTT can express (256 MiB - 1). */
const HUGE_PUBLISH_HEADER = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]);
const CAP_BYTES = 64 * 1024 * 1024;

interface HostileBroker {
  readonly url: string;
  /** Bytes of CONNECT the client sent. */
  readonly connect: Promise<Buffer>;
  /** Resolves with the bytes of the huge packet the server had written when the client closed (or at the cap). */
  readonly closed: Promise<{ written: number; byClient: boolean }>;
}

async function startHostileBroker(): Promise<HostileBroker> {
  let gotConnect!: (b: Buffer) => void;
  let gotClose!: (r: { written: number; byClient: boolean }) => void;
  const connectBytes = new Promise<Buffer>((r) => (gotConnect = r));
  const closed = new Promise<{ written: number; byClient: boolean }>((r) => (gotClose = r));
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      gotConnect(chunk);
      socket.write(CONNACK_V5);
      socket.write(HUGE_PUBLISH_HEADER);
      let written = 0;
      let open = true;
      socket.once('close', () => {
        open = false;
        gotClose({ written, byClient: written < CAP_BYTES });
      });
      const junk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (open && written < CAP_BYTES) {
          written += junk.length;
          if (!socket.write(junk)) return void socket.once('drain', pump);
        }
        if (open && written >= CAP_BYTES) socket.destroy();
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
  const { port } = server.address() as net.AddressInfo;
  return { url: `mqtt://127.0.0.1:${port}`, connect: connectBytes, closed };
}

describe('a broker that sends a packet larger than the gateway needs', () => {
  it('announces a maximum packet size and closes the connection without buffering the packet', async () => {
    const broker = await startHostileBroker();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const uplink = new MqttUplink({
      url: broker.url, site: 's', gateway: 'g', topicPrefix: 'passerelle', outbox: new MemoryOutbox(), logger,
      reconnectBaseMs: 60_000, reconnectCapMs: 60_000, connectTimeoutMs: 2000,
    });
    cleanups.push(() => uplink.stop());
    await uplink.start();
    expect((await broker.connect).includes(MAX_PACKET_PROPERTY)).toBe(true);
    const { written, byClient } = await broker.closed;
    expect(byClient, `the client read ${written} bytes of the huge packet without closing`).toBe(true);
    // Loopback socket buffers hold a few MiB whatever the client does; the former client read all 64.
    expect(written).toBeLessThan(CAP_BYTES / 4);
    expect(lines.some((l) => l.includes('over the size bound') && l.includes(`"bytes":${2 ** 28 + 4}`))).toBe(true);
  }, 30_000);
});

describe('packetSizeGuard', () => {
  const packet = (bodyLength: number): Buffer => {
    const length: number[] = [];
    let n = bodyLength;
    do {
      length.push((n % 128) | (n >= 128 ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    return Buffer.concat([Buffer.from([0x40, ...length]), Buffer.alloc(bodyLength)]);
  };

  it('passes packets within the bound, however the stream is cut', () => {
    const small = Buffer.concat([packet(2), packet(130), packet(0), packet(300)]);
    const largest = Buffer.concat([packet(2), packet(MAX_INCOMING_PACKET_BYTES - 4), packet(0)]);
    for (const [stream, cut] of [[small, 1], [small, 2], [small, 3], [small, 7], [largest, 1000], [largest, largest.length]] as const) {
      const guard = packetSizeGuard();
      for (let i = 0; i < stream.length; i += cut) expect(guard(stream.subarray(i, i + cut))).toBeUndefined();
    }
  });

  it('reports the first packet over the bound from its header alone, and a malformed length', () => {
    expect(packetSizeGuard()(Buffer.concat([packet(2), packet(MAX_INCOMING_PACKET_BYTES - 3).subarray(0, 4)]))).toBe(MAX_INCOMING_PACKET_BYTES + 1);
    expect(packetSizeGuard(100)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(Number.POSITIVE_INFINITY);
  });
});
