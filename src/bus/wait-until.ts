/**
 * Waits until performance.now() reaches `deadline`, never earlier. Node timers run on a millisecond
 * clock cached per event-loop turn and may fire up to 1 ms early; the last fraction of a millisecond is
 * waited by yielding to the event loop (setImmediate), so I/O keeps flowing.
 */
import { performance } from 'node:perf_hooks';

export async function waitUntil(deadline: number): Promise<void> {
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    await new Promise((resolve) => (left >= 1 ? setTimeout(resolve, Math.floor(left)) : setImmediate(resolve)));
  }
}
