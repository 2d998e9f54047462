/**
 * Armada's logdb: the durable Raft log (entries, hard state, snapshot metadata) of all groups of one
 * node in one write-ahead log, with group commit, checksummed records, torn-tail recovery and
 * compaction. `openLogDB` recovers the directory; `LogDB.storage(groupId)` is a group's RaftStorage.
 */
export { openLogDB, LogDB, type LogDBOptions, type OpenedLogDB, type SaveOptions } from './logdb.js';
export { LogDBStorage } from './storage-view.js';
export type { GroupUpdate, LocalSnapshot, LogDBStats, RecoveryReport, SnapshotRecord, TailTruncation } from './types.js';
export type { LogIO } from './io.js';
export { nodeLogIO } from './io.js';
export { ENTRY_DATA_BYTES_MAX } from './update-plan.js';
export * from './constants.js';
export * from './errors.js';
