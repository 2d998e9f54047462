import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";
import { validateStartup } from "./validate.js";

const LEADER_BASE = ["--raft.address=127.0.0.1:5012"];
const FOLLOWER_BASE = ["--raft.address=127.0.0.1:6012", "--replication.leader-address=https://leader:8444"];

function check(command: "leader" | "follower", argv: string[], env: NodeJS.ProcessEnv = {}): void {
  validateStartup(command, loadConfig(command, argv, env, { searchDirs: [] }));
}

function fails(command: "leader" | "follower", argv: string[], message: string): void {
  assert.throws(() => check(command, argv), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.message, message);
    return true;
  }, argv.join(" "));
}

test("minimal leader and follower configurations pass", () => {
  // Proves the defaults plus the required flags form a valid configuration.
  check("leader", LEADER_BASE);
  check("follower", FOLLOWER_BASE);
  check("leader", [...LEADER_BASE, "--raft.initial-members=1=127.0.0.1:5012", "--raft.logdb=pebble", "--log-level=debug"]);
});

test("raft address must be set, by flag, environment or file but not by default", () => {
  // Proves §14.7 and §14.3: an empty value or the built-in default does not satisfy "must be set".
  fails("leader", [], "raft address must be set");
  fails("leader", ["--raft.address="], "raft address must be set");
  check("leader", [], { ARMADA_RAFT_ADDRESS: "h:1" });
  fails("follower", ["--replication.leader-address=https://l:1"], "raft address must be set");
});

test("follower checks the leader address first", () => {
  // Proves the follower's ordering: `leader address must be set` wins over a missing raft address.
  fails("follower", [], "leader address must be set");
  fails("follower", ["--raft.address=h:1"], "leader address must be set");
});

test("node id and initial members are checked", () => {
  // Proves node-id ≥ 1 and that a given bootstrap membership includes this node.
  fails("leader", [...LEADER_BASE, "--raft.node-id=0"], "invalid raft.node-id 0: must be at least 1");
  fails("leader", [...LEADER_BASE, "--raft.node-id=3", "--raft.initial-members=1=a:1,2=b:1"],
    "raft.initial-members must contain this node's id 3 (raft.node-id); it has 1, 2");
  check("leader", [...LEADER_BASE, "--raft.node-id=2", "--raft.initial-members=1=a:1,2=b:1"]);
});

test("unknown raft.logdb fails with the reference's message", () => {
  // Proves tan and pebble are accepted and anything else is refused exactly as §14.7 says.
  fails("leader", [...LEADER_BASE, "--raft.logdb=rocksdb"], "failed to parse raft.logdb: unknown logdb impl: rocksdb");
  check("follower", [...FOLLOWER_BASE, "--raft.logdb=tan"]);
});

test("log level is one of DEBUG, INFO, WARN, ERROR in any case", () => {
  // Proves `--log-level` validation of §14.4.
  for (const level of ["debug", "INFO", "Warn", "error"]) check("leader", [...LEADER_BASE, `--log-level=${level}`]);
  fails("leader", [...LEADER_BASE, "--log-level=verbose"], 'invalid log level "verbose": must be one of DEBUG, INFO, WARN, ERROR');
});

test("listener addresses need a known scheme", () => {
  // Proves the [FIX] address message for api, replication, maintenance and the follower's leader address.
  const message = (value: string) => `invalid address '${value}': scheme must be one of http, https, unix, unixs`;
  fails("leader", [...LEADER_BASE, "--api.address=0.0.0.0:8443"], message("0.0.0.0:8443"));
  fails("leader", [...LEADER_BASE, "--replication.address=tcp://0.0.0.0:8444"], message("tcp://0.0.0.0:8444"));
  fails("leader", [...LEADER_BASE, "--maintenance.address=8445"], message("8445"));
  fails("follower", ["--raft.address=h:1", "--replication.leader-address=leader:8444"], message("leader:8444"));
  fails("leader", [...LEADER_BASE, "--rest.address=https://127.0.0.1:8080"],
    "invalid address 'https://127.0.0.1:8080': the REST listener supports only http://host:port");
  // Disabled listeners are not checked.
  check("leader", [...LEADER_BASE, "--maintenance.enabled=false", "--maintenance.address=bad",
    "--replication.enabled=false", "--replication.address=bad"]);
  check("leader", [...LEADER_BASE, "--api.address=unix:///tmp/armada.sock"]);
});

test("allowed-cn/allowed-hostname need client certificate authentication", () => {
  // Proves the [FIX] of §12.1 for every listener, and that ca-filename alone turns client auth on.
  for (const prefix of ["api", "maintenance", "replication"]) {
    fails("leader", [...LEADER_BASE, `--${prefix}.allowed-cn=client`],
      "allowed-cn/allowed-hostname require client certificate authentication: " +
        `set --${prefix}.client-cert-auth or --${prefix}.ca-filename`);
    check("leader", [...LEADER_BASE, `--${prefix}.allowed-hostname=client.example`, `--${prefix}.client-cert-auth`]);
    check("leader", [...LEADER_BASE, `--${prefix}.allowed-cn=client`, `--${prefix}.ca-filename=ca.pem`]);
  }
});

test("TLS problems fail with cannot build tls config", () => {
  // Proves https/unixs without cert or key, both allowed-cn and allowed-hostname, and a half client pair.
  fails("leader", [...LEADER_BASE, "--api.address=https://0.0.0.0:8443", "--api.cert-filename=c.pem"],
    "cannot build tls config: KeyFile and CertFile must both be present " +
      "(api.address is 'https://0.0.0.0:8443'; set --api.cert-filename and --api.key-filename)");
  fails("leader", [...LEADER_BASE, "--replication.address=unixs:///r.sock"],
    "cannot build tls config: KeyFile and CertFile must both be present " +
      "(replication.address is 'unixs:///r.sock'; set --replication.cert-filename and --replication.key-filename)");
  check("leader", [...LEADER_BASE, "--api.address=https://0.0.0.0:8443", "--api.cert-filename=c", "--api.key-filename=k"]);
  fails("leader", [...LEADER_BASE, "--api.client-cert-auth", "--api.allowed-cn=a", "--api.allowed-hostname=b"],
    "cannot build tls config: --api.allowed-cn and --api.allowed-hostname are mutually exclusive");
  fails("follower", [...FOLLOWER_BASE, "--replication.cert-filename=c.pem"],
    "cannot build tls config: --replication.cert-filename and --replication.key-filename must both be set or both be empty");
  check("follower", [...FOLLOWER_BASE, "--replication.cert-filename=c", "--replication.key-filename=k"]);
});
