import { join } from 'node:path';
import { afterAll } from 'vitest';
import { Store } from '../../src/store/store.js';
import { makeTempDir, removeTempDirs } from './helpers.js';
import { MemoryOutbox } from './memory-outbox.js';
import { describeOutboxContract } from './outbox-contract.js';

afterAll(removeTempDirs);

describeOutboxContract('SQLite store', () => {
  const dir = makeTempDir();
  const opts = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') };
  let store = Store.open(opts);
  return {
    get outbox() {
      return store;
    },
    reopen() {
      store.close();
      store = Store.open(opts);
      return store;
    },
    dispose: () => store.close(),
  };
});

// The model used by the property test must itself meet the contract.
describeOutboxContract('in-memory model', () => {
  const outbox = new MemoryOutbox();
  return { outbox, reopen: () => outbox, dispose: () => undefined };
});
