/**
 * The broker, layer by layer, so the first broken one is named: DNS, TCP, TLS (chain, host name, days to
 * expiry), MQTT CONNACK with the site's own credentials, then a round trip on the gateway's own topic.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../../config/index.js';
import { brokerUrlFacts } from '../../core/broker-url.js';
import { errorMessage } from '../../core/errors.js';
import { fail, pass, warn, type Finding } from './verdict.js';

const TIMEOUT_MS = 5000;
/** A server certificate this close to its end is renewed now, not the night it stops the uplink. */
const EXPIRY_WARN_DAYS = 30;
const DAY_MS = 86_400_000;

export async function brokerFindings(config: Config): Promise<Finding[]> {
  const { uplink } = config;
  if (!uplink.broker) return [pass('broker', 'no broker configured (the demo starts an embedded one)')];
  const facts = brokerUrlFacts(uplink.broker);
  if (!facts) return [fail('broker', `${uplink.broker} is not a broker URL`, 'write uplink.broker as mqtts://HOST:8883')];
  const url = new URL(uplink.broker);
  const port = Number(url.port) || (facts.tls ? 8883 : 1883);
  const findings: Finding[] = [];

  let address: string;
  try {
    address = net.isIP(facts.host) ? facts.host : (await lookup(facts.host)).address;
    findings.push(pass('broker.dns', `${facts.host} is ${address}`));
  } catch (e) {
    return [...findings, fail('broker.dns', `${facts.host} does not resolve: ${errorMessage(e)}`, 'check the host name in uplink.broker and the DNS server of the gateway (resolvectl status)')];
  }
  const tcp = await tcpConnect(address, port);
  if (tcp) return [...findings, fail('broker.tcp', `cannot reach ${facts.host}:${port}: ${tcp}`, 'check the port, the broker is running, and that the firewall lets the gateway out on this port')];
  findings.push(pass('broker.tcp', `${facts.host}:${port} accepts connections`));

  let secrets: { username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer };
  try {
    const { readUplinkSecrets } = await import('../../gateway/uplink-options.js');
    secrets = readUplinkSecrets(uplink);
  } catch (e) {
    return [...findings, fail('broker.credentials', errorMessage(e), 'fix the uplink credential files (see uplink.files)')];
  }
  if (facts.tls) {
    const tlsFindings = await tlsCheck(facts.host, port, secrets.ca);
    findings.push(...tlsFindings);
    if (tlsFindings.some((f) => f.verdict === 'fail')) return findings;
  }
  findings.push(...(await mqttCheck(config, secrets)));
  return findings;
}

function tcpConnect(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no answer in ${TIMEOUT_MS / 1000} s (a firewall dropping packets?)`);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'connection refused: nothing listens on this port' : errorMessage(e)));
  });
}

async function tlsCheck(host: string, port: number, ca: Buffer | undefined): Promise<Finding[]> {
  const result = await new Promise<{ cert?: tls.PeerCertificate; authError?: string; error?: string }>((resolve) => {
    const socket = tls.connect({ host, port, ca, rejectUnauthorized: false, timeout: TIMEOUT_MS, ...(net.isIP(host) ? {} : { servername: host }) });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const authError = socket.authorizationError ? String((socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError) : undefined;
      socket.destroy();
      resolve({ cert, authError });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ error: `no TLS answer in ${TIMEOUT_MS / 1000} s` });
    });
    socket.once('error', (e) => resolve({ error: errorMessage(e) }));
  });
  if (result.error || !result.cert) {
    return [fail('broker.tls', `TLS handshake with ${host}:${port} failed: ${result.error ?? 'no certificate'}`, 'check this port speaks TLS (often 8883; 1883 is plain MQTT)')];
  }
  const cert = result.cert;
  const findings: Finding[] = [];
  const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / DAY_MS);
  if (result.authError === 'CERT_HAS_EXPIRED' || days < 0) {
    findings.push(fail('broker.tls-expiry', `the broker's certificate expired on ${cert.valid_to}`, "renew the broker's certificate (the gateway refuses an expired one)"));
  } else if (result.authError && result.authError !== 'ERR_TLS_CERT_ALTNAME_INVALID') { // the host name is judged below
    findings.push(fail('broker.tls-chain', `the broker's certificate is not trusted: ${result.authError}`, 'set uplink.caFile to the CA that signed the broker certificate'));
  } else {
    findings.push(pass('broker.tls-chain', `certificate of ${cert.subject?.CN ?? host} signed by a trusted CA`));
    findings.push(
      days < EXPIRY_WARN_DAYS
        ? warn('broker.tls-expiry', `the broker's certificate expires in ${days} day(s) (${cert.valid_to})`, "renew the broker's certificate before it expires")
        : pass('broker.tls-expiry', `expires in ${days} days`),
    );
  }
  const identity = tls.checkServerIdentity(host, cert);
  findings.push(
    identity
      ? fail('broker.tls-host', `the certificate is not for ${host}: ${identity.message}`, `use the host name the certificate names in uplink.broker, or get a certificate for ${host}`)
      : pass('broker.tls-host', `the certificate names ${host}`),
  );
  return findings;
}

/** CONNACK codes that mean "your credentials" (MQTT 3.1.1: 4, 5; MQTT 5: 134, 135). */
const REFUSED_CREDENTIALS = new Set([4, 5, 134, 135]);

async function mqttCheck(config: Config, secrets: { username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<Finding[]> {
  const { connectAsync } = await import('mqtt');
  const { uplink } = config;
  const topic = `${uplink.topicPrefix}/${config.site.id}/${config.gateway.id}/doctor`;
  let client: Awaited<ReturnType<typeof connectAsync>>;
  try {
    client = await connectAsync(uplink.broker!, {
      clientId: `${uplink.clientId ?? config.gateway.id}-doctor`,
      protocolVersion: uplink.protocolVersion,
      username: secrets.username,
      password: secrets.password,
      ca: secrets.ca,
      cert: secrets.cert,
      key: secrets.key,
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: TIMEOUT_MS * 2,
      clean: true,
    });
  } catch (e) {
    const code = Number((e as { code?: unknown }).code);
    if (REFUSED_CREDENTIALS.has(code)) {
      return [fail('broker.mqtt', `the broker refused the site's credentials (CONNACK ${code}: ${errorMessage(e)})`, 'check uplink.usernameFile and passwordFile against the account on the broker')];
    }
    return [fail('broker.mqtt', `no CONNACK: ${errorMessage(e)}`, 'check the broker accepts this client (MQTT version, client certificate, ACL)')];
  }
  const findings = [pass('broker.mqtt', `CONNACK accepted as ${secrets.username ?? (secrets.cert ? 'the client certificate' : 'anonymous')}`)];
  try {
    const payload = `doctor ${Date.now()}`;
    const echoed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
      client.on('message', (t, m) => {
        if (t === topic && m.toString() === payload) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, payload, { qos: 1 });
    const ok = await echoed;
    findings.push(
      ok
        ? pass('broker.round-trip', `published and received on ${topic}`)
        : warn('broker.round-trip', `nothing came back on ${topic} (subscription ${granted.map((g) => g.qos).join(',')})`, `let the gateway's account read and write ${uplink.topicPrefix}/${config.site.id}/${config.gateway.id}/# in the broker's ACL`),
    );
  } catch (e) {
    findings.push(warn('broker.round-trip', `round trip on ${topic} failed: ${errorMessage(e)}`, `let the gateway's account read and write ${topic} in the broker's ACL`));
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
  return findings;
}
