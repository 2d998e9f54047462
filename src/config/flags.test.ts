import { test } from "node:test";
import assert from "node:assert/strict";
import { COMMAND_NAMES, FLAGS, envNameOf, findFlag, flagsFor, referenceEnvNameOf, type FlagSpec } from "./flags.js";

function defaultFitsType(spec: FlagSpec): boolean {
  const value = spec.default;
  switch (spec.type) {
    case "string": return typeof value === "string";
    case "bool": return typeof value === "boolean";
    case "duration": return typeof value === "number" && value >= 0;
    case "int": return Number.isSafeInteger(value);
    case "uint": case "uint64": case "size": return Number.isSafeInteger(value) && (value as number) >= 0;
    case "stringList": return Array.isArray(value);
    case "map": return typeof value === "object" && !Array.isArray(value);
  }
}

test("the flag table is consistent", () => {
  // Proves every entry can be loaded: one spec per name and command, defaults of the declared type,
  // same-named flags of different commands agree on type, and environment names never collide.
  for (const command of COMMAND_NAMES) {
    const names = flagsFor(command).map((spec) => spec.name);
    assert.equal(new Set(names).size, names.length, `duplicate flag for ${command}`);
    const envNames = names.map(envNameOf);
    assert.equal(new Set(envNames).size, envNames.length, `colliding env names for ${command}`);
  }
  for (const spec of FLAGS) {
    assert.ok(defaultFitsType(spec), `default of ${spec.name} does not fit ${spec.type}`);
    assert.ok(spec.description.length > 10, `${spec.name} needs a description`);
    assert.ok(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(spec.name), `bad flag name ${spec.name}`);
    for (const other of FLAGS.filter((candidate) => candidate.name === spec.name)) {
      assert.equal(other.type, spec.type, `type of ${spec.name} differs between commands`);
    }
  }
});

test("leader and follower carry their own flags and share the common ones", () => {
  // Proves the per-command split of spec §14.4–14.6 and §11.6–11.7.
  assert.ok(findFlag("leader", "replication.address"));
  assert.equal(findFlag("follower", "replication.address"), undefined);
  assert.ok(findFlag("follower", "replication.leader-address"));
  assert.equal(findFlag("leader", "replication.leader-address"), undefined);
  assert.ok(findFlag("leader", "tables.names")?.deprecated);
  assert.equal(findFlag("follower", "tables.names"), undefined);
  for (const name of ["api.address", "raft.node-id", "memberlist.members", "maintenance.token", "log-level"]) {
    assert.ok(findFlag("leader", name) && findFlag("follower", name), name);
  }
  for (const name of ["address", "dir", "ca", "token", "json"]) {
    assert.ok(findFlag("backup", name) && findFlag("restore", name), name);
  }
  assert.ok(findFlag("backup", "ignore-status-errors"));
  assert.equal(findFlag("restore", "ignore-status-errors"), undefined);
  assert.equal(findFlag("backup", "api.address"), undefined);
});

test("tokens are secret and not-yet-active features are marked", () => {
  // Proves masking and the help's "not yet active" notes are driven by the table.
  assert.equal(findFlag("leader", "tables.token")?.secret, true);
  assert.equal(findFlag("leader", "maintenance.token")?.secret, true);
  assert.equal(findFlag("backup", "token")?.secret, true);
  assert.equal(findFlag("follower", "replication.poll-interval")?.laterIssue, undefined);
  assert.ok(findFlag("leader", "memberlist.members")?.laterIssue);
  assert.ok(findFlag("leader", "storage.block-cache-size")?.laterIssue);
  for (const name of ["api.address", "raft.address", "raft.node-id", "raft.node-host-dir", "log-level", "tables.token", "rest.address", "rest.read-timeout", "rest.debug-enabled"]) {
    assert.equal(findFlag("leader", name)?.laterIssue, undefined, name);
  }
});

test("environment names: ARMADA_ form for all keys, reference form only for dotted keys", () => {
  // Proves spec §14.3: ARMADA_API_ADDRESS, RAFT.NODE-ID, and never an un-prefixed TOKEN or DEV-MODE.
  assert.equal(envNameOf("api.address"), "ARMADA_API_ADDRESS");
  assert.equal(envNameOf("raft.node-id"), "ARMADA_RAFT_NODE_ID");
  assert.equal(envNameOf("token"), "ARMADA_TOKEN");
  assert.equal(referenceEnvNameOf("raft.node-id"), "RAFT.NODE-ID");
  assert.equal(referenceEnvNameOf("token"), undefined);
  assert.equal(referenceEnvNameOf("dev-mode"), undefined);
});
