/**
 * Child process of the crash harness: a real Gateway built from the JSON config given as argv[2].
 * It reports on fd 3, one line each, written synchronously so that what the parent reads after a
 * SIGKILL is exactly what happened before it:
 *   `b <n>`            the raw readings it holds at most before a commit (Gateway.rawBatchLimit)
 *   `ready`            the gateway started
 *   `i <n>`            n readings are about to enter the pipeline (written BEFORE ingest: conservative)
 *   `s <id>`           a summary message was enqueued in the outbox
 *   `p <id>`           the broker acknowledged a message (PUBACK)
 * SIGTERM stops the gateway in order, as `passerelle run` does.
 */
import { readFileSync, writeSync } from 'node:fs';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/core/logger.js';
import type { Reading } from '../../src/core/types.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';

const REPORT_FD = 3;
const report = (line: string): void => void writeSync(REPORT_FD, `${line}\n`);

class ReportingGateway extends Gateway {
  override ingest(readings: readonly Reading[]): void {
    report(`i ${readings.length}`);
    super.ingest(readings);
  }
}

const config = configSchema.parse(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));
const gateway = new ReportingGateway({
  config,
  profiles: loadProfiles(),
  logger: createLogger(process.env.CRASH_CHILD_LOG ?? 'error'),
  onEvent: (e) => {
    if (e.type === 'summary') for (const m of e.messages) report(`s ${m.id}`);
    else report(`p ${e.message.id}`);
  },
});

process.once('SIGTERM', () => {
  gateway.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
await gateway.start();
report(`b ${gateway.rawBatchLimit}`);
report('ready');
