export * from './schema.js';
export { configIssueAt, loadConfigFile, loadConfigText, validateConfigRefs, MAX_CONFIG_BYTES, type ConfigResult, type LoadOptions, type LocalProfileIssue } from './load.js';
export { MbusPointNames, type KnownProfiles } from './refs.js';
export { formatIssue, formatPath, configError, type ConfigIssue } from './errors.js';
export { configJsonSchema, renderConfigJsonSchema, CONFIG_SCHEMA_ID } from './jsonschema.js';
