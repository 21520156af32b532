// Runs with the packaged Node on the packaged app (under qemu-aarch64-static for arm64): the encrypted
// store opens, writes, reopens with its key and refuses a wrong one; the serial bindings and the CBOR
// accelerator load. Usage: node load-test.mjs /path/to/opt/passerelle/app
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const app = process.argv[2];
if (!app) throw new Error('usage: node load-test.mjs APP_DIR');
const { Store } = await import(pathToFileURL(join(app, 'dist', 'store', 'store.js')).href);
const require = createRequire(join(app, 'package.json'));
const dir = mkdtempSync(join(tmpdir(), 'passerelle-load-'));
const check = (ok, what) => {
  if (!ok) throw new Error(`load test failed: ${what}`);
  console.log(`ok  ${what}`);
};
try {
  const path = join(dir, 'site.db');
  const keyFile = join(dir, 'site.key');
  const reading = { device: 'meter', point: 'power', ts: Date.now(), value: 42, quality: 'good' };
  let store = Store.open({ path, keyFile, env: {} });
  store.appendReadings([reading]);
  store.close();
  check(true, 'encrypted store created and written');
  store = Store.open({ path, keyFile, env: {} });
  check(store.readingCount() === 1, 'store reopened with its key, reading kept');
  check(store.storeInfo().cipher !== 'none', `store encrypted (${store.storeInfo().cipher})`);
  store.close();
  const wrongKey = join(dir, 'wrong.key');
  writeFileSync(wrongKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  let refused = false;
  try {
    Store.open({ path, keyFile: wrongKey, env: {} }).close();
  } catch (e) {
    refused = true;
    console.log(`    wrong key: ${e.code ?? ''} ${e.message}`);
  }
  check(refused, 'wrong key refused');
  // What @serialport/bindings-cpp loads itself: the prebuild for this platform (list() would need udevadm).
  const serialDir = join(require.resolve('@serialport/bindings-cpp/package.json'), '..');
  const serial = require('node-gyp-build')(serialDir);
  check(typeof serial.open === 'function' && typeof serial.update === 'function', 'serial bindings loaded');
  const cbor = require('cbor-extract');
  check(typeof cbor.extractStrings === 'function', 'cbor-extract native accelerator loaded');
  console.log(`load test passed on ${process.platform}-${process.arch}, Node ${process.version}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
