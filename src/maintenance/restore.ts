/**
 * `Maintenance/Restore` (spec §11.3): receives a table's backup as a client stream, spools it to a
 * temporary file, checks that the whole file decodes, then has the engine load it into a fresh shard
 * and switch the table to it. Undecodable input changes nothing.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientStreamHandler } from "../api/bind.js";
import { Code, invalidArgument, StatusError } from "../api/status.js";
import type { Engine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import { pb, type armada } from "../proto/index.js";
import {
  InvalidSnapshotStreamError,
  RECORD_HEADER_BYTES,
  decodeCommandRecord,
  decodeRecords,
  decodeSnappyFrames,
} from "../snapshot/index.js";

/** Deadline of a Restore call whose client set none (as for Backup). */
export const RESTORE_DEADLINE_MS = 60 * 60 * 1000;
/** Flush threshold used when `--raft.max-in-mem-log-size` is 0 (spec §11.3 [FIX]). */
export const RESTORE_BATCH_BYTES_DEFAULT = 3 * 1024 * 1024;

const CommandType = pb.Command.CommandType;

/** The flush threshold of restore batches: half the in-memory log bound, or 3 MiB when that is 0. */
export function restoreBatchThresholdBytes(maxInMemoryLogBytes: number): number {
  const half = Math.floor(maxInMemoryLogBytes / 2);
  return half > 0 ? half : RESTORE_BATCH_BYTES_DEFAULT;
}

/**
 * Turns a backup (or snapshot) stream into PUT_BATCH commands. A batch is flushed once its raw record
 * bytes reach `thresholdBytes`, including the record that reached it. A DUMMY record only contributes its
 * `leader_index`, carried by the final batch, which is always produced (possibly empty).
 * @throws InvalidSnapshotStreamError for undecodable input or a record that is neither PUT nor DUMMY.
 */
export async function* restoreBatches(
  framed: AsyncIterable<Uint8Array>,
  table: Uint8Array,
  thresholdBytes: number,
): AsyncGenerator<armada.v1.ICommand, void, undefined> {
  let batch: armada.v1.IKeyValue[] = [];
  let batchBytes = 0;
  let leaderIndex: armada.v1.ICommand["leaderIndex"] = null;
  for await (const record of decodeRecords(decodeSnappyFrames(framed))) {
    const command = decodeCommandRecord(record);
    if (command.type === CommandType.DUMMY) {
      if (command.leaderIndex != null) leaderIndex = command.leaderIndex;
      continue;
    }
    if (command.type !== CommandType.PUT || command.kv == null) {
      throw new InvalidSnapshotStreamError(`record at offset ${record.offset} is not a PUT with a key-value pair (type ${command.type})`, { offset: record.offset });
    }
    batch.push({ key: command.kv.key, value: command.kv.value });
    batchBytes += RECORD_HEADER_BYTES + record.body.length;
    if (batchBytes >= thresholdBytes) {
      yield { table, type: CommandType.PUT_BATCH, batch };
      batch = [];
      batchBytes = 0;
    }
  }
  yield { table, type: CommandType.PUT_BATCH, batch, ...(leaderIndex != null ? { leaderIndex } : {}) };
}

export interface RestoreHandlerOptions {
  /** See {@link restoreBatchThresholdBytes}. */
  readonly batchThresholdBytes: number;
  /** Where spool files go; the OS temporary directory by default. */
  readonly spoolDir?: string;
}

/** The Restore handler of a leader cluster. */
export function restoreHandler(engine: Engine, options: RestoreHandlerOptions): ClientStreamHandler {
  return async (requests, context) => {
    const messages = (requests as AsyncIterable<armada.v1.RestoreMessage>)[Symbol.asyncIterator]();
    const first = await messages.next();
    if (first.done || first.value.info == null) throw invalidArgument("first message should contain info");
    const tableBytes = Buffer.from(first.value.info.table ?? []);
    if (tableBytes.length === 0) throw invalidArgument("table must be set");
    if (!engine.restoreTable) throw new StatusError(Code.UNIMPLEMENTED, "method Restore not implemented");
    const spoolDir = await mkdtemp(join(options.spoolDir ?? tmpdir(), "armada-restore-"));
    try {
      const file = join(spoolDir, "backup.bin");
      await spoolChunks(messages, file);
      const batches = () => restoreBatches(createReadStream(file), tableBytes, options.batchThresholdBytes);
      // Decode everything once before touching the cluster, so a corrupt stream changes nothing.
      for await (const _ of batches());
      await engine.restoreTable(tableBytes.toString("utf8"), batches(), { signal: context.signal });
      return {};
    } catch (error) {
      throw restoreStatus(error);
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  };
}

/** Writes the `data` of every remaining message to `file`; any message that is not a chunk is refused. */
async function spoolChunks(messages: AsyncIterator<armada.v1.RestoreMessage>, file: string): Promise<void> {
  const handle = await open(file, "w");
  try {
    for (;;) {
      const next = await messages.next();
      if (next.done) break;
      if (next.value.chunk == null) throw invalidArgument("chunk expected");
      const data = next.value.chunk.data;
      if (data && data.length > 0) await handle.write(data);
    }
  } finally {
    await handle.close();
  }
}

/** Error mapping of spec §11.3: bad input INVALID_ARGUMENT, transient UNAVAILABLE, the rest INTERNAL. */
function restoreStatus(error: unknown): unknown {
  if (error instanceof InvalidSnapshotStreamError) return invalidArgument(`invalid backup stream: ${error.detail}`);
  if (error instanceof StatusError || error instanceof EngineError) return error;
  return new StatusError(Code.INTERNAL, error instanceof Error ? error.message : String(error));
}
