/**
 * Snapshot recovery of one table on a follower (spec §9.9): download the leader's snapshot (rate-limited,
 * bounded by the snapshot deadline) into a temporary file, then load it into a fresh local shard through
 * the engine's restore procedure, which switches the table to it atomically. The snapshot trailer's leader
 * index rides on the last batch, so polling resumes right after it.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { armada } from "../../proto/index.js";
import { restoreBatches } from "../../maintenance/restore.js";
import type { LeaderConnection } from "./leader-connection.js";
import type { LeaseFence } from "../../engine/metadata-fsm.js";

export interface RecoveryTarget {
  restoreTable(name: string, batches: AsyncIterable<armada.v1.ICommand>, options?: { signal?: AbortSignal; fence?: LeaseFence }): Promise<unknown>;
}

export interface RecoveryOptions {
  readonly snapshotTimeoutMs: number;
  /** Download limit in bytes per second; 0 = unlimited. */
  readonly maxBytesPerSecond: number;
  /** Flush size of the PUT_BATCH proposals. */
  readonly batchBytes: number;
  readonly spoolDir?: string;
}

/** What one recovery loaded. */
export interface RecoveryResult {
  readonly bytes: number;
  readonly durationMs: number;
}

export async function recoverTable(
  name: string,
  leader: LeaderConnection,
  engine: RecoveryTarget,
  options: RecoveryOptions,
  signal: AbortSignal,
  /** The lease tenure the restore is fenced by (see LeaseFence). */
  fence?: LeaseFence,
): Promise<RecoveryResult> {
  const started = performance.now();
  const dir = await mkdtemp(join(options.spoolDir ?? tmpdir(), "armada-recovery-"));
  try {
    const file = join(dir, "snapshot");
    const bytes = await download(leader.snapshot(name, options.snapshotTimeoutMs, signal), file, options.maxBytesPerSecond, signal);
    const framed = createReadStream(file) as AsyncIterable<Uint8Array>;
    await engine.restoreTable(name, restoreBatches(framed, Buffer.from(name, "utf8"), options.batchBytes), { signal, ...(fence ? { fence } : {}) });
    return { bytes, durationMs: performance.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the chunks' data to `file`, at most `maxBytesPerSecond` on average; returns the byte count. */
async function download(chunks: AsyncIterable<armada.v1.SnapshotChunk>, file: string, maxBytesPerSecond: number, signal: AbortSignal): Promise<number> {
  const out = createWriteStream(file);
  const started = performance.now();
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      const data = chunk.data;
      if (!out.write(data)) await once(out, "drain");
      bytes += data.length;
      if (maxBytesPerSecond > 0) {
        // Pace to the average rate: sleep until the bytes so far would have taken that long.
        const aheadMs = (bytes / maxBytesPerSecond) * 1000 - (performance.now() - started);
        if (aheadMs > 0) await delay(aheadMs, signal);
      }
    }
    out.end();
    await once(out, "finish");
    return bytes;
  } finally {
    out.destroy();
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal.removeEventListener("abort", onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
