/**
 * TLS listeners and the client-TLS builder against each other over real sockets, with certificates generated
 * for this run: mutual TLS accepts the CA's client and refuses every wrong one with a readable status while
 * serving on; CN and host-name restrictions; Unix sockets; certificate rotation without restart.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Registry } from "prom-client";
import { listen, shutdown, type TlsFiles } from "../server/listen.js";
import { createClientTls, dialWithClientTls, type ClientTlsSettings } from "./client-tls.js";
import { CERTIFICATE_EXPIRY_METRIC } from "./metrics.js";
import { generateCertificates, type CertificateDir } from "./testkit.js";
import type { SecurityLog } from "./tls-listener.js";

let certs: CertificateDir;

before(() => {
  certs = generateCertificates();
});

after(() => certs.remove());

/** A server with one method answering the CN of the client certificate it saw ("anonymous" for none). */
function whoServer(): grpc.Server {
  const server = new grpc.Server();
  server.register(
    "/armada.test.Peer/Who",
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const cn = call.getAuthContext().sslPeerCertificate?.subject.CN;
      callback(null, Buffer.from(typeof cn === "string" ? cn : "anonymous"));
    },
    (b: Buffer) => b,
    (b: Buffer) => b,
    "unary",
  );
  return server;
}

function clientSettings(overrides: Partial<ClientTlsSettings> = {}): ClientTlsSettings {
  return {
    certFilename: certs.file("client.crt"),
    keyFilename: certs.file("client.key"),
    caFilename: certs.file("ca.crt"),
    insecureSkipVerify: false,
    serverName: "",
    ...overrides,
  };
}

/** Calls Who over a fresh channel; resolves with the CN the server saw, or the error. */
async function who(address: string, settings: ClientTlsSettings): Promise<string | grpc.ServiceError> {
  const dial = dialWithClientTls(address, settings);
  const client = new grpc.Client(dial.target, dial.credentials, dial.options);
  try {
    return await callWho(client);
  } finally {
    client.close();
    dial.close();
  }
}

function callWho(client: grpc.Client): Promise<string | grpc.ServiceError> {
  return new Promise((resolve) => {
    client.makeUnaryRequest("/armada.test.Peer/Who", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0),
      { deadline: Date.now() + 5000 }, (error, response) => resolve(error ?? response!.toString()));
  });
}

function expectRefusal(result: string | grpc.ServiceError, code: grpc.status, pattern: RegExp): void {
  assert.notEqual(typeof result, "string", `expected a refusal, got CN ${String(result)}`);
  const error = result as grpc.ServiceError;
  assert.equal(error.code, code, `${grpc.status[error.code]}: ${error.details}`);
  assert.match(error.details, pattern);
}

function serverTls(overrides: Partial<TlsFiles> = {}): TlsFiles {
  return { certFilename: certs.file("server.crt"), keyFilename: certs.file("server.key"), caFilename: certs.file("ca.crt"), clientCertAuth: false, ...overrides };
}

function recordingLog(): SecurityLog & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: string, fields?: Record<string, unknown>) => { lines.push(`${message} ${JSON.stringify(fields ?? {})}`); };
  return { lines, info: record, warn: record, debug: () => undefined };
}

