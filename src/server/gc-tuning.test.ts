import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { missingServingFlags, SERVER_NODE_FLAGS } from "./gc-tuning.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
const FLAGS = SERVER_NODE_FLAGS.join(" ");

test("every launcher the project ships starts Node with the serving flags", () => {
  assert.equal(read("bin/armada.js").split("\n")[0], `#!/usr/bin/env -S node ${FLAGS}`, "the armada command's shebang");
  const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
  assert.match(start, new RegExp(`node ${FLAGS} bin/armada\\.js leader`), "npm start");
  const entryPoint = `ENTRYPOINT ${JSON.stringify(["node", ...SERVER_NODE_FLAGS, "/app/bin/armada.js"]).replaceAll(",", ", ")}`;
  assert.ok(read("Dockerfile").split("\n").includes(entryPoint), `the container image: ${entryPoint}`);
  for (const role of ["leader", "follower"]) {
    assert.match(read(`deploy/kubernetes/${role}.yaml`), new RegExp(`exec node ${FLAGS} /app/bin/armada\\.js ${role}\n`), `the Kubernetes ${role}`);
  }
});

test("missingServingFlags names each serving option the process lacks, and takes the young-generation limit from NODE_OPTIONS too", () => {
  assert.deepEqual(missingServingFlags([...SERVER_NODE_FLAGS], ""), []);
  assert.deepEqual(missingServingFlags(["--no-memory-reducer"], "--enable-source-maps --max-semi-space-size=16"), []);
  assert.deepEqual(missingServingFlags(["--max-semi-space-size=8"], ""), ["--no-memory-reducer"]);
  assert.deepEqual(missingServingFlags(["--max-old-space-size=4096"], "--max-semi-space-sizes=1"), ["--max-semi-space-size=8", "--no-memory-reducer"]);
  assert.deepEqual(missingServingFlags([], "--no-memory-reducer"), ["--max-semi-space-size=8", "--no-memory-reducer"], "Node refuses it in NODE_OPTIONS");
  assert.deepEqual(missingServingFlags([], ""), ["--max-semi-space-size=8", "--no-memory-reducer"]);
});

/**
 * Runs a script that grows the old generation until V8 collects it in full, then idles for 9.5 s, with
 * the memory reducer's trace; returns the trace lines. 8 s after a full collection the reducer's timer
 * fires and prints a line, whether or not it then collects.
 */
async function memoryReducerTrace(nodeFlags: readonly string[], setAtRuntime: boolean): Promise<string[]> {
  const script = `
    if (${setAtRuntime}) (await import("node:v8")).setFlagsFromString("--no-memory-reducer");
    const kept = [];
    for (let i = 0; i < 1_500_000; i++) kept.push({ i, text: "x" + i });
    kept.length = 0;
    setTimeout(() => {}, 9_500);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, "--trace-gc-verbose", "--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 << 20 });
  return stdout.split("\n").filter((line) => line.includes("Memory reducer"));
}

test("the serving flags turn V8's memory reducer off, which setting the flag at runtime does not", async () => {
  const [withFlags, runtime, without] = await Promise.all([
    memoryReducerTrace(SERVER_NODE_FLAGS, false),
    memoryReducerTrace([], true),
    memoryReducerTrace([], false),
  ]);
  assert.ok(without.length > 0, "by default, the reducer's timer fires 8 s after a full collection (the control)");
  assert.ok(runtime.length > 0, "set at runtime, the flag leaves the reducer running: it must be on the command line");
  assert.deepEqual(withFlags, [], "started with SERVER_NODE_FLAGS, the reducer never runs");
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
