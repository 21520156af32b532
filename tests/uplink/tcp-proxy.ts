/**
 * A TCP relay between the uplink and a broker, on 127.0.0.1, to act on the wire without touching either:
 * hold the broker's answers (PUBACK never arrives), cut connections abruptly (last will), or refuse
 * connections (the broker is "unreachable") at a precise moment.
 */
import net from 'node:net';
import { mqttFrameReader } from './mqtt-frames.js';

export interface TcpProxy {
  readonly url: string;
  /** Stop relaying broker -> client bytes (kept, in order) until release(). */
  hold(): void;
  release(): void;
  /** Destroy every relayed connection on both sides, without an MQTT DISCONNECT. */
  cut(): void;
  /** While blocked, new connections are closed at once; existing ones are cut. */
  block(): void;
  unblock(): void;
  /**
   * Right after forwarding to the client a chunk holding PUBACKs of PUBLISHes whose topic matches, calls
   * `hook` once per such PUBACK until it returns true: the broker has acknowledged, the client has the
   * acknowledgement, and the hook (e.g. kill the broker) runs before anything else crosses.
   */
  afterPuback(topic: RegExp, hook: () => boolean): void;
  /** Every byte relayed in both directions, in order, for traffic inspection. */
  readonly captured: Buffer[];
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const held: (() => void)[] = [];
  let holding = false;
  let blocked = false;
  let pubackWatch: { topic: RegExp; hook: () => boolean } | undefined;
  const captured: Buffer[] = [];

  const server = net.createServer((client) => {
    if (blocked) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // the peer's close follows
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const readPublishes = mqttFrameReader();
    const readAnswers = mqttFrameReader();
    const topicOfPacket = new Map<number, string>();
    client.on('data', (chunk: Buffer) => {
      captured.push(chunk);
      for (const f of readPublishes(chunk)) if (f.type === 3 && f.packetId !== undefined) topicOfPacket.set(f.packetId, f.topic!);
      upstream.write(chunk);
    });
    const forward = (chunk: Buffer): void => {
      client.write(chunk);
      const frames = readAnswers(chunk); // always read, so the reader stays aligned on packet boundaries
      for (const f of frames) {
        const watch = pubackWatch;
        if (!watch || f.type !== 4 || !watch.topic.test(topicOfPacket.get(f.packetId!) ?? '')) continue;
        if (watch.hook()) pubackWatch = undefined;
      }
    };
    upstream.on('data', (chunk: Buffer) => {
      captured.push(chunk);
      if (holding) held.push(() => forward(chunk));
      else forward(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const write of held.splice(0)) write();
    },
    cut,
    block: () => {
      blocked = true;
      cut();
    },
    unblock: () => void (blocked = false),
    afterPuback: (topic, hook) => void (pubackWatch = { topic, hook }),
    captured,
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
