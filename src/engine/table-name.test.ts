import { test } from "node:test";
import assert from "node:assert/strict";
import { tableNameProblem } from "./table-name.js";

test("table names that would break paths or registries are refused", () => {
  // Proves the naming rules of spec §5.4, each case on its own.
  for (const bad of ["a/b", "a\\b", "a*", "a?", "[a", "a]", "a\0b", "tab\there", "del\u007f", ".", "..", "x".repeat(256)]) {
    assert.notEqual(tableNameProblem(bad), null, `"${bad}" should be refused`);
  }
  for (const good of ["users", "a.b", "...", "ünïcödé", "with space", "x".repeat(255), "a-b_c"]) {
    assert.equal(tableNameProblem(good), null, `"${good}" should be accepted`);
  }
});

test("the limit counts UTF-8 bytes, not characters", () => {
  // Proves a name of 128 two-byte characters (256 bytes) is refused.
  assert.notEqual(tableNameProblem("é".repeat(128)), null);
  assert.equal(tableNameProblem("é".repeat(127)), null);
});
