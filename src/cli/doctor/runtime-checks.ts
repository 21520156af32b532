/** The runtime itself: Node's version and support, the native modules, the store cipher's self-test. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, guarded, pass, warn, type Finding } from './verdict.js';

/** Node release lines the gateway is built and tested on, with their end of life (nodejs.org release schedule). */
const NODE_END_OF_LIFE: Readonly<Record<number, string>> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };

export function nodeVersionFinding(version: string = process.versions.node, now: Date = new Date()): Finding {
  const major = Number(version.split('.')[0]);
  const eol = NODE_END_OF_LIFE[major];
  if (!eol) return fail('runtime.node', `Node ${version} is not a release line Passerelle supports (20, 22, 24)`, 'install the Node runtime shipped with the package (deploy/)');
  if (now.toISOString().slice(0, 10) > eol) return warn('runtime.node', `Node ${version}: its line went out of support on ${eol} (no more security fixes)`, 'upgrade to Node 24, as shipped in the .deb');
  return pass('runtime.node', `Node ${version}, supported until ${eol}`);
}

export async function runtimeFindings(cipher: 'chacha20' | 'sqlcipher'): Promise<Finding[]> {
  return [
    nodeVersionFinding(),
    ...(await guarded('runtime.sqlite', () => nativeSqlite(), 'reinstall the package: the SQLite native module does not load on this system')),
    ...(await guarded('runtime.serialport', () => nativeSerial(), 'reinstall the package: the serial port native module does not load on this system')),
    ...(await guarded('store.cipher-self-test', () => cipherSelfTest(cipher), 'reinstall the package: its SQLite build cannot encrypt with this cipher')),
  ];
}

async function nativeSqlite(): Promise<Finding[]> {
  const { default: Database } = await import('better-sqlite3-multiple-ciphers');
  const db = new Database(':memory:');
  const version = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return [pass('runtime.sqlite', `better-sqlite3-multiple-ciphers loads (SQLite ${version})`)];
}

async function nativeSerial(): Promise<Finding[]> {
  const { SerialPort } = await import('serialport');
  const ports = await SerialPort.list();
  return [pass('runtime.serialport', `serialport loads (${ports.length} port${ports.length === 1 ? '' : 's'} listed)`)];
}

/**
 * Encrypts a throwaway database with the site's cipher and a fresh key, reads it back, and checks that a
 * wrong key is refused: the store's own key code (store/unlock.ts), not a copy of it.
 */
export async function cipherSelfTest(cipher: 'chacha20' | 'sqlcipher'): Promise<Finding[]> {
  const { default: Database } = await import('better-sqlite3-multiple-ciphers');
  const { applyKey } = await import('../../store/cipher.js');
  const { connect } = await import('../../store/unlock.js');
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-doctor-'));
  const key = randomBytes(32);
  const wrong = randomBytes(32);
  try {
    const file = join(dir, 'self-test.db');
    const db = new Database(file);
    applyKey(db, cipher, key);
    db.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('passerelle')");
    db.close();
    const back = connect(file, cipher, key, true);
    const v = (back.prepare('SELECT v FROM t').get() as { v: string }).v;
    back.close();
    if (v !== 'passerelle') return [fail('store.cipher-self-test', `${cipher}: read back "${v}"`, 'reinstall the package')];
    try {
      connect(file, cipher, wrong, true).close();
      return [fail('store.cipher-self-test', `${cipher}: a wrong key opened the test database (not encrypted?)`, 'reinstall the package: this SQLite build does not encrypt')];
    } catch {
      return [pass('store.cipher-self-test', `${cipher}: encrypts, reads back with its key, refuses another`)];
    }
  } finally {
    key.fill(0);
    rmSync(dir, { recursive: true, force: true });
  }
}
