/**
 * Limits of the API listener on a real `armada leader` process (issue 8, spec §14.4, §15), seen through
 * a generic gRPC client (the standard health service): past `--api.max-concurrent-connections` a
 * connection waits for a slot, then gets RESOURCE_EXHAUSTED; past `--api.max-concurrent-streams` streams
 * queue on the client; oversized messages get RESOURCE_EXHAUSTED; the node stays healthy throughout.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { connect as tcpConnect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";
import { httpCall } from "../test-support/http.js";
import { sampleValue } from "../test-support/prometheus-text.js";
import { CONNECTION_WAIT_MS, PENDING_CONNECTIONS_MIN } from "./connection-limit.js";

const require = createRequire(import.meta.url);
const { protoPath } = require("grpc-health-check") as { protoPath: string };
const HealthClient = grpc.makeGenericClientConstructor(
  loadSync(protoPath, { includeDirs: [dirname(protoPath)], keepCase: true, enums: String })["grpc.health.v1.Health"] as grpc.ServiceDefinition,
  "grpc.health.v1.Health",
);

type Health = grpc.Client & {
  Check(request: object, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void): void;
  Watch(request: object): grpc.ClientReadableStream<{ status: string }>;
};

/** A health client on its own connection (grpc-js otherwise shares one connection between clients). */
function healthClient(address: string): Health {
  return new HealthClient(address.replace(/^http:\/\//, ""), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }) as unknown as Health;
}

function check(client: Health, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Check({ service: "" }, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response!.status))),
  );
}

describe("API listener limits", () => {
  let dataDir: string;
  let leader: LeaderProcess;
  const clients: grpc.Client[] = [];
  const open = () => {
    const client = healthClient(leader.apiAddress);
    clients.push(client);
    return client;
  };

  before(async () => {
    dataDir = tempDir();
    leader = await LeaderProcess.start(dataDir, ["--api.max-concurrent-connections=2", "--api.max-concurrent-streams=2"]);
    await leader.waitForLog(/REST listening/, 10_000);
  });

  // Each test starts with no connection of the previous one holding a slot (a waiting one is admitted
  // as soon as the server sees the close).
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  after(async () => {
    await leader?.stop("SIGKILL");
    removeDir(dataDir);
  });

  test("past the connection limit a connection waits, then is refused with RESOURCE_EXHAUSTED; a freed slot admits the next", async () => {
    // Proves the limit counts connections (not calls), the refusal is a clear gRPC status, and a waiting
    // connection is served as soon as a served one closes.
    const first = open();
    const second = open();
    await check(first);
    await check(second);
    const started = Date.now();
    await assert.rejects(check(open()), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED, error.message);
      assert.match(error.details, /too many connections: this node serves at most 2 at once/);
      return true;
    });
    const waitedMs = Date.now() - started;
    assert.ok(waitedMs >= CONNECTION_WAIT_MS - 200, `refused after ${waitedMs} ms, before the wait was over`);
    // Both served connections still work.
    assert.equal(await check(first), "SERVING");
    const metrics = (await httpCall(leader.restAddress, "/metrics")).body.toString();
    assert.equal(sampleValue(metrics, "armada_api_connections_max"), 2);
    assert.equal(sampleValue(metrics, 'armada_api_connections{state="active"}'), 2);
    assert.ok(sampleValue(metrics, "armada_api_connections_refused_total")! >= 1);
    // A waiting connection is admitted when a served one closes.
    const waiting = check(open());
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.close();
    assert.equal(await waiting, "SERVING");
  });

  test("a flood of idle connections is bounded: the node stays healthy and a served client keeps working", async () => {
    // Proves the waiting and refused connections are capped (the rest closed at once) and that the node
    // neither falls over nor stops serving the connection it already serves.
    const served = open();
    await check(served);
    const port = Number(new URL(leader.apiAddress).port);
    const sockets: Socket[] = [];
    let closedEarly = 0;
    try {
      await Promise.all(Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
        const socket = tcpConnect(port, "127.0.0.1", () => resolve());
        socket.on("error", () => resolve());
        socket.on("close", () => closedEarly++);
        sockets.push(socket);
      })));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Free slots (at most 2), then at most 64 waiting and 64 refused-but-lingering; the rest are closed.
      assert.ok(closedEarly >= 200 - 2 - 2 * PENDING_CONNECTIONS_MIN, `${closedEarly} of 200 idle connections closed at once`);
      assert.equal(await check(served), "SERVING");
      assert.equal((await httpCall(leader.restAddress, "/healthz")).status, 200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  test("past the stream limit, streams wait on the client instead of failing", async () => {
    // Proves --api.max-concurrent-streams is advertised: with 2 long Watch streams open on a connection,
    // a third call queues in the client until one of them ends, then succeeds.
    const client = open();
    const watches = [client.Watch({ service: "" }), client.Watch({ service: "" })];
    for (const watch of watches) watch.on("error", () => undefined); // CANCELLED, from cancel() below
    await Promise.all(watches.map((watch) => new Promise((resolve) => watch.once("data", resolve))));
    let answered = false;
    const third = check(client).then((status) => { answered = true; return status; });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(answered, false, "the third stream waited for a free stream slot");
    watches[0]!.cancel();
    assert.equal(await third, "SERVING");
    watches[1]!.cancel();
  });

  test("a message over 4 MiB is refused with RESOURCE_EXHAUSTED and the node stays healthy", async () => {
    // Proves the inbound message limit of spec §15 on the API listener.
    const kv = new ArmadaClient(leader.apiAddress);
    try {
      await kv.createTable("big");
      await assert.rejects(kv.put("big", "k", Buffer.alloc(4 * 1024 * 1024 + 1)), (error: { code: number }) => error.code === grpc.status.RESOURCE_EXHAUSTED);
      await kv.put("big", "k", Buffer.alloc(1024));
    } finally {
      kv.close();
    }
    assert.equal((await httpCall(leader.restAddress, "/healthz")).status, 200);
    assert.equal((await httpCall(leader.restAddress, "/readyz")).status, 200);
  });

  test("SIGTERM with a limited listener exits 0 promptly, with a connection still waiting for a slot", async () => {
    // Proves the graceful stop also closes Armada's own listening socket and the waiting connections.
    const [first, second] = [open(), open()];
    await check(first);
    await check(second);
    const waiting = check(open()).catch((error: grpc.ServiceError) => error.code);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    assert.equal(await leader.stop("SIGTERM"), 0);
    assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
    assert.notEqual(await waiting, "SERVING");
  });
});
