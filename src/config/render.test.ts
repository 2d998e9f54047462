import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "./load.js";
import { renderConfigStruct, SECRET_MASK } from "./render.js";

test("renders Status config with the reference's value types", () => {
  // Proves §7.2 typing: durations as Go strings, unsigned as decimal strings, signed as numbers, lists, maps.
  const config = loadConfig("follower", [
    "--raft.address=h:1", "--replication.leader-address=https://l:1", "--raft.initial-members=1=h:1",
    "--memberlist.members=a:1,b:2", "--api.stream-workers=-1",
  ], {}, { searchDirs: [] });
  const rendered = renderConfigStruct(config.values);
  assert.equal(rendered["replication.poll-interval"], "1s");
  assert.equal(rendered["replication.keepalive-time"], "1m0s");
  assert.equal(rendered["replication.snapshot-rpc-timeout"], "1h0m0s");
  assert.equal(rendered["raft.rtt"], "50ms");
  assert.equal(rendered["raft.node-id"], "1");
  assert.equal(rendered["replication.max-recv-message-size-bytes"], "8388608");
  assert.equal(rendered["api.max-concurrent-streams"], "0");
  assert.equal(rendered["api.stream-workers"], -1);
  assert.equal(rendered["raft.heartbeat-rtt"], 1);
  assert.equal(rendered["storage.block-cache-size"], 16777216);
  assert.equal(rendered["tables.enabled"], true);
  assert.equal(rendered["api.address"], "http://0.0.0.0:8443");
  assert.deepEqual(rendered["memberlist.members"], ["a:1", "b:2"]);
  assert.deepEqual(rendered["raft.initial-members"], { "1": "h:1" });
  assert.equal("config" in rendered, false);
  assert.deepEqual(Object.keys(rendered), Object.keys(rendered).sort());
  // Struct values must survive JSON (google.protobuf.Struct has no bigint, undefined or NaN).
  assert.deepEqual(JSON.parse(JSON.stringify(rendered)), rendered);
});

test("secrets are masked whatever their value", () => {
  // Proves tokens never leave the process through Status, even when empty or unknown to the table.
  const config = loadConfig("leader", ["--tables.token=t0p", "--raft.address=h:1"], { ARMADA_MAINTENANCE_TOKEN: "m" },
    { searchDirs: [] });
  const rendered = renderConfigStruct(config.values);
  assert.equal(rendered["tables.token"], SECRET_MASK);
  assert.equal(rendered["maintenance.token"], SECRET_MASK);
  assert.equal(SECRET_MASK, "**********");
  assert.equal(JSON.stringify(rendered).includes("t0p"), false);
  assert.equal(renderConfigStruct({ "tables.token": "" })["tables.token"], SECRET_MASK);
  assert.equal(renderConfigStruct({ token: "x" })["token"], SECRET_MASK);
  assert.deepEqual(renderConfigStruct({ "custom.key": 5 }), { "custom.key": 5 });
});
