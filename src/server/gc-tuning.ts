/**
 * V8 settings for a long-running server, applied when `armada leader` or `armada follower` starts.
 *
 * Allocation-site pretenuring off: after a burst of writes, V8 had learned to allocate objects of some
 * request-path allocation sites directly in the old generation (they had outlived a scavenge while writes
 * waited for their Raft round). On the read path those objects die young, but in the old generation they
 * stay until the next full collection and keep what they point to alive through every scavenge. Measured
 * on a single node serving serializable reads after loading 10,000 keys: a quarter of the young generation
 * survived each scavenge (2.2–2.7 MB copied, 4–6 ms pauses) and read p99 was 3.7–4.8 ms; with pretenuring
 * off, 0.6% survived (about 47 KB), pauses were about 1 ms and p99 1.1–1.4 ms, as after a restart. Write
 * throughput did not suffer (3-node Put, three alternating pairs: 4,857/4,249/4,541 req/s without against
 * 4,406/3,899/4,376 with). See docs/performance.md.
 *
 * The flag is read by the collector at each scavenge, so setting it at startup (rather than on the
 * command line, which `node bin/armada.js` users would have to remember) takes effect.
 */
import { setFlagsFromString } from "node:v8";

/** Idempotent: setting the flag again changes nothing. */
export function tuneGarbageCollectorForServing(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
