import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createMetricsRegistry, METRICS_PREFIX } from "./registry.js";

function familyNames(registry: Registry): Set<string> {
  return new Set(registry.getMetricsAsArray().map((metric) => metric.name));
}

test("the registry has prom-client's default process metrics, prefixed, except the GC duration histogram", async () => {
  const ours = createMetricsRegistry();
  const reference = new Registry();
  collectDefaultMetrics({ register: reference, prefix: METRICS_PREFIX });
  const missing = [...familyNames(reference)].filter((name) => !familyNames(ours).has(name));
  assert.deepEqual(missing, [`${METRICS_PREFIX}nodejs_gc_duration_seconds`]);
  const text = await ours.metrics();
  assert.match(text, /^armada_process_cpu_user_seconds_total \d/m);
  assert.match(text, /^armada_nodejs_heap_space_size_used_bytes\{space="new"\} \d/m);
  assert.match(text, /^armada_nodejs_eventloop_lag_p99_seconds \d/m);
  assert.match(text, /^armada_nodejs_version_info\{/m);
});

/**
 * Runs a script that sets up what a serving node has (the metrics registry, a FreshMap) and then makes
 * short-lived garbage, yielding to the event loop as a server does, with V8's per-collection trace;
 * returns the bytes promoted by each scavenge after the first few.
 */
function promotedPerScavenge(): number[] {
  const registry = new URL("./registry.js", import.meta.url).href;
  const freshTables = new URL("../runtime/fresh-tables.js", import.meta.url).href;
  const script = `
    const { createMetricsRegistry } = await import(${JSON.stringify(registry)});
    const { FreshMap } = await import(${JSON.stringify(freshTables)});
    const metrics = createMetricsRegistry();
    const inFlight = new FreshMap();
    await metrics.metrics();
    let sink;
    for (let turn = 0; turn < 400; turn++) {
      for (let i = 0; i < 20_000; i++) sink = { i, pair: [i, turn] };
      inFlight.set(turn, sink);
      inFlight.delete(turn);
      await new Promise((resolve) => setImmediate(resolve));
    }
  `;
  const output = execFileSync(process.execPath, ["--trace-gc-nvp", "--max-semi-space-size=8", "--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 << 20 });
  const promoted = output.split("\n").filter((line) => line.includes("gc=s ")).map((line) => Number(/ promoted=(\d+)/.exec(line)?.[1]));
  return promoted.slice(5);
}

test("a node's metrics and tables promote nothing at a scavenge: no observer of GC entries in the process", () => {
  const promoted = promotedPerScavenge();
  assert.ok(promoted.length >= 10, `enough scavenges to judge (${promoted.length})`);
  const sorted = [...promoted].sort((a, b) => a - b);
  // Node's entries for an observed collection came to 3,184 bytes promoted at every scavenge.
  assert.ok(sorted[Math.floor(sorted.length / 2)]! < 1000, `median bytes promoted per scavenge: ${sorted[Math.floor(sorted.length / 2)]} (${promoted.join(" ")})`);
});
