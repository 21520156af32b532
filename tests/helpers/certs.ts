/**
 * A throwaway PKI for TLS tests, made with the openssl CLI in a temp dir: a CA, a server certificate
 * for 127.0.0.1 (IP SAN, so hostname verification really runs) and a client certificate (mutual TLS),
 * plus a second, unrelated CA to prove that verification refuses a stranger.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A CA that signed nothing here: a client trusting only it must refuse the broker. */
  readonly otherCaFile: string;
  /** The client certificate's CN (mosquitto's username with use_identity_as_username). */
  readonly clientName: string;
  read(file: string): Promise<Buffer>;
  remove(): Promise<void>;
}

const openssl = (dir: string, args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

async function makeLeaf(dir: string, name: string, ca: string, extFile: string): Promise<void> {
  await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '2', '-out', `${name}.crt`, '-extfile', extFile]);
}

export async function createTestPki(clientName = 'gw-test'): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-pki-'));
  // mosquitto, started as root, drops to its own user before reading these.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, `${clientName}.ext`), 'extendedKeyUsage=clientAuth\n');
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await makeLeaf(dir, 'server', 'ca', 'server.ext');
  await makeLeaf(dir, clientName, 'ca', `${clientName}.ext`);
  await chmod(join(dir, 'server.key'), 0o644); // mosquitto's own user reads it
  await chmod(join(dir, `${clientName}.key`), 0o600); // the gateway refuses a client key others can read
  const at = (f: string): string => join(dir, f);
  return {
    dir,
    caFile: at('ca.crt'),
    serverCertFile: at('server.crt'),
    serverKeyFile: at('server.key'),
    clientCertFile: at(`${clientName}.crt`),
    clientKeyFile: at(`${clientName}.key`),
    otherCaFile: at('other-ca.crt'),
    clientName,
    read: (file) => readFile(file),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
