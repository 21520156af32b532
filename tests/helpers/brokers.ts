/**
 * Real MQTT brokers for tests, on 127.0.0.1: aedes in-process (MQTT 3.1.1 only) and a mosquitto
 * child process (MQTT 5). Use `describe.each(brokers)` to run a suite against both.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';

export interface TestBroker {
  readonly url: string;
  readonly port: number;
  /** Stops the broker and waits until it is gone. Idempotent. */
  close(): Promise<void>;
}

export interface MosquittoBroker extends TestBroker {
  /** SIGKILL: the broker vanishes without a goodbye, like a crash. */
  kill(): Promise<void>;
  /** Rewrites the ACL file and makes mosquitto reload it (SIGHUP). Only when started with `acl`. */
  setAcl(acl: string): Promise<void>;
}

export interface BrokerOptions {
  /** Listen on this port (to restart a broker where clients expect it); a free port otherwise. */
  port?: number;
}

export interface MosquittoOptions extends BrokerOptions {
  /** mosquitto ACL file content, e.g. "pattern readwrite allowed/#" (anonymous clients match `pattern`). */
  acl?: string;
  /** TLS listener (the URL becomes mqtts://): files from tests/helpers/certs.ts. */
  tls?: {
    caFile: string;
    certFile: string;
    keyFile: string;
    /** Mutual TLS: refuse clients without a certificate the CA signed; the certificate's CN is the username. */
    requireClientCertificate?: boolean;
  };
  /** username -> password; anonymous clients are then refused (mosquitto_passwd builds the file). */
  users?: Record<string, string>;
  /**
   * Keep sessions and queued messages in this directory (the caller owns it), so a broker restarted with
   * the same directory still holds what it acknowledged. Saved on a clean stop (SIGTERM), not on SIGKILL.
   */
  persistenceDir?: string;
}

export type StartBroker = (opts?: BrokerOptions) => Promise<TestBroker>;

const HOST = '127.0.0.1';
const execFileAsync = promisify(execFile);

/** A port that was free a moment ago (the OS picks it; a tiny race with other processes remains). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startAedes(opts: BrokerOptions = {}): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, HOST, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })());
  return { url: `mqtt://${HOST}:${port}`, port, close };
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const port = opts.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-mosquitto-'));
  // Started as root, mosquitto drops to its own user before reading the ACL file.
  await chmod(dir, 0o755);
  const conf = join(dir, 'mosquitto.conf');
  const aclFile = join(dir, 'acl');
  const lines = [`listener ${port} ${HOST}`, 'log_dest stderr'];
  if (opts.persistenceDir === undefined) lines.push('persistence false');
  else {
    await chmod(opts.persistenceDir, 0o777); // mosquitto writes there after dropping root
    lines.push('persistence true', `persistence_location ${opts.persistenceDir}/`, 'max_queued_messages 100000');
  }
  lines.push(...(await securityLines(dir, opts)));
  if (opts.acl !== undefined) {
    await writeFile(aclFile, `${opts.acl}\n`);
    lines.push(`acl_file ${aclFile}`);
  }
  await writeFile(conf, `${lines.join('\n')}\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Keep the tail only: enough to explain a failed start.
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, () => stderr);
  } catch (e) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const setAcl = async (acl: string): Promise<void> => {
    if (opts.acl === undefined) throw new Error('start mosquitto with an acl to change it');
    await writeFile(aclFile, `${acl}\n`);
    child.kill('SIGHUP');
  };
  const scheme = opts.tls ? 'mqtts' : 'mqtt';
  return { url: `${scheme}://${HOST}:${port}`, port, close: () => stop('SIGTERM'), kill: () => stop('SIGKILL'), setAcl };
}

async function securityLines(dir: string, opts: MosquittoOptions): Promise<string[]> {
  const lines: string[] = [];
  if (opts.tls) {
    const { caFile, certFile, keyFile, requireClientCertificate } = opts.tls;
    lines.push(`cafile ${caFile}`, `certfile ${certFile}`, `keyfile ${keyFile}`, 'tls_version tlsv1.2');
    if (requireClientCertificate) lines.push('require_certificate true', 'use_identity_as_username true');
  }
  if (opts.users) {
    const passwordFile = join(dir, 'passwd');
    await writeFile(passwordFile, '');
    for (const [user, password] of Object.entries(opts.users)) {
      await execFileAsync('mosquitto_passwd', ['-b', passwordFile, user, password]);
    }
    await chmod(passwordFile, 0o644);
    lines.push(`password_file ${passwordFile}`, 'allow_anonymous false');
  } else {
    lines.push('allow_anonymous true');
  }
  return lines;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}: ${log()}`);
    if (await accepts(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${HOST}:${port} within ${timeoutMs} ms: ${log()}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const brokers: [string, StartBroker][] = [
  ['aedes', startAedes],
  ['mosquitto', startMosquitto],
];
