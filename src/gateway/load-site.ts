/** Loads and checks a site config plus the profiles it names; every problem as FILE:LINE:COL. */
import { configIssueAt, formatIssue, loadConfigFile, loadConfigText, type Config, type ConfigResult, type ConfigIssue, type KnownProfiles, type LoadOptions, MbusPointNames } from '../config/index.js';
import { planSite } from '../drivers/modbus/site-plan.js';
import { ConfigRejected } from './config-rejected.js';
import { loadMbusProfiles, loadProfileLibrary, type FileOverlay, type MbusProfile, type Profile } from '../profiles/index.js';
import { parseGenericPointName } from '../drivers/serial/mbus/points.js';

export interface Site {
  readonly config: Config;
  readonly profiles: Map<string, Profile>;
}


/** Profile ids with their point names, so a device's `points` are checked with line numbers too. */
export const knownProfiles = (profiles: ReadonlyMap<string, Profile>, mbus: ReadonlyMap<string, MbusProfile> = new Map()): KnownProfiles =>
  new Map<string, Iterable<string>>([
    ...[...profiles].map(([id, p]) => [id, p.points.map((x) => x.name)] as [string, string[]]),
    ...[...mbus].map(([id, p]) => [id, p.generic ? new GenericMbusNames() : new MbusPointNames(p.points.map((x) => x.name))] as [string, Iterable<string>]),
  ]);

/** The names the generic M-Bus profile accepts: a grammar (energy, volume_s1, power_maximum...), not a list. */
class GenericMbusNames extends MbusPointNames {
  constructor() {
    super([], false);
  }

  override has(name: string): boolean {
    return parseGenericPointName(name) !== undefined;
  }
}

export async function loadSite(file: string): Promise<Site> {
  const { result, profiles } = await loadSiteConfig(file);
  if (!result.ok) throw new ConfigRejected(result.errors.map(formatIssue));
  return { config: result.config, profiles };
}

/** The config with the site's profile library (shipped + `profiles:` folders), every problem of both pinned. */
export async function loadSiteConfig(file: string): Promise<{ result: ConfigResult; profiles: Map<string, Profile> }> {
  const library = siteProfileLibrary();
  const result = await loadConfigFile(file, { profileLibrary: library.load });
  return { result, profiles: library.profiles() };
}

/**
 * A site's text checked as `passerelle check` checks its file (shipped Modbus and M-Bus profiles, and the
 * `profiles:` folders, relative ones from `file`'s folder): what a pushed or applied config must pass.
 */
export function checkSiteText(text: string, file: string): ConfigResult {
  return loadConfigText(text, file, { profileLibrary: siteProfileLibrary().load });
}

/**
 * The same, with the profile library it was checked against; `overlay` holds files not staged yet (a
 * remote bundle's, by absolute path under `file`'s folder), read instead of the disk there.
 */
export function checkSite(text: string, file: string, overlay?: FileOverlay): { result: ConfigResult; profiles: Map<string, Profile> } {
  const library = siteProfileLibrary(overlay);
  const result = loadConfigText(text, file, { profileLibrary: library.load });
  return { result, profiles: library.profiles() };
}

function siteProfileLibrary(overlay?: FileOverlay): { load: NonNullable<LoadOptions['profileLibrary']>; profiles: () => Map<string, Profile> } {
  const mbus = loadMbusProfiles();
  let profiles = new Map<string, Profile>();
  return {
    load: (dirs) => {
      const library = loadProfileLibrary(dirs, undefined, overlay);
      profiles = library.profiles;
      return { known: knownProfiles(library.profiles, mbus), issues: library.issues };
    },
    profiles: () => profiles,
  };
}

/**
 * The line budget's warnings (a poll shorter than one cycle of the device, a line over budget, a point
 * the device cannot be asked for), each pinned to the config line to edit. Advice, not refusal: the
 * gateway runs, reading as fast as the line allows.
 */
export function lineBudgetWarnings({ config, profiles }: Site): ConfigIssue[] {
  const deviceIndex = new Map(config.devices.map((d, i) => [d.id, i]));
  const busIndex = new Map(config.buses.map((b, i) => [b.id, i]));
  return planSite(config, profiles).warnings.map((w) => {
    const device = w.device === undefined ? undefined : deviceIndex.get(w.device);
    const path =
      device === undefined
        ? ['buses', busIndex.get(w.bus) ?? 0]
        : w.kind === 'cycle-exceeds-poll'
          ? ['devices', device, 'poll']
          : ['devices', device];
    return configIssueAt(config, path, w.message);
  });
}
