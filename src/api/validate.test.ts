import { test } from "node:test";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { isReadOnlyTxn, validateRangeRequest, validateTxn } from "./validate.js";
import { StatusError } from "./status.js";

const b = (text: string) => Buffer.from(text);

function failure(check: () => void): [number, string] | null {
  try {
    check();
    return null;
  } catch (error) {
    assert.ok(error instanceof StatusError);
    return [error.code, error.details];
  }
}

test("Range validation runs in the order of spec §4.2.1", () => {
  // Proves the first failing check decides: limit before table, filters before table, table before key.
  assert.deepEqual(failure(() => validateRangeRequest({ limit: -1 })), [status.INVALID_ARGUMENT, "limit must be a positive number"]);
  assert.deepEqual(
    failure(() => validateRangeRequest({ keysOnly: true, countOnly: true })),
    [status.INVALID_ARGUMENT, "keys_only and count_only must not be set at the same time"],
  );
  assert.deepEqual(failure(() => validateRangeRequest({ minModRevision: 1 })), [status.UNIMPLEMENTED, "min_mod_revision not implemented"]);
  assert.deepEqual(failure(() => validateRangeRequest({ maxModRevision: 1 })), [status.UNIMPLEMENTED, "max_mod_revision not implemented"]);
  assert.deepEqual(failure(() => validateRangeRequest({ minCreateRevision: 1 })), [status.UNIMPLEMENTED, "min_create_revision not implemented"]);
  assert.deepEqual(failure(() => validateRangeRequest({ maxCreateRevision: 1 })), [status.UNIMPLEMENTED, "max_create_revision not implemented"]);
  assert.deepEqual(failure(() => validateRangeRequest({ key: b("k") })), [status.INVALID_ARGUMENT, "table must be set"]);
  assert.deepEqual(failure(() => validateRangeRequest({ table: b("t") })), [status.INVALID_ARGUMENT, "key must be set"]);
  // Negative revision filters pass and are ignored (Regatta behaviour).
  assert.equal(failure(() => validateRangeRequest({ table: b("t"), key: b("k"), minModRevision: -5 })), null);
});

test("Txn validation covers every op and compare of both branches", () => {
  // Proves Armada's stricter validation (spec §4.6.1 [FIX]) with its codes and texts.
  const put = (key: string, size = 1) => ({ requestPut: { key: b(key), value: Buffer.alloc(size) } });
  assert.deepEqual(failure(() => validateTxn({ success: [{}] })), [status.INVALID_ARGUMENT, "request op must be set"]);
  assert.deepEqual(failure(() => validateTxn({ failure: [put("")] })), [status.INVALID_ARGUMENT, "key must be set"]);
  assert.deepEqual(failure(() => validateTxn({ compare: [{ key: b("") }] })), [status.INVALID_ARGUMENT, "key must be set"]);
  assert.deepEqual(failure(() => validateTxn({ compare: [{ key: b("k"), target: 2 as never }] })), [status.INVALID_ARGUMENT, "unsupported compare target"]);
  assert.deepEqual(failure(() => validateTxn({ compare: [{ key: b("k"), result: 9 as never }] })), [status.INVALID_ARGUMENT, "unsupported compare result"]);
  assert.deepEqual(
    failure(() => validateTxn({ success: [{ requestRange: { key: b("k"), limit: -1 } }] })),
    [status.INVALID_ARGUMENT, "limit must be a positive number"],
  );
  assert.deepEqual(failure(() => validateTxn({ success: [put("k".repeat(1025))] })), [status.FAILED_PRECONDITION, "key length exceeded max allowed value"]);
  assert.deepEqual(failure(() => validateTxn({ success: [put("k", 2 * 1024 * 1024 + 1)] })), [status.FAILED_PRECONDITION, "value length exceeded max allowed value"]);
  assert.equal(failure(() => validateTxn({ success: [put("k", 2 * 1024 * 1024)], failure: [{ requestDeleteRange: { key: b("a") } }] })), null);
});

test("a transaction is read-only iff all ops of both branches are ranges", () => {
  // Proves the rule that decides whether a Txn is logged (spec §4.6.2).
  const range = { requestRange: { key: b("k") } };
  assert.equal(isReadOnlyTxn({}), true);
  assert.equal(isReadOnlyTxn({ success: [range], failure: [range] }), true);
  assert.equal(isReadOnlyTxn({ success: [range], failure: [{ requestPut: { key: b("k") } }] }), false);
});
