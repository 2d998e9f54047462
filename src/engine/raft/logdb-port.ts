/**
 * The engine's LogStorePort over the node's write-ahead log (src/logdb).
 */
import type { RaftStorage, Snapshot } from "../../raft/index.js";
import type { LogDB } from "../../logdb/index.js";
import type { GroupUpdate, LogStorePort } from "./ports.js";

export class LogDbPort implements LogStorePort {
  constructor(private readonly logdb: LogDB) {}

  save(updates: readonly GroupUpdate[], sync = true): Promise<void> {
    return this.logdb.save(
      updates.map((update) => ({
        groupId: update.groupId,
        ...(update.snapshot ? { snapshot: { ...update.snapshot.metadata, descriptor: update.snapshot.data } } : {}),
        ...(update.entries && update.entries.length > 0 ? { entries: update.entries } : {}),
        ...(update.hardState ? { hardState: update.hardState } : {}),
      })),
      { sync },
    );
  }

  createSnapshot(groupId: number, snapshot: Snapshot): Promise<void> {
    return this.logdb.createSnapshot(groupId, { index: snapshot.metadata.index, confState: snapshot.metadata.confState, descriptor: snapshot.data });
  }

  hasGroup(groupId: number): boolean {
    return this.logdb.hasGroup(groupId);
  }

  storage(groupId: number): RaftStorage {
    return this.logdb.storage(groupId);
  }

  compact(groupId: number, index: number): Promise<void> {
    return this.logdb.compact(groupId, index);
  }

  removeGroup(groupId: number): Promise<void> {
    return this.logdb.removeGroup(groupId);
  }
}
