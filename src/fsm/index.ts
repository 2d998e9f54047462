/**
 * The table state machine (spec §8.4): one table replica on LMDB.
 */
export { KEY_SIZE_MAX, RESPONSE_SIZE_BUDGET, VALUE_SIZE_MAX } from "./constants.js";
export {
  TableStateMachine,
  type ApplyResult,
  type LogEntryToApply,
  type RecoverOptions,
  type RecoveredSnapshot,
  type TableStateMachineOptions,
} from "./table-state-machine.js";
export type { ChunkSummary, EntrySink, RangeQuery, RangeResult } from "./range.js";
export { namesOneKey } from "./keys.js";
export type { RangeIterator } from "./range-iterator.js";
export { varintSize, type TableKeyValue } from "./response-size.js";
export type { SnapshotStream } from "./table-snapshot.js";
export type { TxnOutcome } from "./txn.js";
export {
  FatalApplyError,
  InvalidSnapshotStreamError,
  InvariantError,
  NotReadOnlyTxnError,
  StateMachineClosedError,
  StateMachineError,
  StorageKeyTooLargeError,
  UnknownCommandTypeError,
} from "./errors.js";
