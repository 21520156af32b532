// CycloneDX SBOM of the package: `npm sbom` for the production modules, plus what npm cannot see,
// added by hand with their SHA-256: the bundled Node binary and the SQLite3MultipleCiphers amalgamation
// compiled into better-sqlite3-multiple-ciphers. Run before prune.sh (which deletes the amalgamation).
// Usage: node sbom.mjs APP_DIR NODE_DIR ARCH NODE_VERSION > sbom.cdx.json
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [appDir, nodeDir, arch, nodeVersion] = process.argv.slice(2);
if (!appDir || !nodeDir || !arch || !nodeVersion) {
  console.error('usage: node sbom.mjs APP_DIR NODE_DIR ARCH NODE_VERSION');
  process.exit(2);
}
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const hashes = (file) => [{ alg: 'SHA-256', content: sha256(file) }];

/** name@version of every package installed under node_modules (nested ones included). */
function installed(dir, found = new Set()) {
  const nm = join(dir, 'node_modules');
  if (!existsSync(nm)) return found;
  for (const entry of readdirSync(nm)) {
    const dirs = entry.startsWith('@') ? readdirSync(join(nm, entry)).map((n) => join(nm, entry, n)) : [join(nm, entry)];
    for (const d of dirs) {
      const manifest = join(d, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'));
      found.add(`${name}@${version}`);
      installed(d, found);
    }
  }
  return found;
}

// From the lockfile (npm sbom refuses a tree without dev dependencies), then only what is installed:
// the lockfile also lists the optional prebuilt packages of other platforms.
const sbom = JSON.parse(
  execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--package-lock-only', '--sbom-type', 'application'], {
    cwd: appDir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }),
);
const present = installed(appDir);
sbom.components = sbom.components.filter((c) => present.has(`${c.name}@${c.version}`));
sbom.metadata.component.name = 'passerelle';
sbom.metadata.lifecycles = [{ phase: 'build' }];

const amalgamation = join(appDir, 'node_modules', 'better-sqlite3-multiple-ciphers', 'deps', 'sqlite3', 'sqlite3.c');
const source = readFileSync(amalgamation, 'latin1');
const mcVersion = /#define SQLITE3MC_VERSION_STRING\s+"SQLite3 Multiple Ciphers ([\d.]+)"/.exec(source)?.[1];
const sqliteVersion = /#define SQLITE_VERSION\s+"([\d.]+)"/.exec(source)?.[1];
if (!mcVersion || !sqliteVersion) throw new Error(`no version found in ${amalgamation}`);

sbom.components.push(
  {
    type: 'platform',
    name: 'node',
    version: nodeVersion,
    description: `Node.js runtime, official linux-${arch} binary (npm package node-linux-${arch}), /opt/passerelle/node/bin/node`,
    licenses: [{ license: { id: 'MIT' } }],
    purl: `pkg:npm/node-linux-${arch}@${nodeVersion}`,
    hashes: hashes(join(nodeDir, 'bin', 'node')),
  },
  {
    type: 'library',
    name: 'SQLite3MultipleCiphers',
    version: mcVersion,
    description: `SQLite ${sqliteVersion} with encryption, amalgamation vendored in better-sqlite3-multiple-ciphers and compiled into its addon`,
    licenses: [{ license: { id: 'MIT' } }],
    purl: `pkg:github/utelle/SQLite3MultipleCiphers@v${mcVersion}`,
    hashes: hashes(amalgamation),
  },
);
process.stdout.write(`${JSON.stringify(sbom, null, 2)}\n`);
