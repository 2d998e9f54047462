/**
 * Command execution (spec §8.4): one handler per command type, run inside the apply write transaction.
 */
import { pb, type armada } from "../proto/index.js";
import { bytesOrEmpty } from "./bytes.js";
import { SEQUENCE_DEPTH_MAX } from "./constants.js";
import { FatalApplyError, UnknownCommandTypeError } from "./errors.js";
import { executeTxn, type TxnOutcome } from "./txn.js";
import type { TableWriter } from "./view.js";
import { deleteBatch, deleteKeys, putBatch, putKey } from "./writes.js";

const CommandType = pb.Command.CommandType;
const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(CommandType).filter((v) => typeof v === "number"));

/** The type of `command`; proto3 leaves the zero value (PUT) unset. */
function typeOf(command: armada.v1.ICommand): number {
  return command.type ?? CommandType.PUT;
}

/**
 * Throws before anything is written when `command` (or a sub-command of a SEQUENCE) cannot be applied:
 * an unknown type is fatal and must never be skipped (spec §8.4).
 */
export function checkCommand(command: armada.v1.ICommand, index: number, depth = 0): void {
  const type = typeOf(command);
  if (!KNOWN_TYPES.has(type)) throw new UnknownCommandTypeError(type, index);
  if (type !== CommandType.SEQUENCE) return;
  if (depth >= SEQUENCE_DEPTH_MAX) {
    throw new FatalApplyError(`Cannot apply entry ${index}: SEQUENCE nested deeper than ${SEQUENCE_DEPTH_MAX}`, { index });
  }
  for (const sub of command.sequence ?? []) checkCommand(sub, index, depth + 1);
}

/**
 * Applies one command through `writer` and returns its responses; `succeeded` is the TXN outcome and
 * true for every other type. The caller has run {@link checkCommand}.
 */
export function applyCommand(writer: TableWriter, command: armada.v1.ICommand): TxnOutcome {
  const responses: armada.v1.IResponseOp[] = [];
  switch (typeOf(command)) {
    case CommandType.PUT: {
      const kv = command.kv ?? {};
      responses.push({ responsePut: putKey(writer, bytesOrEmpty(kv.key), bytesOrEmpty(kv.value), command.prevKvs === true) });
      break;
    }
    case CommandType.DELETE: {
      const options = { prevKv: command.prevKvs === true, count: command.count === true };
      const deleted = deleteKeys(writer, bytesOrEmpty(command.kv?.key), command.rangeEnd, options);
      responses.push({ responseDeleteRange: deleted });
      break;
    }
    case CommandType.PUT_BATCH:
      responses.push(...putBatch(writer, command.batch ?? []));
      break;
    case CommandType.DELETE_BATCH:
      responses.push(...deleteBatch(writer, command.batch ?? []));
      break;
    case CommandType.TXN:
      return executeTxn(writer, writer, command.txn);
    case CommandType.SEQUENCE:
      // Sub-commands run in order in the same transaction; their own leader_index is ignored.
      for (const sub of command.sequence ?? []) responses.push(...applyCommand(writer, sub).responses);
      break;
    case CommandType.DUMMY:
      break;
  }
  return { succeeded: true, responses };
}
