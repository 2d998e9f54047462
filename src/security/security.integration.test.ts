/**
 * Security settings on real `armada leader` processes, with certificates generated for this run (spec §12):
 * each listener over each scheme, mutual TLS with allowed-cn and allowed-hostname turning every wrong client
 * away with a readable status while the node serves on, tokens over TLS, backup/restore with --ca and
 * --token, certificate rotation on a running node, the expiry metric, and the startup warnings.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { copyFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { pb } from "../client/index.js";
import { freePort, LeaderProcess, removeDir, runArmada, tempDir } from "../test-support/process.js";
import { httpCall } from "../test-support/http.js";
import { dialWithClientTls, type ClientTlsSettings } from "./client-tls.js";
import { generateCertificates, type CertificateDir } from "./testkit.js";

let certs: CertificateDir;
const dirs: string[] = [];

before(() => {
  certs = generateCertificates();
});

after(() => {
  certs.remove();
  for (const dir of dirs) removeDir(dir);
});

function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** Client TLS with the CA's client certificate, or another pair from the generated set (`test/expired-client`). */
function asClient(pair = "client", overrides: Partial<ClientTlsSettings> = {}): ClientTlsSettings {
  return { certFilename: certs.file(`${pair}.crt`), keyFilename: certs.file(`${pair}.key`), caFilename: certs.file("ca.crt"), insecureSkipVerify: false, serverName: "", ...overrides };
}

const NO_CERT = { certFilename: "", keyFilename: "" };

/** One unary call with raw bytes; resolves with the error, or null on success. */
async function call(address: string, tls: ClientTlsSettings, method: string, request: Uint8Array, token?: string): Promise<grpc.ServiceError | null> {
  const dial = dialWithClientTls(address, tls);
  const client = new grpc.Client(dial.target, dial.credentials, dial.options);
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  try {
    return await new Promise((resolve) =>
      client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(request), metadata, { deadline: Date.now() + 10_000 },
        (error) => resolve(error)),
    );
  } finally {
    client.close();
    dial.close();
  }
}

const memberList = (address: string, tls: ClientTlsSettings) =>
  call(address, tls, "/regatta.v1.Cluster/MemberList", pb.MemberListRequest.encode({}).finish());
const listTables = (address: string, tls: ClientTlsSettings, token?: string) =>
  call(address, tls, "/regatta.v1.Tables/List", pb.ListTablesRequest.encode({}).finish(), token);
const reset = (address: string, tls: ClientTlsSettings, token?: string) =>
  call(address, tls, "/armada.v1.Maintenance/Reset", pb.ResetRequest.encode({}).finish(), token);

function refused(error: grpc.ServiceError | null, code: grpc.status, pattern: RegExp): void {
  assert.ok(error, "expected the call to be refused");
  assert.equal(error.code, code, `${grpc.status[error.code]}: ${error.details}`);
  assert.match(error.details, pattern);
}

