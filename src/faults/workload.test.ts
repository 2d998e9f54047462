/**
 * Which write errors count as "certainly not applied" (the rest are indeterminate).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { status as Code } from "@grpc/grpc-js";
import { fromGrpcError } from "../client/index.js";
import { certainlyNotApplied } from "./workload.js";

test("only refusals and explicit not-applied answers make a write certainly not applied", () => {
  const error = (code: number, details: string) => fromGrpcError({ code, details });
  assert.equal(certainlyNotApplied(error(Code.NOT_FOUND, "table not found")), true);
  assert.equal(certainlyNotApplied(error(Code.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED")), true);
  assert.equal(certainlyNotApplied(error(Code.UNAVAILABLE, "proposal dropped by a leadership change; outcome: not applied")), true);
  assert.equal(certainlyNotApplied(error(Code.UNAVAILABLE, "Connection dropped")), false);
  assert.equal(certainlyNotApplied(error(Code.UNAVAILABLE, "read ECONNRESET")), false);
  assert.equal(certainlyNotApplied(error(Code.DEADLINE_EXCEEDED, "Deadline exceeded after 2.0s")), false);
  assert.equal(certainlyNotApplied(new Error("something else")), false);
});
