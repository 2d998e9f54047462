/**
 * Loading a snapshot stream into an inactive data slot (spec §9.9 with the §16.1 fixes: every PUT record
 * is loaded; the DUMMY trailer only supplies the leader index).
 */
import { pb, toNumber, type armada } from "../proto/index.js";
import { InvalidSnapshotStreamError, readCommandStream } from "../snapshot/index.js";
import { bytesOrEmpty } from "./bytes.js";
import { RECOVERY_TXN_BYTES_MAX } from "./constants.js";
import type { SlotId, TableStore } from "./store.js";
import { TableWriter } from "./view.js";

const CommandType = pb.Command.CommandType;

/** What a loaded stream contained. */
export interface LoadedSnapshot {
  /** Leader index of the last DUMMY record, or undefined when the stream has none (a backup). */
  leaderIndex: number | undefined;
  /** Number of PUT records loaded. */
  keys: number;
}

interface PendingPut {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Decodes the Snappy-framed `source` and writes its PUT records into `slot`, in transactions of bounded
 * size so memory stays bounded whatever the table size. The slot must be empty and inactive: a failure
 * leaves partial contents there, which the caller discards.
 */
export async function loadSnapshot(
  store: TableStore,
  slot: SlotId,
  source: AsyncIterable<Uint8Array>,
): Promise<LoadedSnapshot> {
  const writer = new TableWriter(store.slot(slot));
  let pending: PendingPut[] = [];
  let pendingBytes = 0;
  const loaded: LoadedSnapshot = { leaderIndex: undefined, keys: 0 };
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    await store.writeUnguarded(() => batch.forEach(({ key, value }) => writer.put(key, value)));
  };
  let recordNumber = 0;
  for await (const command of readCommandStream(source)) {
    recordNumber++;
    const type = command.type ?? CommandType.PUT;
    if (type === CommandType.DUMMY) {
      if (hasLeaderIndex(command)) loaded.leaderIndex = toNumber(command.leaderIndex);
      continue;
    }
    if (type !== CommandType.PUT) {
      throw new InvalidSnapshotStreamError(`record ${recordNumber} has type ${type}, expected PUT (0) or DUMMY (2)`);
    }
    const put = { key: bytesOrEmpty(command.kv?.key), value: bytesOrEmpty(command.kv?.value) };
    pending.push(put);
    pendingBytes += put.key.length + put.value.length;
    loaded.keys++;
    if (pendingBytes >= RECOVERY_TXN_BYTES_MAX) await flush();
  }
  if (pending.length > 0) await flush();
  return loaded;
}

/** Whether `leader_index` is present (proto3 explicit presence: a present 0 counts). */
export function hasLeaderIndex(command: armada.v1.ICommand): boolean {
  return command.leaderIndex !== null && command.leaderIndex !== undefined;
}
