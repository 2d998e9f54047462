import { test } from "node:test";
import assert from "node:assert/strict";
import { status as Code } from "@grpc/grpc-js";
import { loggingObserver, rpcLogLevel } from "./rpc-log.js";

test("finished replication calls are logged at the level of their status (spec §14.8)", () => {
  assert.equal(rpcLogLevel(Code.OK), "debug");
  assert.equal(rpcLogLevel(Code.NOT_FOUND), "debug");
  assert.equal(rpcLogLevel(Code.UNAVAILABLE), "warn");
  assert.equal(rpcLogLevel(Code.FAILED_PRECONDITION), "warn");
  assert.equal(rpcLogLevel(Code.INTERNAL), "error");
  assert.equal(rpcLogLevel(Code.UNIMPLEMENTED), "error");
  assert.equal(rpcLogLevel(99), "error");
});

test("the logging observer logs each finished call and forwards events to the inner observer", () => {
  const lines: string[] = [];
  const handled: number[] = [];
  const log = { debug: (m: string) => lines.push(`debug ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };
  const inner = { method: () => ({ started() {}, messageReceived() {}, messageSent() {}, handled: (code: number) => handled.push(code) }) };
  const observer = loggingObserver(log, inner).method("replication.v1.Log", "Replicate", "serverStream");
  observer.handled(Code.OK, performance.now());
  observer.handled(Code.UNAVAILABLE, performance.now());
  assert.deepEqual(lines, ["debug finished replication call", "warn finished replication call"]);
  assert.deepEqual(handled, [Code.OK, Code.UNAVAILABLE]);
});
