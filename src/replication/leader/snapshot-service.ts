/**
 * Snapshot/Stream on the leader cluster (spec §9.4): a consistent, linearizable snapshot of one table in
 * chunks of at most 1 MiB. The snapshot is spooled to a temporary file first, so the storage view is not
 * held open (and LMDB pages not pinned) while a slow follower downloads it.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "../../engine/engine.js";
import type { CallContext, Handler } from "../../api/bind.js";
import { lookupTable } from "../../api/kv.js";
import { Code, StatusError } from "../../api/status.js";
import type { armada } from "../../proto/index.js";

/** Largest `SnapshotChunk.data` (spec §9.4). */
export const SNAPSHOT_CHUNK_BYTES_MAX = 1024 * 1024;
/** Deadline of a Snapshot/Stream whose client set none (spec §9.4). */
export const SNAPSHOT_STREAM_DEADLINE_MS = 60 * 60 * 1000;

export interface SnapshotServiceOptions {
  /** Where snapshots are spooled; the OS temporary directory by default. */
  readonly spoolDir?: string;
}

export function snapshotHandlers(engine: Engine, options: SnapshotServiceOptions = {}): Record<string, Handler> {
  return {
    Stream: async (request: armada.v1.SnapshotRequest, context: CallContext, send: (message: object) => Promise<void>) => {
      const name = Buffer.from(request.table).toString("utf8");
      let index: number;
      const dir = mkdtempSync(join(options.spoolDir ?? tmpdir(), "armada-snapshot-"));
      const file = join(dir, "snapshot");
      try {
        try {
          const table = lookupTable(engine, request.table);
          await table.readIndex({ signal: context.signal });
          index = await spool(table.stateMachine.snapshot("applied"), file);
        } catch (error) {
          if (context.signal.aborted) throw error;
          throw new StatusError(Code.UNAVAILABLE, `unable to stream from table '${name}': ${error instanceof Error ? error.message : String(error)}`);
        }
        for await (const data of createReadStream(file, { highWaterMark: SNAPSHOT_CHUNK_BYTES_MAX }) as AsyncIterable<Buffer>) {
          await send({ data, len: data.length, index });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Writes the snapshot stream to `file`; resolves with the snapshot's index once the view is released. */
async function spool(snapshot: { index: number; chunks(): AsyncIterable<Uint8Array>; close(): void }, file: string): Promise<number> {
  const out = createWriteStream(file);
  try {
    for await (const chunk of snapshot.chunks()) {
      if (!out.write(chunk)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    return snapshot.index;
  } finally {
    snapshot.close();
    out.destroy();
  }
}
