/** The demo's embedded MQTT broker (aedes). Production sites use their own broker (Mosquitto). */
import net from 'node:net';
import { Aedes } from 'aedes';

export interface DemoBroker {
  readonly url: string;
  /** false when another broker was already listening there and is used instead. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export async function startDemoBroker(host: string, port: number): Promise<DemoBroker> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  const url = `mqtt://${host}:${port}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (e) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return { url, embedded: false, close: async () => undefined };
    throw e;
  }
  return {
    url,
    embedded: true,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
