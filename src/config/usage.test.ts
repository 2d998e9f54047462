import { test } from "node:test";
import assert from "node:assert/strict";
import { flagsFor } from "./flags.js";
import { usageText } from "./usage.js";

test("root usage lists every sub-command", () => {
  // Proves `armada --help` names leader, follower, backup, restore and version (spec §14.1).
  const text = usageText();
  for (const command of ["leader", "follower", "backup", "restore", "version"]) {
    assert.match(text, new RegExp(`^  ${command} `, "m"), command);
  }
});

test("command usage lists every flag with type, default and notes", () => {
  // Proves help is generated from the table: nothing accepted is undocumented, and the marks appear.
  for (const command of ["leader", "follower", "backup", "restore"] as const) {
    const text = usageText(command);
    for (const spec of flagsFor(command)) assert.match(text, new RegExp(`--${spec.name.replace(/\./g, "\\.")}\\b`), spec.name);
    assert.match(text, /-h, --help/);
  }
  // Wrapped lines are joined again so phrases can be matched whole.
  const leader = usageText("leader").replace(/\s+/g, " ");
  assert.match(leader, /--raft\.rtt duration\s+Logical clock tick/);
  assert.match(leader, /\(default 50ms\)/);
  assert.match(leader, /\(default "http:\/\/0\.0\.0\.0:8443"\)/);
  assert.match(leader, /--raft\.address string [^-]*\(required\)/);
  assert.match(leader, /not yet active: takes effect when gossip membership lands/);
  assert.match(leader, /deprecated: use the Tables API/);
  assert.match(leader, /ARMADA_API_ADDRESS/);
  assert.match(usageText("backup"), /ARMADA_TOKEN/);
  assert.match(usageText("version"), /armada version/);
});

test("help lines stay within 120 columns", () => {
  // Proves the word wrapping keeps help readable in a normal terminal.
  for (const command of ["leader", "follower", "backup", "restore"] as const) {
    for (const line of usageText(command).split("\n")) assert.ok(line.length <= 120, line);
  }
});
