export * from './schema.js';
export { loadProfiles, loadProfileFile, getProfile, defaultProfileDir, packageRoot, registersFor } from './load.js';
