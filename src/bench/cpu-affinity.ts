/**
 * Separate cores for the open-loop generator and the server it measures (the half-peak row).
 *
 * Why: on a two-core machine the generator (60–70% of a core at 60,000 calls/s) and the server share both
 * cores, and the kernel moves them around: a server woken by the generator's write is often placed on the
 * generator's core and waits there, and a server that changes core starts with cold caches.
 *
 * What is held: the generator, threads and all, to the last core; the server's main thread (the event
 * loop, where every call is served) to the others. The server's helper threads (V8's, libuv's) go where
 * the kernel puts them, as in a deployment: held to the main thread's core too, the no-op server had
 * stalls of 60–150 ms in four of nine runs (docs/performance.md, change 51). What that
 * costs lands in the latency measured, and it is a cost of the bench, not of the server: a real client
 * runs elsewhere. Measured at 60,000 serializable reads/s on Armada after loading 10,000 keys: read p99
 * 1.12–2.10 ms and the node at 86–93% of a core unpinned, 0.72–1.34 ms and 74–87% with the generator on
 * one core and the node on the other (docs/performance.md, change 51). The no-op server is held to its
 * core the same way; etcd, which works on every core, keeps them (index.ts, `singleThreaded`).
 *
 * Affinity is set with `taskset` (util-linux, part of every Debian system): Node has no call for it.
 */
import { execFileSync } from "node:child_process";

/** Parses a Linux CPU list ("0-2,5") into CPU numbers, ascending. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

export function formatCpuList(cpus: readonly number[]): string {
  return cpus.join(",");
}

export interface CpuSplit {
  /** The generator's core: the last one allowed. */
  readonly generator: readonly number[];
  /** Every other allowed core, for the measured server's processes. */
  readonly servers: readonly number[];
}

/** Splits the allowed cores: one for the generator, the rest for the servers; null with fewer than two. */
export function splitCpus(allowed: readonly number[]): CpuSplit | null {
  if (allowed.length < 2) return null;
  return { generator: allowed.slice(-1), servers: allowed.slice(0, -1) };
}

/** The CPUs process `pid` may run on (its main thread's affinity), or null when taskset is missing or fails. */
export function affinityOf(pid: number): number[] | null {
  try {
    const out = execFileSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const list = /list:\s*(\S+)/.exec(out)?.[1];
    return list ? parseCpuList(list) : null;
  } catch {
    return null;
  }
}

/** Sets the affinity of the main thread of process `pid` (not its other threads); throws when taskset refuses. */
export function setAffinity(pid: number, cpus: readonly number[]): void {
  execFileSync("taskset", ["-c", "-p", formatCpuList(cpus), String(pid)], { stdio: "ignore" });
}

/**
 * Runs `work` with the main threads of the processes `pids` held to `cpus`, and gives each its previous
 * affinity back afterwards (the rows after this one use every core again). A process that is gone is
 * left out.
 */
export async function withAffinity<T>(pids: readonly number[], cpus: readonly number[], work: () => Promise<T>): Promise<T> {
  const previous = new Map<number, number[]>();
  try {
    for (const pid of pids) {
      const before = affinityOf(pid);
      if (!before) continue;
      setAffinity(pid, cpus);
      previous.set(pid, before);
    }
    return await work();
  } finally {
    for (const [pid, cpuList] of previous) {
      try {
        setAffinity(pid, cpuList);
      } catch {
        // The process exited during the run: nothing to give back.
      }
    }
  }
}