/** The subject CN of the certificate a fresh TLS connection to 127.0.0.1:`port` is served. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
      const cn = String(socket.getPeerCertificate().subject.CN);
      socket.destroy();
      resolve(cn);
    });
    socket.once("error", reject);
  });
}

describe("leader A: API https + mTLS (allowed-cn), Maintenance unixs + mTLS (allowed-hostname), tokens", () => {
  let leader: LeaderProcess;
  let api: string;
  let apiPort: number;
  let maintenance: string;
  let dir: string;

  before(async () => {
    dir = dataDir();
    apiPort = await freePort();
    api = `https://127.0.0.1:${apiPort}`;
    maintenance = `unixs://${join(dir, "maintenance.sock")}`;
    // The API serves copies of the certificate files, so the test can rotate them.
    copyFileSync(certs.file("server.crt"), join(dir, "api.crt"));
    copyFileSync(certs.file("server.key"), join(dir, "api.key"));
    leader = await LeaderProcess.start(dir, [
      `--api.address=${api}`, `--api.cert-filename=${join(dir, "api.crt")}`, `--api.key-filename=${join(dir, "api.key")}`,
      `--api.ca-filename=${certs.file("ca.crt")}`, "--api.allowed-cn=armada-client", "--tables.token=tables-secret",
      `--maintenance.address=${maintenance}`, `--maintenance.cert-filename=${certs.file("server.crt")}`, `--maintenance.key-filename=${certs.file("server.key")}`,
      `--maintenance.ca-filename=${certs.file("ca.crt")}`, "--maintenance.allowed-hostname=client.armada.local", "--maintenance.token=maintenance-secret",
    ]);
  });
  after(() => leader?.stop("SIGKILL"));

  test("the CA's client gets in; no certificate, another CA, expired and wrong CN are refused with the reason; the node serves on", async () => {
    assert.equal(await memberList(api, asClient()), null);
    refused(await memberList(api, asClient("client", NO_CERT)), grpc.status.UNAUTHENTICATED, /^client certificate required/);
    refused(await memberList(api, asClient("test/other-ca-client")), grpc.status.UNAUTHENTICATED, /^client certificate verification failed: the certificate is not signed by a CA this listener trusts/);
    refused(await memberList(api, asClient("test/expired-client")), grpc.status.UNAUTHENTICATED, /^client certificate verification failed: the certificate has expired/);
    refused(await memberList(api, asClient("test/wrong-cn-client")), grpc.status.PERMISSION_DENIED, /^client certificate CN verification failed: .*"intruder".*"armada-client"/);
    assert.equal(await memberList(api, asClient()), null);
    assert.match(leader.logs, /refused client.*client certificate CN verification failed/);
  });

  test("IterateRange over mutual TLS streams a range of several messages whole (the HTTP/2 front's stream path)", async () => {
    assert.equal(await call(api, asClient(), "/regatta.v1.Tables/Create", pb.CreateTableRequest.encode({ name: "scan" }).finish(), "tables-secret"), null);
    const value = (i: number) => Buffer.alloc(1024 * 1024, 0x61 + i);
    for (let i = 0; i < 10; i++) {
      const put = pb.PutRequest.encode({ table: Buffer.from("scan"), key: Buffer.from(`k${i}`), value: value(i) }).finish();
      // The new table's Raft group takes a moment to elect its leader.
      let error: grpc.ServiceError | null = null;
      for (let attempt = 0; attempt < 50 && (attempt === 0 || error); attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        error = await call(api, asClient(), "/regatta.v1.KV/Put", put);
      }
      assert.equal(error, null);
    }
    const dial = dialWithClientTls(api, asClient());
    const client = new grpc.Client(dial.target, dial.credentials, dial.options);
    try {
      const request = pb.RangeRequest.encode({ table: Buffer.from("scan"), key: Buffer.from("k"), rangeEnd: Buffer.from("l") }).finish();
      const messages: ReturnType<typeof pb.RangeResponse.decode>[] = [];
      await new Promise<void>((resolve, reject) => {
        const stream = client.makeServerStreamRequest("/regatta.v1.KV/IterateRange", (b: Buffer) => b, (b: Buffer) => pb.RangeResponse.decode(b), Buffer.from(request));
        stream.on("data", (message: ReturnType<typeof pb.RangeResponse.decode>) => messages.push(message));
        stream.on("error", reject);
        stream.on("end", () => resolve());
      });
      assert.ok(messages.length >= 3, `10 MiB in ${messages.length} messages`);
      const kvs = messages.flatMap((message) => message.kvs);
      assert.deepEqual(kvs.map((kv) => Buffer.from(kv.key!).toString()), Array.from({ length: 10 }, (_, i) => `k${i}`));
      kvs.forEach((kv, i) => assert.ok(Buffer.from(kv.value!).equals(value(i)), `value of k${i}`));
      assert.deepEqual(messages.map((message) => message.more), [...Array(messages.length - 1).fill(true), false]);
    } finally {
      client.close();
      dial.close();
    }
  });

  test("tables token over TLS: right token in, missing and wrong out", async () => {
    assert.equal(await listTables(api, asClient(), "tables-secret"), null);
    refused(await listTables(api, asClient()), grpc.status.UNAUTHENTICATED, /^Request unauthenticated with bearer$/);
    refused(await listTables(api, asClient(), "wrong"), grpc.status.UNAUTHENTICATED, /^Invalid token$/);
  });

  test("maintenance over unixs: certificate for the allowed host name and the token needed", async () => {
    // Reset is not served by a leader, so UNIMPLEMENTED proves the call got past TLS and the token check.
    const client = asClient("client", { serverName: "localhost" });
    assert.equal((await reset(maintenance, client, "maintenance-secret"))?.code, grpc.status.UNIMPLEMENTED);
    refused(await reset(maintenance, client), grpc.status.UNAUTHENTICATED, /^Request unauthenticated with bearer$/);
    refused(await reset(maintenance, client, "wrong"), grpc.status.UNAUTHENTICATED, /^Invalid token$/);
    refused(await reset(maintenance, asClient("test/wrong-cn-client"), "maintenance-secret"), grpc.status.PERMISSION_DENIED,
      /^client certificate hostname verification failed: .*client\.armada\.local/);
  });

  test("replacing the certificate files (and SIGHUP) makes new connections see the new certificate; the expiry is exported", async () => {
    const metrics = (await httpCall(leader.restAddress, "/metrics")).body.toString();
    assert.match(metrics, /armada_tls_certificate_expiry_timestamp_seconds\{listener="api"\} \d{10}/);
    assert.match(metrics, /armada_tls_certificate_expiry_timestamp_seconds\{listener="maintenance"\} \d{10}/);
    assert.equal(await servedCn(apiPort), "localhost");
    copyFileSync(certs.file("test/server-rotated.key"), join(dir, "api.key"));
    copyFileSync(certs.file("test/server-rotated.crt"), join(dir, "api.crt"));
    process.kill(leader.pid, "SIGHUP");
    await leader.waitForLog(/TLS certificate reloaded/, 5000);
    assert.equal(await servedCn(apiPort), "localhost-rotated");
    assert.equal(await memberList(api, asClient()), null, "still serving after SIGHUP");
  });

  test("development certificates outside --dev-mode and a replication listener without mTLS are warned about", () => {
    assert.match(leader.logs, /INSECURE: --api\.cert-filename=.* is a development certificate/);
    assert.match(leader.logs, /INSECURE: --api\.ca-filename=/);
    assert.match(leader.logs, /replication listener runs without mutual TLS/);
    assert.doesNotMatch(leader.logs, /maintenance API has no token/);
  });
});

describe("leader B: API unixs + mTLS (allowed-hostname), Maintenance https with a token, --dev-mode", () => {
  let leader: LeaderProcess;
  let api: string;
  let maintenance: string;

  before(async () => {
    const dir = dataDir();
    api = `unixs://${join(dir, "api.sock")}`;
    maintenance = `https://127.0.0.1:${await freePort()}`;
    leader = await LeaderProcess.start(dir, [
      "--dev-mode",
      `--api.address=${api}`, `--api.cert-filename=${certs.file("server.crt")}`, `--api.key-filename=${certs.file("server.key")}`,
      "--api.client-cert-auth", `--api.ca-filename=${certs.file("ca.crt")}`, "--api.allowed-hostname=client.armada.local",
      `--maintenance.address=${maintenance}`, `--maintenance.cert-filename=${certs.file("server.crt")}`, `--maintenance.key-filename=${certs.file("server.key")}`,
      "--maintenance.token=maintenance-secret",
    ]);
  });
  after(() => leader?.stop("SIGKILL"));

  test("only a client certificate valid for the allowed host name gets in", async () => {
    assert.equal(await memberList(api, asClient()), null);
    refused(await memberList(api, asClient("test/wrong-cn-client")), grpc.status.PERMISSION_DENIED,
      /^client certificate hostname verification failed: .*client\.armada\.local.*intruder\.armada\.local/);
    refused(await memberList(api, asClient("client", NO_CERT)), grpc.status.UNAUTHENTICATED, /^client certificate required/);
    assert.equal(await memberList(api, asClient()), null);
  });

  test("armada backup and restore over https need --ca and the right --token", async () => {
    const create = await call(api, asClient(), "/regatta.v1.Tables/Create", pb.CreateTableRequest.encode({ name: "secure" }).finish());
    assert.equal(create, null);
    const backupDir = dataDir();
    const tool = (command: string, extra: string[]) => runArmada([command, `--address=${maintenance}`, `--dir=${backupDir}`, ...extra]);
    const ok = await tool("backup", [`--ca=${certs.file("ca.crt")}`, "--token=maintenance-secret"]);
    assert.equal(ok.code, 0, ok.stderr);
    const wrongToken = await tool("backup", [`--ca=${certs.file("ca.crt")}`, "--token=wrong"]);
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /Invalid token/);
    const noToken = await tool("backup", [`--ca=${certs.file("ca.crt")}`]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /Request unauthenticated with bearer/);
    const noCa = await tool("backup", ["--token=maintenance-secret"]);
    assert.equal(noCa.code, 1, "the development CA is not in the system roots");
    const restored = await tool("restore", [`--ca=${certs.file("ca.crt")}`, "--token=maintenance-secret"]);
    assert.equal(restored.code, 0, restored.stderr);
  });

  test("--dev-mode silences the development-certificate warning", () => {
    assert.doesNotMatch(leader.logs, /INSECURE/);
  });
});

describe("leader C: API and Maintenance on plain unix sockets", () => {
  let leader: LeaderProcess;
  let api: string;
  let maintenance: string;

  before(async () => {
    const dir = dataDir();
    const apiSocket = join(dir, "api.sock");
    api = `unix://${apiSocket}`;
    maintenance = `unix://${join(dir, "maintenance.sock")}`;
    // A socket file left by a killed process must not stop the node from starting.
    spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(apiSocket)}, () => process.kill(process.pid, "SIGKILL"))`]);
    writeFileSync(join(dir, "note.txt"), "not a socket");
    leader = await LeaderProcess.start(dir, [`--api.address=${api}`, `--maintenance.address=${maintenance}`]);
  });
  after(() => leader?.stop("SIGKILL"));

  test("both serve over their sockets, and the empty maintenance token is warned about", async () => {
    assert.equal(await memberList(api, asClient()), null);
    assert.equal((await reset(maintenance, asClient()))?.code, grpc.status.UNIMPLEMENTED);
    assert.match(leader.logs, /maintenance API has no token/);
  });

  test("a path that is not a socket is never deleted to make room for a listener", async () => {
    const dir = dataDir();
    const file = join(dir, "precious.txt");
    writeFileSync(file, "data");
    const failed = await runArmada(["leader", "--raft.address=127.0.0.1:1", `--raft.node-host-dir=${join(dir, "raft")}`,
      `--raft.state-machine-dir=${join(dir, "sm")}`, `--api.address=unix://${file}`, "--maintenance.enabled=false",
      `--rest.address=http://127.0.0.1:${await freePort()}`]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed to create API server: cannot listen on unix socket .*precious\.txt: the path exists and is not a socket/);
  });
});
