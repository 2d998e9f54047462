/**
 * Edge validation of KV requests, in the order and with the texts of spec §4 and Appendix A.
 * Pure request checks run before the table lookup; storage limits (key/value sizes) after it.
 */
import type { armada } from "../proto/index.js";
import { KEY_SIZE_MAX, VALUE_SIZE_MAX } from "../fsm/index.js";
import { toNumber } from "../proto/index.js";
import { Code, failedPrecondition, invalidArgument, StatusError } from "./status.js";

const isEmpty = (bytes: Uint8Array | null | undefined) => !bytes || bytes.length === 0;

export const KEY_TOO_LONG = "key length exceeded max allowed value";
export const VALUE_TOO_LONG = "value length exceeded max allowed value";

/** Checks 1–8 of §4.2.1 (everything before the table lookup) for Range and IterateRange. */
export function validateRangeRequest(request: armada.v1.IRangeRequest): void {
  if (toNumber(request.limit) < 0) throw invalidArgument("limit must be a positive number");
  if (request.keysOnly && request.countOnly) throw invalidArgument("keys_only and count_only must not be set at the same time");
  // Checked one by one, in this order, rather than through a table: this runs on every read.
  refuseRevisionFilter("min_mod_revision", request.minModRevision);
  refuseRevisionFilter("max_mod_revision", request.maxModRevision);
  refuseRevisionFilter("min_create_revision", request.minCreateRevision);
  refuseRevisionFilter("max_create_revision", request.maxCreateRevision);
  requireTableAndKey(request);
}

function refuseRevisionFilter(name: string, value: armada.v1.IRangeRequest["minModRevision"]): void {
  if (toNumber(value) > 0) throw new StatusError(Code.UNIMPLEMENTED, `${name} not implemented`);
}

/** `table must be set`, then `key must be set`. */
export function requireTableAndKey(request: { table?: Uint8Array | null; key?: Uint8Array | null }): void {
  if (isEmpty(request.table)) throw invalidArgument("table must be set");
  if (isEmpty(request.key)) throw invalidArgument("key must be set");
}

/** The key-size limit, checked after the table lookup. */
export function checkKeySize(key: Uint8Array | null | undefined, rangeEnd?: Uint8Array | null): void {
  if ((key && key.length > KEY_SIZE_MAX) || (rangeEnd && rangeEnd.length > KEY_SIZE_MAX)) throw failedPrecondition(KEY_TOO_LONG);
}

export function checkValueSize(value: Uint8Array | null | undefined): void {
  if (value && value.length > VALUE_SIZE_MAX) throw failedPrecondition(VALUE_TOO_LONG);
}

/**
 * Armada's validation of every compare and op of a transaction (spec §4.6.1 [FIX]), in request order:
 * compares first, then the success ops, then the failure ops.
 */
export function validateTxn(request: armada.v1.ITxnRequest): void {
  for (const compare of request.compare ?? []) {
    if (isEmpty(compare.key)) throw invalidArgument("key must be set");
    if ((compare.target ?? 0) !== 0) throw invalidArgument("unsupported compare target");
    const result = compare.result ?? 0;
    if (result < 0 || result > 3) throw invalidArgument("unsupported compare result");
    checkKeySize(compare.key, compare.rangeEnd);
  }
  for (const op of [...(request.success ?? []), ...(request.failure ?? [])]) validateOp(op);
}

function validateOp(op: armada.v1.IRequestOp): void {
  const range = op.requestRange;
  const put = op.requestPut;
  const deleteRange = op.requestDeleteRange;
  if (range) {
    if (isEmpty(range.key)) throw invalidArgument("key must be set");
    if (toNumber(range.limit) < 0) throw invalidArgument("limit must be a positive number");
    if (range.keysOnly && range.countOnly) throw invalidArgument("keys_only and count_only must not be set at the same time");
    checkKeySize(range.key, range.rangeEnd);
  } else if (put) {
    if (isEmpty(put.key)) throw invalidArgument("key must be set");
    checkKeySize(put.key);
    checkValueSize(put.value);
  } else if (deleteRange) {
    if (isEmpty(deleteRange.key)) throw invalidArgument("key must be set");
    checkKeySize(deleteRange.key, deleteRange.rangeEnd);
  } else {
    throw invalidArgument("request op must be set");
  }
}

/** A transaction is read-only iff every op of both branches is a range (vacuously true when empty). */
export function isReadOnlyTxn(request: armada.v1.ITxnRequest): boolean {
  return [...(request.success ?? []), ...(request.failure ?? [])].every((op) => !!op.requestRange);
}
