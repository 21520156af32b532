export * from './schema.js';
export { loadProfiles, loadProfileFile, getProfile, defaultProfileDir, packageRoot, registersFor } from './load.js';
export * from './mbus-quantities.js';
export * from './mbus-schema.js';
export { mbusUnitFactor } from './mbus-units.js';
export { loadMbusProfiles, loadMbusProfileFile, getMbusProfile, defaultMbusProfileDir } from './mbus-load.js';
export { checkProfileFile, formatProfileIssue, type ProfileIssue } from './load.js';
export { loadProfileLibrary, type FileOverlay, type LibraryIssue, type ProfileLibrary } from './library.js';
