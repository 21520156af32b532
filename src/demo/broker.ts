/**
 * The demo's embedded MQTT broker (aedes). Production sites use their own broker (Mosquitto): aedes is an
 * optional dependency, loaded only here, so a gateway installed without it (`npm ci --omit=optional`)
 * runs every other command.
 */
import net from 'node:net';
import { PasserelleError } from '../core/errors.js';

export interface DemoBroker {
  readonly url: string;
  /** false when another broker was already listening there and is used instead. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export async function startDemoBroker(host: string, port: number): Promise<DemoBroker> {
  const url = `mqtt://${host}:${port}`;
  const loaded = await loadAedes();
  if (!loaded) {
    if (await somethingListens(host, port)) return { url, embedded: false, close: async () => undefined };
    throw new PasserelleError(
      'E_DEMO_BROKER',
      `the demo's embedded broker needs the optional package aedes, which is not installed: run npm install ` +
        `(without --omit=optional), or start a broker on ${host}:${port} (e.g. mosquitto) and run the demo again`,
    );
  }
  const { Aedes } = loaded;
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
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

/** aedes, or undefined when the optional package is not installed. */
async function loadAedes(): Promise<typeof import('aedes') | undefined> {
  try {
    return await import('aedes');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

function somethingListens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
