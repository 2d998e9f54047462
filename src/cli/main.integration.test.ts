/**
 * The `armada` command as a real process: version, usage, startup validation with the spec's messages,
 * configuration from the environment and a YAML file, and graceful stop on SIGTERM.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { ArmadaClient } from "../client/index.js";
import { ARMADA_BIN, freePort, isolatedEnv, removeDir, runArmada, tempDir } from "../test-support/process.js";

test("armada version prints the product, the version and the runtime", async () => {
  // Proves the shape of spec §14.1.
  const { code, stdout } = await runArmada(["version"]);
  assert.equal(code, 0);
  assert.match(stdout, /^Armada KV\nVersion: \S+\nNode: v\d+\.\d+\.\d+ \(\w+\/\w+\)\n$/);
});

test("usage lists the sub-commands; unknown commands and flags fail with one line", async () => {
  // Proves --help exits 0 with usage, and bad input exits 1 with a single clear message.
  const help = await runArmada(["--help"]);
  assert.equal(help.code, 0);
  for (const command of ["leader", "follower", "backup", "restore", "version"]) assert.match(help.stdout, new RegExp(command));
  const leaderHelp = await runArmada(["leader", "--help"]);
  assert.equal(leaderHelp.code, 0);
  assert.match(leaderHelp.stdout, /--api\.address/);
  const unknown = await runArmada(["frobnicate"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = await runArmada(["leader", "--no-such-flag=1"]);
  assert.equal(badFlag.code, 1);
  assert.equal(badFlag.stderr, "unknown flag: --no-such-flag\n");
});

test("startup validation prints the spec's messages and exits 1", async () => {
  // Proves the §14.7 messages through the real binary.
  const missingRaft = await runArmada(["leader"]);
  assert.equal(missingRaft.code, 1);
  assert.equal(missingRaft.stderr, "raft address must be set\n");
  const badScheme = await runArmada(["leader", "--raft.address=127.0.0.1:1", "--api.address=tcp://127.0.0.1:1"]);
  assert.equal(badScheme.code, 1);
  assert.equal(badScheme.stderr, "invalid address 'tcp://127.0.0.1:1': scheme must be one of http, https, unix, unixs\n");
  const badLogdb = await runArmada(["leader", "--raft.address=127.0.0.1:1", "--raft.logdb=rocks"]);
  assert.equal(badLogdb.stderr, "failed to parse raft.logdb: unknown logdb impl: rocks\n");
  const badMembers = await runArmada(["leader", "--raft.address=127.0.0.1:1", "--raft.initial-members=x=127.0.0.1:1"]);
  assert.match(badMembers.stderr, /^failed to parse raft.initial-members: /);
  const tlsWithoutCert = await runArmada(["leader", "--raft.address=127.0.0.1:1", "--api.address=https://127.0.0.1:1"]);
  assert.equal(tlsWithoutCert.code, 1);
  assert.match(tlsWithoutCert.stderr, /^cannot build tls config: /);
});

test("configuration comes from ARMADA_ environment variables and a YAML file; flags win", async () => {
  // Proves the precedence flag > environment > file on a running node, read back through Cluster/Status.
  const dir = tempDir();
  const port = await freePort();
  const configFile = join(dir, "config.yaml");
  writeFileSync(configFile, [
    "raft:",
    `  address: 127.0.0.1:${await freePort()}`,
    `  node-host-dir: ${join(dir, "raft")}`,
    `  state-machine-dir: ${join(dir, "sm")}`,
    "memberlist:",
    "  cluster-name: from-file",
    "  node-name: file-node",
    "tables:",
    "  token: from-file-secret",
    "",
  ].join("\n"));
  const env = isolatedEnv({
    ARMADA_API_ADDRESS: `http://127.0.0.1:${port}`,
    ARMADA_MEMBERLIST_CLUSTER_NAME: "from-env",
  });
  const child = spawn(process.execPath, [ARMADA_BIN, "leader", `--config=${configFile}`, "--memberlist.node-name=flag-node"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let logs = "";
  child.stderr.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  const client = new ArmadaClient(`http://127.0.0.1:${port}`);
  try {
    await waitFor(() => /API listening/.test(logs), 20_000, () => logs);
    const members = await client.memberList();
    assert.equal(members.cluster, "from-env");
    assert.equal(members.members[0]?.name, "flag-node");
    const status = await client.status({ config: true });
    assert.equal(status.config?.fields?.["tables.token"]?.stringValue, "**********");
    assert.equal(status.config?.fields?.["memberlist.cluster-name"]?.stringValue, "from-env");
    // A JSON log line per event, with the documented fields.
    const line = JSON.parse(logs.split("\n").find((l) => l.includes("API listening"))!) as Record<string, unknown>;
    for (const field of ["level", "ts", "logger", "caller", "msg"]) assert.ok(field in line, `log line lacks ${field}`);
    assert.equal(line.level, "info");
  } finally {
    client.close();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    process.kill(child.pid!, "SIGTERM");
    assert.equal(await exited, 0);
    assert.match(logs, /shutting down/);
    removeDir(dir);
  }
});

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
