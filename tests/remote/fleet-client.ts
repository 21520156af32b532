/**
 * The operator's side of the MQTT tests: client certificates from the test CA, the fleet service's
 * connection (TLS, client certificate, the example ACL's `fleet-svc`), the gateway's status topic
 * collected, and a publish that waits for the outcome it causes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import type { RemoteStatus } from '../../src/remote/status.js';
import { cfgTopic } from '../../src/remote/topics.js';
import type { TestPki } from '../helpers/certs.js';

const run = promisify(execFile);

/** Another client certificate from the test CA (CN = name). */
export async function leafCert(pki: TestPki, name: string): Promise<{ cert: Buffer; key: Buffer }> {
  const o = { cwd: pki.dir };
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], o);
  await run('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${pki.clientName}.ext`], o);
  return { cert: readFileSync(join(pki.dir, `${name}.crt`)), key: readFileSync(join(pki.dir, `${name}.key`)) };
}

/** Connects as the fleet service and appends every status of `gateway` (but `offline`) to `statuses`. */
export async function connectFleet(brokerUrl: string, pki: TestPki, cert: { cert: Buffer; key: Buffer }, gateway: string, statuses: RemoteStatus[]): Promise<MqttClient> {
  const fleet = connect(brokerUrl, { protocolVersion: 5, clientId: 'fleet-test', ca: readFileSync(pki.caFile), ...cert, rejectUnauthorized: true });
  await new Promise<void>((resolve, reject) => {
    fleet.once('connect', () => resolve());
    fleet.once('error', reject);
  });
  fleet.on('message', (t, payload) => {
    if (t !== cfgTopic('pas/v1', gateway, 'status')) return;
    const s = JSON.parse(payload.toString()) as RemoteStatus;
    if (s.state !== 'offline') statuses.push(s);
  });
  await fleet.subscribeAsync(cfgTopic('pas/v1', gateway, 'status'), { qos: 1 });
  return fleet;
}

/** Publishes a bundle (retained, with expiry) to `gateway` and waits for the first new outcome but `accepted`. */
export async function publishAndWait(fleet: MqttClient, statuses: readonly RemoteStatus[], gateway: string, bytes: Buffer | string, timeoutMs = 30_000): Promise<RemoteStatus> {
  const seen = statuses.length;
  const before = JSON.stringify(statuses.at(-1)?.last);
  await fleet.publishAsync(cfgTopic('pas/v1', gateway, 'desired'), bytes, { qos: 1, retain: true, properties: { messageExpiryInterval: 3600 } });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = statuses.slice(seen).find((x) => x.last && JSON.stringify(x.last) !== before && x.last.outcome !== 'accepted');
    if (s) return s;
    if (Date.now() > deadline) throw new Error(`no status after publish (last: ${before})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
