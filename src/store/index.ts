export { STORE_CIPHERS, type StoreCipher } from './cipher.js';
export { KEY_BYTES, loadOrCreateKey } from './keyfile.js';
export { MAX_PEEK } from './outbox.js';
export { MAX_READINGS_PER_QUERY } from './readings.js';
export { SCHEMA_VERSION } from './schema.js';
export { Store, type StoreInfo, type StoreOptions } from './store.js';
