import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS, youngGenerationLimited } from "./gc-tuning.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
const FLAGS = SERVER_NODE_FLAGS.join(" ");

test("every launcher the project ships starts Node with the serving flags", () => {
  assert.equal(read("bin/armada.js").split("\n")[0], `#!/usr/bin/env -S node ${FLAGS}`, "the armada command's shebang");
  const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
  assert.match(start, new RegExp(`node ${FLAGS} bin/armada\\.js leader`), "npm start");
  assert.ok(read("Dockerfile").split("\n").includes(`ENV NODE_OPTIONS="${FLAGS}"`), "the container image");
});

test("youngGenerationLimited finds the limit on the command line or in NODE_OPTIONS, and only that option", () => {
  assert.equal(youngGenerationLimited(["--max-semi-space-size=8"], ""), true);
  assert.equal(youngGenerationLimited([], "--enable-source-maps --max-semi-space-size=16"), true);
  assert.equal(youngGenerationLimited(["--max-old-space-size=4096"], "--max-semi-space-sizes=1"), false);
  assert.equal(youngGenerationLimited([], ""), false);
});
