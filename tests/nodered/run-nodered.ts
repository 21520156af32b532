/** Runs startNodeRed for a config given as JSON (argv[2]) until SIGTERM: lets a test start Node-RED in another UTS namespace (hostname). */
import { createLogger } from '../../src/core/logger.js';
import { startNodeRed } from '../../src/nodered/start.js';

const handle = startNodeRed(JSON.parse(process.argv[2]!), { logger: createLogger('warn') });
process.once('SIGTERM', () => void handle.stop().then(() => process.exit(0)));
