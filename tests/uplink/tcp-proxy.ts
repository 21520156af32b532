/**
 * A TCP relay between the uplink and a broker, on 127.0.0.1, to act on the wire without touching either:
 * hold the broker's answers (PUBACK never arrives), cut connections abruptly (last will), or refuse
 * connections (the broker is "unreachable") at a precise moment.
 */
import net from 'node:net';

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
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const held: (() => void)[] = [];
  let holding = false;
  let blocked = false;

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
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => (holding ? held.push(() => client.write(chunk)) : client.write(chunk)));
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
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
