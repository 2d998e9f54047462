import { test } from "node:test";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { leaderError } from "./forwarding.js";

test("a leader's gRPC error keeps its code and takes the reference's message shape", () => {
  const error = leaderError(Object.assign(new Error("5 NOT_FOUND: table not found"), { code: status.NOT_FOUND, details: "table not found" }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.details, "leader error: rpc error: code = NotFound desc = table not found");
  const invalid = leaderError(Object.assign(new Error("x"), { code: status.INVALID_ARGUMENT, details: "key must be set" }));
  assert.equal(invalid.details, "leader error: rpc error: code = InvalidArgument desc = key must be set");
});

test("a failure without a gRPC status becomes FAILED_PRECONDITION forward error", () => {
  const error = leaderError(new Error("socket hang up"));
  assert.equal(error.code, status.FAILED_PRECONDITION);
  assert.equal(error.details, "forward error");
});
