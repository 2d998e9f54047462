/**
 * `Maintenance/Backup` (spec §11.2): a linearizable point-in-time view of one table, streamed as
 * `SnapshotChunk`s in the snapshot byte format of §9.4 but without the DUMMY trailer, so that a
 * Regatta server restoring it never creates a phantom empty-key entry (§16.1).
 */
import { BACKUP_INDEX_METADATA } from "./wire.js";
import type { ServerStreamHandler } from "../api/bind.js";
import type { Engine } from "../engine/engine.js";
import { pb, type armada } from "../proto/index.js";
import {
  SNAPSHOT_CHUNK_BYTES_MAX,
  SnappyFrameEncoder,
  chunkBytes,
  decodeCommandRecord,
  decodeRecords,
  decodeSnappyFrames,
  encodeRecord,
} from "../snapshot/index.js";

/** Deadline of a Backup call whose client set none (spec Appendix C). */
export const BACKUP_DEADLINE_MS = 60 * 60 * 1000;

const DUMMY = pb.Command.CommandType.DUMMY;

/**
 * Re-encodes a table snapshot stream (Snappy-framed records with a DUMMY trailer) as a backup stream:
 * the same records, byte for byte, minus every DUMMY record, in pieces of at most `maxBytes`. An empty
 * table yields nothing at all (no stream identifier either), so its backup file has the MD5 of empty input.
 */
export async function* backupChunks(
  snapshotChunks: AsyncIterable<Uint8Array>,
  maxBytes = SNAPSHOT_CHUNK_BYTES_MAX,
): AsyncGenerator<Uint8Array, void, undefined> {
  yield* chunkBytes(framedWithoutTrailer(snapshotChunks), maxBytes);
}

async function* framedWithoutTrailer(snapshotChunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const encoder = new SnappyFrameEncoder();
  for await (const record of decodeRecords(decodeSnappyFrames(snapshotChunks))) {
    if (decodeCommandRecord(record).type === DUMMY) continue;
    yield* encoder.write(encodeRecord(record.body));
  }
  yield* encoder.end();
}

/** The Backup handler of a leader cluster; an unknown table answers NOT_FOUND `table not found`. */
export function backupHandler(engine: Engine): ServerStreamHandler {
  return async (request: armada.v1.BackupRequest, context, send) => {
    const table = engine.table(Buffer.from(request.table ?? []).toString("utf8"));
    await table.readIndex({ signal: context.signal });
    const snapshot = table.stateMachine.snapshot();
    // [EXT] The view's applied index travels as trailing metadata: the byte stream itself carries no index
    // (spec §11.2), and Regatta's tools ignore unknown metadata.
    context.trailers.set(BACKUP_INDEX_METADATA, String(snapshot.index));
    try {
      for await (const data of backupChunks(snapshot.chunks())) {
        await send({ data, len: data.length });
      }
    } finally {
      snapshot.close();
    }
  };
}
