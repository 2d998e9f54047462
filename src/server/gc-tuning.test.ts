import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
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

/**
 * Runs a script that keeps a quarter of a million young objects alive while it allocates (so that every
 * scavenge has survivors to share out between threads), with V8's per-collection trace; returns the
 * milliseconds that helper threads spent in each scavenge.
 */
function helperScavengeMs(tune: boolean): number[] {
  const module = new URL("./gc-tuning.js", import.meta.url).href;
  const script = `
    const { tuneGarbageCollectorForServing } = await import(${JSON.stringify(module)});
    if (${tune}) tuneGarbageCollectorForServing();
    const ring = new Array(250_000);
    for (let i = 0; i < 6_000_000; i++) ring[i % ring.length] = { i, text: "x" + i };
  `;
  const output = execFileSync(process.execPath, ["--trace-gc-nvp", "--max-semi-space-size=16", "--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 << 20 });
  return output
    .split("\n")
    .filter((line) => /\bgc=s\b/.test(line))
    .map((line) => Number(/background\.scavenge\.parallel=([\d.]+)/.exec(line)?.[1] ?? "0"));
}

test("tuneGarbageCollectorForServing makes the main thread scavenge alone", { skip: availableParallelism() < 2 ? "one core: V8 scavenges on one thread anyway" : false }, () => {
  const untuned = helperScavengeMs(false);
  assert.ok(untuned.length > 0, "the script scavenged");
  assert.ok(untuned.some((ms) => ms > 0), "by default, helper threads take part in scavenges (the control)");
  const tuned = helperScavengeMs(true);
  assert.ok(tuned.length > 0, "the tuned script scavenged");
  assert.deepEqual(tuned.filter((ms) => ms > 0), [], "once tuned, no helper thread takes part");
});
