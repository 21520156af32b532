/**
 * The names of a bundle's files: relative paths under the site's folder (`site.yaml`,
 * `profiles/pump.yaml`, `nodered/flows.json`), staged into a slot with the same tree. Every name is
 * checked before anything is written, so that no name can point outside its slot or onto another file:
 * refused as `file-path` (the name) or `file-bound` (too many files, too many bytes), the bundle whole.
 */
import { Refusal } from './refusal.js';

/** A site carries a few profiles and one flows file; past this, the bundle is refused whole (`file-bound`). */
export const MAX_BUNDLE_FILES = 64;
/** Total UTF-8 bytes of the files' texts; the envelope cap (`maxBundleBytes`, 256 KiB by default) is usually the tighter bound. */
export const MAX_BUNDLE_TEXT_BYTES = 1_048_576;
const MAX_DEPTH = 4;
const MAX_NAME_BYTES = 255;
/** Written by the agent beside the site file (the signed envelope itself): no bundle file may take its name. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['bundle.dsse.json']);
/** Letters, digits, `_`, `-` and `.`, not starting with a dot (no hidden files, no `.` or `..`). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Why `name` cannot be a bundle file name, or undefined when it can. */
export function badFileName(name: string): string | undefined {
  if (name.includes('\0')) return 'contains a NUL byte';
  if (name.includes('\\')) return 'contains a backslash (names use /)';
  if (name.startsWith('/')) return 'is absolute (names are relative to the site file\'s folder)';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  const segments = name.split('/');
  if (segments.some((s) => s === '')) return 'has an empty segment (// or a trailing /)';
  if (segments.some((s) => s === '..')) return 'contains .. (it would leave the slot)';
  if (segments.some((s) => s === '.')) return 'contains a . segment';
  if (segments.length > MAX_DEPTH) return `is deeper than ${MAX_DEPTH} folders`;
  const odd = segments.find((s) => !SEGMENT.test(s));
  if (odd !== undefined) return `segment "${odd}" has a character other than letters, digits, _ - . (or starts with a dot)`;
  if (RESERVED_NAMES.has(name)) return 'is reserved (the gateway writes the envelope there)';
  return undefined;
}

/** Throws a Refusal for the first bad name, a duplicate (also case-folded), a file under another file, or a bound passed. */
export function checkBundleFiles(files: Readonly<Record<string, { readonly text: string }>>): void {
  const names = Object.keys(files);
  if (names.length > MAX_BUNDLE_FILES) throw new Refusal('file-bound', `${names.length} files; a bundle carries at most ${MAX_BUNDLE_FILES}`);
  let bytes = 0;
  for (const f of Object.values(files)) bytes += Buffer.byteLength(f.text);
  if (bytes > MAX_BUNDLE_TEXT_BYTES) throw new Refusal('file-bound', `${bytes} bytes of files; a bundle carries at most ${MAX_BUNDLE_TEXT_BYTES}`);
  const folded = new Map<string, string>();
  for (const name of names) {
    const why = badFileName(name);
    if (why) throw new Refusal('file-path', `file name ${JSON.stringify(name)} ${why}`);
    // Case-folded: on a case-insensitive file system (a FAT card, a copy on a laptop) both would be one file.
    const key = name.toLowerCase();
    const first = folded.get(key);
    if (first !== undefined) throw new Refusal('file-path', `file name ${JSON.stringify(name)} duplicates ${JSON.stringify(first)}`);
    folded.set(key, name);
  }
  for (const name of names) {
    const parts = name.toLowerCase().split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = folded.get(parts.slice(0, i).join('/'));
      if (folder !== undefined) throw new Refusal('file-path', `file name ${JSON.stringify(name)} lies under ${JSON.stringify(folder)}, which is a file`);
    }
  }
}
