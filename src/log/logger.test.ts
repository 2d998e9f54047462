import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, createSilentLogger, parseLogLevel, type LoggerOptions } from "./logger.js";

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug", devMode: false, destination: { write: (line: string) => lines.push(line) }, ...options,
  });
  return { logger, lines };
}

const TS_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

test("production lines are one JSON object with level, ts, logger, caller, msg and the fields", () => {
  // Proves the §14.8 shape by parsing the emitted line, and that caller points at this test file.
  const { logger, lines } = capture();
  logger.child("raft").info("node ready", { shard: 10001, tables: ["a"], big: 2n ** 70n, key: new Uint8Array([1, 2]) });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith("\n") && !lines[0]!.slice(0, -1).includes("\n"));
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(record), ["level", "ts", "logger", "caller", "msg", "shard", "tables", "big", "key"]);
  assert.equal(record.level, "info");
  assert.match(record.ts as string, TS_PATTERN);
  assert.ok(Math.abs(Date.parse(record.ts as string) - Date.now()) < 60_000);
  assert.equal(record.logger, "raft");
  assert.match(record.caller as string, /^log\/logger\.test\.js:\d+$/);
  assert.equal(record.msg, "node ready");
  assert.equal(record.shard, 10001);
  assert.deepEqual(record.tables, ["a"]);
  assert.equal(record.big, "1180591620717411303424");
  assert.equal(record.key, "AQI=");
});

test("the timestamp carries the local zone offset", () => {
  // Proves `ts` is ISO-8601 with milliseconds and an explicit offset, rendering the injected clock.
  const instant = new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 7));
  const { logger, lines } = capture({ now: () => instant });
  logger.info("x");
  const ts = (JSON.parse(lines[0]!) as { ts: string }).ts;
  assert.match(ts, TS_PATTERN);
  assert.equal(Date.parse(ts), instant.getTime());
  assert.match(ts, /\.007[+-]/);
});

test("levels below the threshold are dropped and the level is case-insensitive", () => {
  // Proves --log-level filtering in both directions.
  const { logger, lines } = capture({ level: "WARN" });
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  assert.deepEqual(lines.map((line) => (JSON.parse(line) as { level: string }).level), ["warn", "error"]);
  assert.equal(logger.isEnabled("info"), false);
  assert.equal(logger.isEnabled("error"), true);
  assert.throws(() => createLogger({ level: "loud", devMode: false }), /invalid log level "loud": must be one of DEBUG, INFO, WARN, ERROR/);
  assert.equal(parseLogLevel("Debug"), "debug");
});

test("children nest names, bind fields and can only raise the level", () => {
  // Proves component naming and the Raft cap of §14.8 (children at WARN whatever the root level).
  const { logger, lines } = capture({ level: "info", component: "armada" });
  const raft = logger.child("raft", { minLevel: "warn", fields: { node: 1 } });
  raft.info("chatter");
  raft.child("transport", { minLevel: "error" }).warn("dropped");
  raft.warn("slow", { node: 2 });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record.logger, "armada.raft");
  assert.equal(record.node, 2);
  const quiet = logger.child("x", { minLevel: "debug" });
  assert.equal(quiet.level, "info");
});

test("field names that clash with the line's own keys are renamed, errors become messages", () => {
  // Proves user fields cannot overwrite level/msg, and Error values are readable in JSON.
  const { logger, lines } = capture();
  logger.info("hello", { msg: "clash", level: 3, error: new Error("boom") });
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record.msg, "hello");
  assert.equal(record.level, "info");
  assert.equal(record["fields.msg"], "clash");
  assert.equal(record["fields.level"], 3);
  assert.equal(record.error, "boom");
});

test("error lines carry a stack trace; unserialisable fields degrade instead of throwing", () => {
  // Proves production errors include `stacktrace` (the Error's own when given) and cycles do not crash logging.
  const { logger, lines } = capture();
  const failure = new Error("disk gone");
  logger.error("fsync failed", { error: failure });
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.match(record.stacktrace as string, /disk gone/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  logger.info("cycle", { cyclic });
  const degraded = JSON.parse(lines[1]!) as Record<string, unknown>;
  assert.equal(degraded.msg, "cycle");
  assert.match(degraded.fieldsError as string, /cannot serialise log fields/);
});

test("dev mode prints readable console lines with stacks on warnings", () => {
  // Proves the --dev-mode format: timestamp, upper-case level, component, caller, message, fields, stack.
  const { logger, lines } = capture({ devMode: true });
  const api = logger.child("api");
  api.info("listening", { address: "http://127.0.0.1:8443" });
  api.warn("slow call");
  const [info, warn] = lines;
  const columns = info!.trimEnd().split("\t");
  assert.match(columns[0]!, TS_PATTERN);
  assert.deepEqual(columns.slice(1, 3), ["INFO", "api"]);
  assert.match(columns[3]!, /^log\/logger\.test\.js:\d+$/);
  assert.equal(columns[4], "listening");
  assert.deepEqual(JSON.parse(columns[5]!), { address: "http://127.0.0.1:8443" });
  assert.equal(info!.split("\n").length, 2);
  assert.match(warn!, /\tWARN\tapi\t/);
  assert.ok(warn!.split("\n").length > 2, "warning has a stack");
  assert.match(warn!.split("\n")[1]!, /^\s+at /);
});

test("the silent logger writes nothing and caller capture can be switched off", () => {
  // Proves the helpers for tests and the cheap mode without call sites.
  const silent = createSilentLogger();
  silent.error("nothing");
  const { logger, lines } = capture({ caller: false });
  logger.info("no caller");
  assert.equal("caller" in (JSON.parse(lines[0]!) as object), false);
});