describe("mutual TLS with --allowed-cn", () => {
  const server = whoServer();
  const log = recordingLog();
  let address: string;

  before(async () => {
    address = await listen(server, "https://127.0.0.1:0", serverTls({ allowedCn: "armada-client" }), { listener: "api", log });
  });
  after(() => shutdown(server, 1000));

  test("a client certificate from the CA gets in, and the server sees its CN", async () => {
    assert.equal(await who(address, clientSettings()), "armada-client");
  });

  test("no certificate, another CA, an expired certificate and a wrong CN are each refused with the reason", async () => {
    expectRefusal(await who(address, clientSettings({ certFilename: "", keyFilename: "" })),
      grpc.status.UNAUTHENTICATED, /^client certificate required/);
    expectRefusal(await who(address, clientSettings({ certFilename: certs.file("test/other-ca-client.crt"), keyFilename: certs.file("test/other-ca-client.key") })),
      grpc.status.UNAUTHENTICATED, /^client certificate verification failed: the certificate is not signed by a CA this listener trusts/);
    expectRefusal(await who(address, clientSettings({ certFilename: certs.file("test/expired-client.crt"), keyFilename: certs.file("test/expired-client.key") })),
      grpc.status.UNAUTHENTICATED, /^client certificate verification failed: the certificate has expired \(CERT_HAS_EXPIRED\)/);
    expectRefusal(await who(address, clientSettings({ certFilename: certs.file("test/wrong-cn-client.crt"), keyFilename: certs.file("test/wrong-cn-client.key") })),
      grpc.status.PERMISSION_DENIED, /^client certificate CN verification failed: the certificate's CN is "intruder", this listener allows only "armada-client"/);
    // The listener keeps serving the right client after all of that, and logged each refusal.
    assert.equal(await who(address, clientSettings()), "armada-client");
    assert.equal(log.lines.filter((line) => line.startsWith("refused client")).length, 4);
  });

  test("a plaintext client cannot talk to the TLS listener", async () => {
    const client = new grpc.Client(address.replace("https://", ""), grpc.credentials.createInsecure());
    try {
      const result = await callWho(client);
      assert.equal((result as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe("mutual TLS with --allowed-hostname", () => {
  const server = whoServer();
  let address: string;

  before(async () => {
    address = await listen(server, "https://127.0.0.1:0", serverTls({ clientCertAuth: true, allowedHostname: "client.armada.local" }));
  });
  after(() => shutdown(server, 1000));

  test("only a certificate valid for the host name gets in", async () => {
    assert.equal(await who(address, clientSettings()), "armada-client");
    expectRefusal(await who(address, clientSettings({ certFilename: certs.file("test/wrong-cn-client.crt"), keyFilename: certs.file("test/wrong-cn-client.key") })),
      grpc.status.PERMISSION_DENIED, /^client certificate hostname verification failed: .*client\.armada\.local.*intruder\.armada\.local/);
  });
});

describe("Unix sockets", () => {
  test("unix:// and unixs:// (with mTLS) serve, and a stale socket file left by a crash is replaced", async () => {
    for (const scheme of ["unix", "unixs"] as const) {
      const path = join(certs.dir, `${scheme}.sock`);
      leaveStaleSocket(path);
      assert.ok(existsSync(path));
      const server = whoServer();
      const address = await listen(server, `${scheme}://${path}`, serverTls({ clientCertAuth: true }));
      try {
        assert.equal(await who(address, clientSettings({ serverName: "localhost" })), scheme === "unixs" ? "armada-client" : "anonymous");
      } finally {
        await shutdown(server, 1000);
      }
    }
  });

  test("a path that is not a socket, or a socket in use, is never taken over", async () => {
    const file = join(certs.dir, "data.txt");
    writeFileSync(file, "precious");
    await assert.rejects(listen(whoServer(), `unix://${file}`), /the path exists and is not a socket/);
    const path = join(certs.dir, "busy.sock");
    const busy = whoServer();
    await listen(busy, `unix://${path}`);
    try {
      await assert.rejects(listen(whoServer(), `unixs://${path}`, serverTls()), /another process is serving on it/);
    } finally {
      await shutdown(busy, 1000);
    }
  });
});

describe("certificate rotation", () => {
  test("replacing the certificate files makes new connections see the new certificate; open channels go on", async () => {
    const certFilename = join(certs.dir, "rotating.crt");
    const keyFilename = join(certs.dir, "rotating.key");
    copyFileSync(certs.file("server.crt"), certFilename);
    copyFileSync(certs.file("server.key"), keyFilename);
    const registry = new Registry();
    const log = recordingLog();
    const server = whoServer();
    const address = await listen(server, "https://127.0.0.1:0", serverTls({ certFilename, keyFilename, caFilename: "" }), { listener: "api", registry, log });
    const port = Number(address.split(":").pop());
    const open = createClientTls(clientSettings());
    const openClient = new grpc.Client(`127.0.0.1:${port}`, open.credentials);
    try {
      assert.equal(await servedCn(port), "localhost");
      assert.equal(await callWho(openClient), "anonymous");
      const before = (await registry.getSingleMetricAsString(CERTIFICATE_EXPIRY_METRIC));
      assert.match(before, /listener="api"/);
      copyFileSync(certs.file("test/server-rotated.key"), keyFilename);
      copyFileSync(certs.file("test/server-rotated.crt"), certFilename);
      await eventually(async () => (await servedCn(port)) === "localhost-rotated");
      assert.equal(await callWho(openClient), "anonymous");
      assert.ok(log.lines.some((line) => line.startsWith("TLS certificate reloaded")), log.lines.join("\n"));
      // A broken pair (key of another certificate) is refused and the rotated certificate stays in service.
      copyFileSync(certs.file("server.key"), keyFilename);
      await eventually(() => Promise.resolve(log.lines.some((line) => line.includes("could not be loaded"))));
      assert.equal(await servedCn(port), "localhost-rotated");
    } finally {
      openClient.close();
      open.close();
      await shutdown(server, 1000);
    }
  });
});

describe("configuration errors", () => {
  test("a TLS listener without usable files fails with `cannot build tls config`", async () => {
    await assert.rejects(listen(whoServer(), "https://127.0.0.1:0", serverTls({ certFilename: "" })), /cannot build tls config: KeyFile and CertFile must both be present/);
    await assert.rejects(listen(whoServer(), "https://127.0.0.1:0", serverTls({ keyFilename: certs.file("client.key") })),
      /cannot build tls config: key file .*client\.key does not belong to certificate/);
    await assert.rejects(listen(whoServer(), "https://127.0.0.1:0", serverTls({ caFilename: join(certs.dir, "missing.crt") })),
      /cannot build tls config: cannot read CA file/);
  });
});

describe("client TLS builder", () => {
  const server = whoServer();
  let address: string;

  before(async () => {
    // Server-side TLS only, so the client's own verification decides.
    address = await listen(server, "https://127.0.0.1:0", serverTls({ caFilename: "" }));
  });
  after(() => shutdown(server, 1000));

  test("without the CA the dev certificate is rejected (system roots); insecure-skip-verify accepts it", async () => {
    const untrusted = await who(address, clientSettings({ caFilename: "" }));
    assert.equal((untrusted as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    assert.equal(await who(address, clientSettings({ caFilename: "", insecureSkipVerify: true })), "anonymous");
  });

  test("server-name is the name verified, instead of the dialled host", async () => {
    assert.equal(await who(address, clientSettings({ serverName: "localhost" })), "anonymous");
    const wrongName = await who(address, clientSettings({ serverName: "leader.example.com" }));
    assert.equal((wrongName as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    assert.match((wrongName as grpc.ServiceError).details, /leader\.example\.com/);
    assert.deepEqual(createClientTls(clientSettings({ serverName: "leader.example.com" })).options, { "grpc.ssl_target_name_override": "leader.example.com" });
  });

  test("cert and key must come together, and bad files fail at build time", () => {
    assert.throws(() => createClientTls(clientSettings({ keyFilename: "" })), /cannot build tls config: the client certificate and key files must both be set or both be empty/);
    assert.throws(() => createClientTls(clientSettings({ caFilename: certs.file("client.key") })), /cannot build tls config: CA file .* holds no PEM certificate/);
  });

  test("a rotated client certificate is presented on the next connection", async () => {
    const mtls = whoServer();
    const mtlsAddress = await listen(mtls, "https://127.0.0.1:0", serverTls({ clientCertAuth: true }));
    const certFilename = join(certs.dir, "follower.crt");
    const keyFilename = join(certs.dir, "follower.key");
    copyFileSync(certs.file("client.crt"), certFilename);
    copyFileSync(certs.file("client.key"), keyFilename);
    const tls = createClientTls(clientSettings({ certFilename, keyFilename }));
    // A local subchannel pool per client, so the second client makes its own connection.
    const fresh = () => new grpc.Client(mtlsAddress.replace("https://", ""), tls.credentials, { "grpc.use_local_subchannel_pool": 1 });
    const first = fresh();
    try {
      assert.equal(await callWho(first), "armada-client");
      copyFileSync(certs.file("test/wrong-cn-client.key"), keyFilename);
      copyFileSync(certs.file("test/wrong-cn-client.crt"), certFilename);
      await eventually(() => Promise.resolve(tls.identity?.leaf.subject.includes("CN=intruder") === true));
      const second = fresh();
      try {
        assert.equal(await callWho(second), "intruder");
      } finally {
        second.close();
      }
    } finally {
      first.close();
      tls.close();
      await shutdown(mtls, 1000);
    }
  });

  test("plaintext addresses ignore the TLS settings", () => {
    const dial = dialWithClientTls("http://127.0.0.1:8444", clientSettings());
    assert.equal(dial.secure, false);
    assert.equal(dial.target, "127.0.0.1:8444");
  });
});

/** The subject CN of the certificate a fresh TLS connection to `port` is served. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve(String(cn));
    });
    socket.once("error", reject);
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Leaves a socket file nobody listens on, as a killed process does (a clean close would remove it). */
function leaveStaleSocket(path: string): void {
  spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`]);
}
