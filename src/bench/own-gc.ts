/**
 * A full garbage collection of the bench process itself, run before each latency run.
 *
 * Why: the bench process builds its tables from h2load's request logs and starts servers, and V8
 * collects that garbage when it likes, including in the middle of the next run. A full collection of a
 * heap of tens of megabytes takes 10–40 ms of CPU, and during an open-loop run there is no spare core
 * for it: it lands on the generator's core or the server's, and shows up as latency that neither the
 * generator nor the server caused (docs/performance.md, change 54). Collecting before the run leaves
 * the process nothing to collect while the run goes on.
 */
import { fullGc } from "../test-support/full-gc.js";

/** Collects every generation of this process's heap, now. */
export function collectOwnGarbage(): void {
  // Twice: objects with finalizers or weak references survive the first and go in the second.
  fullGc();
  fullGc();
}
