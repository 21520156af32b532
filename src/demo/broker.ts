/**
 * The demo's embedded MQTT broker (aedes). Production sites use their own broker (Mosquitto): aedes is an
 * optional dependency, loaded only here, so a gateway installed without it (`npm ci --omit=optional`)
 * runs every other command.
 */
import net from 'node:net';
import { connect } from 'mqtt';
import { PasserelleError } from '../core/errors.js';

/** How long a program already on the port has to answer an MQTT CONNECT before it is called no broker. */
const PROBE_MS = 3000;

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
    if (await answersMqtt(url)) return { url, embedded: false, close: async () => undefined };
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
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (!(await answersMqtt(url))) {
      throw new PasserelleError('E_DEMO_PORT', `${host}:${port} is taken by a program that is not an MQTT broker (no answer to an MQTT CONNECT): stop it, or set uplink.broker in the demo config`);
    }
    return { url, embedded: false, close: async () => undefined };
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

/** Whether something at url answers an MQTT 3.1.1 CONNECT within PROBE_MS. */
function answersMqtt(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: PROBE_MS, clientId: `passerelle-demo-probe-${process.pid}` });
    const done = (answered: boolean) => {
      client.end(true);
      resolve(answered);
    };
    client.once('connect', () => done(true));
    client.once('error', () => done(false));
    client.once('close', () => done(false));
  });
}
