import { register } from 'node:module';
register('./no-aedes-hooks.mjs', import.meta.url);
