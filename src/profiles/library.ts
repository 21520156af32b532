/**
 * The profile library of a site: the shipped hardware/profiles plus the site's own folders (`profiles:` in
 * the site config, e.g. /etc/passerelle/profiles), plain YAML files that remote bundles can carry. A local
 * profile adds a model; it never replaces a shipped one: the same id is an error at the local file's line.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkProfileFile, defaultProfileDir, loadProfiles, type ProfileIssue } from './load.js';
import type { Profile } from './schema.js';

/** A problem of the local library: in a profile file (`at`), or with folder `dir` itself. */
export interface LibraryIssue {
  readonly dir: number;
  readonly at?: ProfileIssue;
  readonly message: string;
}

export interface ProfileLibrary {
  readonly profiles: Map<string, Profile>;
  readonly issues: LibraryIssue[];
}

/** A site's folder holds a few dozen profiles at most; more is a wrong folder (the bound says so). */
export const MAX_LOCAL_PROFILES = 500;

/**
 * Files not on disk yet, by absolute path: a remote bundle's, checked before it is staged. A folder at or
 * under `root` is read from `files` only (never from what the disk holds there).
 */
export interface FileOverlay {
  readonly root: string;
  readonly files: ReadonlyMap<string, string>;
}

export function loadProfileLibrary(localDirs: readonly string[], shippedDir: string = defaultProfileDir(), overlay?: FileOverlay): ProfileLibrary {
  const shipped = loadProfiles(shippedDir);
  const profiles = new Map(shipped);
  const origin = new Map<string, string>([...shipped.keys()].map((id) => [id, join(shippedDir, `${id}.yaml`)]));
  const issues: LibraryIssue[] = [];
  localDirs.forEach((dir, index) => {
    if (dir === '') return; // an entry the config schema already refused
    const inOverlay = overlay !== undefined && (dir === overlay.root || dir.startsWith(`${overlay.root}/`));
    const files = inOverlay ? overlayYamlFiles(dir, overlay) : yamlFiles(dir);
    if (typeof files === 'string') return void issues.push({ dir: index, message: files });
    for (const file of files) {
      const checked = checkProfileFile(file, inOverlay ? overlay.files.get(file) : undefined);
      for (const at of checked.issues) issues.push({ dir: index, at, message: at.message });
      const profile = checked.profile;
      if (!profile) continue;
      const first = origin.get(profile.id);
      if (first !== undefined) {
        const { line, col } = checked.locateId!();
        const what = shipped.has(profile.id) ? 'a shipped profile' : 'another local profile';
        const message = `id "${profile.id}" is already ${what} (${first}): a local profile adds a model, it cannot replace one; rename the file and its id`;
        issues.push({ dir: index, at: { file, line, col, field: 'id', message }, message });
        continue;
      }
      profiles.set(profile.id, profile);
      origin.set(profile.id, file);
    }
  });
  return { profiles, issues };
}

/** The *.yaml / *.yml files of a folder, sorted, or why they cannot be listed. */
function yamlFiles(dir: string): string[] | string {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder (profiles: lists folders of profile files)`;
    const names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
    if (names.length > MAX_LOCAL_PROFILES) return `${dir} holds ${names.length} YAML files, over ${MAX_LOCAL_PROFILES}: is it the right folder?`;
    return names.map((n) => join(dir, n));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? "permission denied (the gateway's user must be able to read it)" : (e as Error).message;
    return `cannot read the profile folder ${dir}: ${why}`;
  }
}

/** The *.yaml / *.yml files of a folder of the overlay, sorted, or why there are none. */
function overlayYamlFiles(dir: string, overlay: FileOverlay): string[] | string {
  const all = [...overlay.files.keys()];
  if (!all.some((f) => f.startsWith(`${dir}/`))) return `no folder ${dir} in the bundle: carry its files (passerelle fleet sign collects the profiles: folders)`;
  const names = all.filter((f) => dirname(f) === dir && /\.ya?ml$/.test(f)).sort();
  if (names.length > MAX_LOCAL_PROFILES) return `${dir} holds ${names.length} YAML files, over ${MAX_LOCAL_PROFILES}: is it the right folder?`;
  return names;
}
