/**
 * End-to-end tests of a real `armada leader` process's operational surface: the REST endpoints
 * (health, readiness, Prometheus metrics) and gRPC health checking and server reflection, each through
 * generic clients that know nothing of Armada (node:http, and grpc-js with the standard protos).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { gunzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";
import { httpCall } from "../test-support/http.js";
import { invalidExpositionLines, sampleValue } from "../test-support/prometheus-text.js";

const get = httpCall;

/** Repeats `attempt` until it returns true or `timeoutMs` passes. */
async function eventually(what: string, attempt: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await attempt()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const require = createRequire(import.meta.url);

/** A generic grpc-js client of a service described by a standard proto file, as grpcurl would build one. */
function genericClient(protoFile: string, includeDir: string, service: string, address: string): grpc.Client {
  const definition = loadSync(protoFile, { includeDirs: [includeDir], keepCase: true, longs: String, enums: String, defaults: true });
  const Constructor = grpc.makeGenericClientConstructor(definition[service] as grpc.ServiceDefinition, service);
  return new Constructor(address.replace(/^http:\/\//, ""), grpc.credentials.createInsecure());
}

function unary(client: grpc.Client, method: string, request: object): Promise<Record<string, unknown>> {
  const call = (client as unknown as Record<string, (r: object, cb: (e: grpc.ServiceError | null, v: Record<string, unknown>) => void) => void>)[method]!;
  return new Promise((resolve, reject) => call.call(client, request, (error, value) => (error ? reject(error) : resolve(value))));
}

/** Lists services through reflection version `version` ("v1" or "v1alpha"). */
function listServices(address: string, version: "v1" | "v1alpha"): Promise<string[]> {
  const protoDir = join(dirname(require.resolve("@grpc/reflection")), "..", "proto");
  const client = genericClient(`grpc/reflection/${version}/reflection.proto`, protoDir, `grpc.reflection.${version}.ServerReflection`, address);
  return new Promise((resolve, reject) => {
    const stream = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, object> }).ServerReflectionInfo();
    stream.on("data", (response: { list_services_response?: { service: { name: string }[] } }) => {
      resolve((response.list_services_response?.service ?? []).map((s) => s.name).sort());
      stream.end();
      client.close();
    });
    stream.on("error", reject);
    stream.write({ list_services: "*" });
  });
}

describe("armada leader operations surface", () => {
  let dataDir: string;
  let leader: LeaderProcess;
  let client: ArmadaClient;

  before(async () => {
    dataDir = tempDir();
    leader = await LeaderProcess.start(dataDir);
    await leader.waitForLog(/REST listening/, 10_000);
    client = new ArmadaClient(leader.apiAddress);
  });

  after(async () => {
    client?.close();
    await leader?.stop("SIGKILL");
    removeDir(dataDir);
  });

  test("/healthz answers 200 and unknown paths 404, wrong methods on debug endpoints 405", async () => {
    // Proves liveness and routing on the real listener bound from --rest.address.
    assert.equal((await get(leader.restAddress, "/healthz")).status, 200);
    assert.equal((await get(leader.restAddress, "/no-such-path")).status, 404);
    assert.equal((await get(leader.restAddress, "/debug/cmdline", { method: "DELETE" })).status, 405);
  });

  test("/readyz answers 200 once a created table has a leader", async () => {
    // Proves readiness covers the metadata group and every registered table.
    await client.createTable("ready");
    await eventually("/readyz 200", async () => (await get(leader.restAddress, "/readyz")).status === 200);
    assert.equal((await get(leader.restAddress, "/readyz")).body.toString(), "ok\n");
  });

  test("/metrics parses and has gRPC counters and per-table gauges with real values", async () => {
    // Proves a call just made is counted under the name the client used, and the table gauges read the engine.
    await client.createTable("metered");
    await client.put("metered", "k", "v");
    const answer = await get(leader.restAddress, "/metrics");
    assert.equal(answer.status, 200);
    const text = answer.body.toString();
    assert.deepEqual(invalidExpositionLines(text), []);
    // Every series once: a scraper rejects a page that repeats one (a service bound on two listeners).
    const series = text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => line.slice(0, line.lastIndexOf(" ")));
    assert.deepEqual(series.filter((name, i) => series.indexOf(name) !== i), []);
    const put = 'grpc_type="unary",grpc_service="armada.v1.KV",grpc_method="Put"';
    assert.ok(sampleValue(text, `grpc_server_handled_total{${put},grpc_code="OK"}`)! >= 1);
    assert.ok(sampleValue(text, `grpc_server_handling_seconds_count{${put}}`)! >= 1);
    assert.equal(sampleValue(text, 'grpc_server_handled_total{grpc_type="unary",grpc_service="regatta.v1.KV",grpc_method="Put",grpc_code="OK"}'), 0);
    const shard = (await client.listTables()).find((t) => t.name === "metered")!.id;
    const labels = `{table="metered",shard_id="${shard}"}`;
    assert.equal(sampleValue(text, `armada_raft_has_leader${labels}`), 1);
    assert.ok(sampleValue(text, `armada_raft_term${labels}`)! >= 1);
    assert.ok(sampleValue(text, `armada_raft_commit_index${labels}`)! >= 1);
    assert.ok(sampleValue(text, `armada_applied_index${labels}`)! >= 1);
    assert.ok(sampleValue(text, `armada_table_storage_disk_usage_bytes${labels}`)! > 0);
    // One Put on a single-node cluster: this node led, appended it, and its log holds it.
    assert.ok(sampleValue(text, `armada_raft_proposals_total${labels}`)! >= 1);
    assert.ok(sampleValue(text, `armada_raft_log_entries${labels}`)! >= 1);
    assert.equal(sampleValue(text, `armada_raft_snapshots_total${labels}`), 0);
    assert.match(text, /^armada_process_resident_memory_bytes \d+/m);
  });

  test("/metrics is gzip-encoded when the scraper asks", async () => {
    // Proves Accept-Encoding: gzip is honoured on the real listener.
    const answer = await get(leader.restAddress, "/metrics", { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(answer.headers["content-encoding"], "gzip");
    assert.deepEqual(invalidExpositionLines(gunzipSync(answer.body).toString()), []);
  });

  test("a generic gRPC health check answers SERVING, overall and per service", async () => {
    // Proves grpc.health.v1.Health is served on the API listener, as grpc_health_probe uses it.
    const { protoPath } = require("grpc-health-check") as { protoPath: string };
    const health = genericClient(protoPath, dirname(protoPath), "grpc.health.v1.Health", leader.apiAddress);
    try {
      await eventually("overall SERVING", async () => (await unary(health, "Check", { service: "" })).status === "SERVING");
      assert.equal((await unary(health, "Check", { service: "regatta.v1.KV" })).status, "SERVING");
      assert.equal((await unary(health, "Check", { service: "armada.v1.KV" })).status, "SERVING");
      await assert.rejects(unary(health, "Check", { service: "no.such.Service" }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  test("reflection v1 and v1alpha list the Armada and the Regatta services", async () => {
    // Proves grpcurl-style discovery works without the proto files.
    for (const version of ["v1", "v1alpha"] as const) {
      const services = await listServices(leader.apiAddress, version);
      for (const name of ["armada.v1.KV", "regatta.v1.KV", "armada.v1.Cluster", "regatta.v1.Cluster", "armada.v1.Tables", "regatta.v1.Tables"]) {
        assert.ok(services.includes(name), `${version} lists ${name}: ${services.join(", ")}`);
      }
    }
  });

  test("on SIGTERM a health Watch stream hears NOT_SERVING and ends, and shutdown is not held open", async () => {
    // Proves the health service turns NOT_SERVING when shutdown begins and that a long-lived Watch does not
    // keep the node alive until the shutdown grace deadline. Runs last: it stops the node.
    const { protoPath } = require("grpc-health-check") as { protoPath: string };
    const health = genericClient(protoPath, dirname(protoPath), "grpc.health.v1.Health", leader.apiAddress);
    try {
      const stream = (health as unknown as { Watch(r: object): grpc.ClientReadableStream<{ status: string }> }).Watch({ service: "" });
      const statuses: string[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on("data", (message: { status: string }) => statuses.push(message.status));
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      await eventually("first Watch message", async () => statuses.length > 0);
      assert.equal(statuses[0], "SERVING");
      const started = Date.now();
      const code = await leader.stop("SIGTERM");
      await ended;
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
      assert.equal(statuses.at(-1), "NOT_SERVING");
    } finally {
      health.close();
    }
  });
});
