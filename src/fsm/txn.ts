/**
 * Transaction evaluation (spec §4.6.3, §4.6.4) with the reference's semantics, which replicated commands
 * require (§9.8): unknown compare targets/results are existence tests, unset ops are skipped, empty keys
 * are legal. Validation of new requests belongs to the API layer.
 */
import { pb, toNumber, type armada } from "../proto/index.js";
import { bytesOrEmpty, compareBytes } from "./bytes.js";
import { NotReadOnlyTxnError } from "./errors.js";
import { selectKeys } from "./keys.js";
import { readRange, type RangeQuery } from "./range.js";
import type { TableReader, TableWriter } from "./view.js";
import { deleteKeys, putKey } from "./writes.js";

const CompareResult = pb.Compare.CompareResult;
const CompareTarget = pb.Compare.CompareTarget;

/** The outcome of a transaction: which branch ran and its responses, one per executed op. */
export interface TxnOutcome {
  succeeded: boolean;
  responses: armada.v1.IResponseOp[];
}

/**
 * Evaluates `txn`: compares against `reader`, then the chosen branch's ops in order. Writes go through
 * `writer`, whose reads see earlier writes of the same transaction; with no writer (read-only evaluation)
 * a put or delete op throws {@link NotReadOnlyTxnError}.
 */
export function executeTxn(reader: TableReader, writer: TableWriter | null, txn: armada.v1.ITxn | null | undefined): TxnOutcome {
  const succeeded = comparesHold(reader, txn?.compare ?? []);
  const ops = (succeeded ? txn?.success : txn?.failure) ?? [];
  const responses: armada.v1.IResponseOp[] = [];
  for (const op of ops) {
    const response = executeOp(reader, writer, op);
    if (response !== null) responses.push(response);
  }
  return { succeeded, responses };
}

/** The conjunction of `compares`, short-circuiting on the first false one; empty → true. */
export function comparesHold(reader: TableReader, compares: armada.v1.ICompare[]): boolean {
  return compares.every((compare) => compareHolds(reader, compare));
}

function compareHolds(reader: TableReader, compare: armada.v1.ICompare): boolean {
  const selection = selectKeys(bytesOrEmpty(compare.key), compare.rangeEnd);
  if (selection.kind === "empty") return false;
  if (selection.kind === "single") {
    const stored = reader.get(selection.key);
    return stored !== undefined && valueSatisfies(compare, stored);
  }
  if (isExistenceTest(compare)) {
    // Every key satisfies an existence test, so "non-empty" is all that is left to check.
    for (const _ of reader.scanKeys(selection.start, selection.end)) return true;
    return false;
  }
  let sawKey = false;
  for (const { value } of reader.scan(selection.start, selection.end)) {
    if (!valueSatisfies(compare, value)) return false;
    sawKey = true;
  }
  return sawKey;
}

/** Without a VALUE target and an operand, a compare only tests that the key exists. */
function isExistenceTest(compare: armada.v1.ICompare): boolean {
  return (compare.target ?? CompareTarget.VALUE) !== CompareTarget.VALUE || compare.value === null || compare.value === undefined;
}

/** The stored value (left-hand side) against the operand, unsigned bytewise; unknown operators hold. */
function valueSatisfies(compare: armada.v1.ICompare, stored: Uint8Array): boolean {
  if (isExistenceTest(compare)) return true;
  const order = compareBytes(stored, compare.value!);
  switch (compare.result ?? CompareResult.EQUAL) {
    case CompareResult.EQUAL:
      return order === 0;
    case CompareResult.NOT_EQUAL:
      return order !== 0;
    case CompareResult.GREATER:
      return order > 0;
    case CompareResult.LESS:
      return order < 0;
    default:
      return true;
  }
}

/** Runs one op; an op with no member set is skipped (null), as in the reference. */
function executeOp(reader: TableReader, writer: TableWriter | null, op: armada.v1.IRequestOp): armada.v1.IResponseOp | null {
  const kind = opKind(op);
  if (kind === "requestRange") return { responseRange: readRange(reader, rangeQueryOf(op.requestRange!)) };
  if (kind === null) return null;
  if (writer === null) throw new NotReadOnlyTxnError(kind === "requestPut" ? "put" : "delete range");
  if (kind === "requestPut") {
    const put = op.requestPut!;
    return { responsePut: putKey(writer, bytesOrEmpty(put.key), bytesOrEmpty(put.value), put.prevKv === true) };
  }
  const del = op.requestDeleteRange!;
  const options = { prevKv: del.prevKv === true, count: del.count === true };
  return { responseDeleteRange: deleteKeys(writer, bytesOrEmpty(del.key), del.rangeEnd, options) };
}

type OpKind = "requestRange" | "requestPut" | "requestDeleteRange";

/** Which member of the `request` oneof is set (decoded messages name it; plain objects may not). */
export function opKind(op: armada.v1.IRequestOp): OpKind | null {
  if (op.request !== undefined && op[op.request] != null) return op.request;
  if (op.requestRange != null) return "requestRange";
  if (op.requestPut != null) return "requestPut";
  if (op.requestDeleteRange != null) return "requestDeleteRange";
  return null;
}

function rangeQueryOf(range: armada.v1.RequestOp.IRange): RangeQuery {
  return {
    key: bytesOrEmpty(range.key),
    rangeEnd: range.rangeEnd,
    limit: toNumber(range.limit),
    keysOnly: range.keysOnly === true,
    countOnly: range.countOnly === true,
  };
}

/** Throws {@link NotReadOnlyTxnError} when either branch has a put or delete op (unset ops are harmless). */
export function assertNoWrites(txn: armada.v1.ITxn): void {
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) {
    const kind = opKind(op);
    if (kind === "requestPut") throw new NotReadOnlyTxnError("put");
    if (kind === "requestDeleteRange") throw new NotReadOnlyTxnError("delete range");
  }
}
