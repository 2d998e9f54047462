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
 * Scavenges on the main thread alone (no parallel scavenge): a serving node's scavenges find a few
 * kilobytes alive, too little to share out, and V8's hand-over to helper threads cost more than the
 * copying. On a machine whose other cores are busy (the load generator of the benchmark, or any other
 * process) the helpers also wait for a core. Measured at 60,000 serializable reads/s on two cores: the
 * average scavenge pause fell from 0.50 to 0.26 ms (its parallel phase from 0.23 to 0.07 ms, for 4 KB of
 * survivors) and the node's CPU from 85% to 75% of a core; at 68,000 reads/s, in five alternating pairs,
 * read p99 0.72–1.21 ms (median 0.98) against 1.19–2.88 ms (median 1.42) (docs/performance.md, change 48).
 * A scavenge with many survivors (a node loading a snapshot) takes longer on one thread; they are rare.
 *
 * Both flags are read by the collector at each scavenge, so setting them at startup (rather than on the
 * command line, which `node bin/armada.js` users would have to remember) takes effect; gc-tuning.test.ts
 * checks that for the parallel scavenge.
 *
 * Two settings must be given to Node when it starts, {@link SERVER_NODE_FLAGS}. The first is the young
 * generation's size (V8 sizes the young generation once). V8 grows the semi-spaces while survival is high
 * (a node loading keys) and does not shrink them afterwards, so a node that took writes scavenged half as
 * often as the no-op server and paused twice as long (0.9–1.1 ms, up to 2 ms, against 0.3–0.4 ms at 68,000
 * reads/s). Capped at 8 MB, in three alternating pairs of two runs at that rate: read p99 0.87–1.35 ms
 * (median 1.07) against 1.16–7.12 ms (median 1.36) uncapped, at the same CPU per call (docs/performance.md,
 * finding 45 and change 46).
 *
 * The second turns V8's memory reducer off. It exists to shrink an idle heap, and it has a watchdog: when
 * no full collection has run for 100 s, it starts a memory-reducing one whether or not the process is
 * busy. A serving node's old generation grows slowly (promoted in-flight requests), so on a loaded node
 * that watchdog fired about 100 s after the last full collection. Its collection paused the node for
 * 15–25 ms in steps, shrank the young generation, and the scavenges after it copied the requests in
 * flight (1–3.5 ms each). At half of peak (70,000 reads/s, the core 85–98% busy) the queue that built up
 * took a few hundred milliseconds to drain: read p99 36–181 ms in the affected 5 s run, in every full
 * benchmark run of two sessions, on the no-op server as on Armada (docs/performance.md, change 59).
 * Full collections still run when the old generation grows; an idle node just keeps its heap (tens of
 * megabytes) instead of giving it back. Set at runtime, the flag leaves the reducer's timer running
 * (gc-tuning.test.ts checks both ways), and Node refuses it in NODE_OPTIONS.
 *
 * Every launcher the project ships passes both: the `armada` command's shebang, `npm start`, the
 * container image's entry point, the Kubernetes manifests, the test and bench harnesses.
 */
import { setFlagsFromString } from "node:v8";

/** Node options for a serving process, given where Node starts (see above). */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--no-memory-reducer"];

/**
 * The serving options this process was started without: the young-generation limit may come from the
 * command line or NODE_OPTIONS, the memory reducer's switch only from the command line. The CLI mentions
 * the missing ones at startup.
 */
export function missingServingFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): string[] {
  const missing: string[] = [];
  if (![...execArgv, ...nodeOptions.split(/\s+/)].some((option) => /^--max-semi-space-size(=|$)/.test(option))) missing.push("--max-semi-space-size=8");
  if (!execArgv.some((option) => /^--no-memory-reducer$|^--memory-reducer=false$/.test(option))) missing.push("--no-memory-reducer");
  return missing;
}

/** Idempotent: setting the flags again changes nothing. */
export function tuneGarbageCollectorForServing(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
  setFlagsFromString("--no-parallel-scavenge");
}
