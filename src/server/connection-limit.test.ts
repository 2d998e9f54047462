import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ListenerHealth } from "./introspection.js";
import { ConnectionLimiter } from "./connection-limit.js";
import { listen, serverOptions, shutdown } from "./listen.js";
import { removeDir, tempDir } from "../test-support/process.js";

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

/** A health-only gRPC server behind a limiter of `maxConnections`, with short waits to keep the test quick. */
function limitedServer(maxConnections: number): { server: grpc.Server; limiter: ConnectionLimiter } {
  const limiter = new ConnectionLimiter({ maxConnections, waitMs: 300, lingerMs: 500 });
  const server = new grpc.Server(serverOptions({ interceptors: [limiter.interceptor()] }));
  new ListenerHealth(server, []).update(true);
  return { server, limiter };
}

const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

/** One Health/Check call (request `{}` encodes to no bytes) on a client of its own connection. */
function check(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(HEALTH_CHECK, (value: Buffer) => value, (bytes: Buffer) => bytes, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

function newClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(address.replace(/^https?:\/\//, ""), credentials, { "grpc.use_local_subchannel_pool": 1, ...options });
}

async function exercise(address: string, credentials: grpc.ChannelCredentials, limiter: ConnectionLimiter, options: grpc.ChannelOptions = {}): Promise<void> {
  const served = newClient(address, credentials, options);
  const extra = newClient(address, credentials, options);
  try {
    await check(served);
    assert.deepEqual(limiter.counts(), { active: 1, waiting: 0, refused: 0 });
    await assert.rejects(check(extra), (error: grpc.ServiceError) => error.code === grpc.status.RESOURCE_EXHAUSTED && /too many connections/.test(error.details));
    await check(served);
  } finally {
    served.close();
    extra.close();
  }
}

test("plaintext: one connection is served, the next is refused with RESOURCE_EXHAUSTED after its wait", async () => {
  // Proves the limiter through the grpc-js connection injector, the refusal interceptor, and that a
  // refused connection is closed after it lingered (the count goes back to 0).
  const { server, limiter } = limitedServer(1);
  const address = await listen(server, "http://127.0.0.1:0", undefined, { listener: "api", limiter });
  try {
    await exercise(address, grpc.credentials.createInsecure(), limiter);
    const deadline = Date.now() + 5000;
    while (limiter.counts().active + limiter.counts().refused > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(limiter.counts(), { active: 0, waiting: 0, refused: 0 });
  } finally {
    await shutdown(server, 1000);
  }
});

test("TLS: the limiter admits raw sockets before the TLS listener does the handshake", { skip: !hasOpenssl() && "openssl not installed" }, async () => {
  // Proves the limiter sits below TLS: a refused TLS connection still gets its RESOURCE_EXHAUSTED.
  const dir = tempDir();
  dirs.push(dir);
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
  const { server, limiter } = limitedServer(1);
  const address = await listen(server, "https://127.0.0.1:0", { certFilename: cert, keyFilename: key, caFilename: "", clientCertAuth: false }, { listener: "api", limiter });
  try {
    await exercise(address, grpc.credentials.createSsl(readFileSync(cert)), limiter);
  } finally {
    await shutdown(server, 1000);
  }
});

test("a limit below 1 is a programming error", () => {
  assert.throws(() => new ConnectionLimiter({ maxConnections: 0 }), /invalid connection limit 0/);
});

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
