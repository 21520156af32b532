/**
 * Child process for the rotation crash tests: rotates the store key and kills itself with SIGKILL
 * right after the step named in argv[4] ("none": runs to the end). Prints each step as it is reached,
 * so the parent can also kill it at a moment of its choosing (midway through the re-key).
 */
import { writeSync } from 'node:fs';
import { rotateStoreKey, type RotationStep } from '../../src/store/rotate.js';

const [path, keyFile, crashAt] = process.argv.slice(2) as [string, string, RotationStep | 'none'];
rotateStoreKey({
  path,
  keyFile,
  onStep: (step) => {
    writeSync(1, `${step}\n`);
    if (step === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
writeSync(1, 'done\n');
