import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { Counter, Registry } from "prom-client";
import { acceptsGzip, startRestServer, type RestServer } from "./rest-server.js";
import { createMetricsRegistry } from "./registry.js";
import { httpCall } from "../test-support/http.js";
import { invalidExpositionLines } from "../test-support/prometheus-text.js";

const call = httpCall;

describe("REST listener", () => {
  let server: RestServer;
  let debugOff: RestServer;
  let problems: string[] = [];

  before(async () => {
    const registry = createMetricsRegistry();
    new Counter({ name: "armada_test_total", help: "A counter with an escaped \"label\".", labelNames: ["path"], registers: [registry] }).inc({ path: 'a"b\\c' });
    const common = { address: "http://127.0.0.1:0", readTimeoutMs: 5000, registry, readinessProblems: () => problems };
    server = await startRestServer({ ...common, debugEnabled: true });
    debugOff = await startRestServer({ ...common, debugEnabled: false, registry: new Registry() });
  });

  after(async () => {
    await server.close();
    await debugOff.close();
  });

  test("/healthz answers 200 with an empty body to any method", async () => {
    // Proves liveness does not depend on anything but the process (spec §13.2).
    for (const method of ["GET", "POST", "HEAD"]) {
      const answer = await call(server.address, "/healthz", { method });
      assert.equal(answer.status, 200);
      assert.equal(answer.body.length, 0);
    }
  });

  test("/readyz answers 503 with one reason per line, then 200 ok", async () => {
    // Proves readiness reflects the current problems on every request.
    problems = ["metadata group has no leader", 'table "a" (shard 10001) has no leader'];
    const notReady = await call(server.address, "/readyz");
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.toString(), 'metadata group has no leader\ntable "a" (shard 10001) has no leader\n');
    problems = [];
    const ready = await call(server.address, "/readyz");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.toString(), "ok\n");
  });

  test("/metrics is valid Prometheus text, gzip-compressed when asked", async () => {
    // Proves the default metrics carry the armada_ prefix and that gzip negotiation works both ways.
    const plain = await call(server.address, "/metrics");
    assert.equal(plain.status, 200);
    assert.match(String(plain.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.equal(plain.headers["content-encoding"], undefined);
    const text = plain.body.toString();
    assert.deepEqual(invalidExpositionLines(text), []);
    assert.match(text, /^armada_process_cpu_user_seconds_total \d/m);
    assert.match(text, /^armada_nodejs_eventloop_lag_seconds \d/m);
    const zipped = await call(server.address, "/metrics", { headers: { "Accept-Encoding": "deflate, gzip;q=0.8" } });
    assert.equal(zipped.headers["content-encoding"], "gzip");
    assert.deepEqual(invalidExpositionLines(gunzipSync(zipped.body).toString()), []);
  });

  test("unknown paths answer 404; debug endpoints need GET and can be turned off", async () => {
    // Proves routing: 404 for anything unknown, 405 for a wrong method, and --rest.debug-enabled=false.
    assert.equal((await call(server.address, "/nope")).status, 404);
    assert.equal((await call(server.address, "/debug/goroutine")).status, 404);
    const post = await call(server.address, "/debug/cmdline", { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET");
    const cmdline = await call(server.address, "/debug/cmdline");
    assert.equal(cmdline.status, 200);
    assert.deepEqual(cmdline.body.toString().split("\0"), process.argv);
    assert.equal((await call(debugOff.address, "/debug/cmdline")).status, 404);
    assert.equal((await call(server.address, "/debug/profile?seconds=-1")).status, 400);
  });

  test("/debug/profile returns a CPU profile", async () => {
    // Proves the inspector session yields a .cpuprofile document.
    const answer = await call(server.address, "/debug/profile?seconds=0.2");
    assert.equal(answer.status, 200);
    const profile = JSON.parse(answer.body.toString()) as { nodes: unknown[]; startTime: number };
    assert.ok(profile.nodes.length > 0);
  });
});

test("Accept-Encoding negotiation honours q=0 and the wildcard", () => {
  // Proves the parser of the header the /metrics compression depends on.
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip("gzip"), true);
  assert.equal(acceptsGzip("br, GZIP;q=0.5"), true);
  assert.equal(acceptsGzip("*"), true);
  assert.equal(acceptsGzip("gzip;q=0"), false);
  assert.equal(acceptsGzip("identity, deflate"), false);
});

test("the exposition checker rejects malformed lines", () => {
  // Proves the checker used on /metrics can fail.
  assert.deepEqual(invalidExpositionLines('ok_total{a="b"} 1\n# HELP x y\n# TYPE x gauge\nx 1.5e3\n'), []);
  assert.deepEqual(invalidExpositionLines('bad-name 1\nx{a=b} 1\nx 1 2 3\n# TYPE x widget\nx{a="b"}\n'), [
    "bad-name 1", "x{a=b} 1", "x 1 2 3", "# TYPE x widget", 'x{a="b"}',
  ]);
});
