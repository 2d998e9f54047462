import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { pb } from "../proto/index.js";
import { listen, shutdown } from "../server/listen.js";
import { MaintenanceClient } from "./tool-client.js";

const servers: grpc.Server[] = [];
after(() => Promise.all(servers.map((server) => shutdown(server, 100))));

/** A server that knows only the reference names, like a Regatta node. */
async function referenceOnlyServer(calls: string[]): Promise<string> {
  const server = new grpc.Server();
  servers.push(server);
  const method = (path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
    path, requestStream: false, responseStream,
    requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
  });
  server.addService({ Status: method("/regatta.v1.Cluster/Status", false) } as grpc.ServiceDefinition, {
    Status: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      calls.push("Status");
      callback(null, Buffer.from(pb.StatusResponse.encode({ tables: { t: {} } }).finish()));
    },
  });
  server.addService({ Backup: method("/maintenance.v1.Maintenance/Backup", true) } as grpc.ServiceDefinition, {
    Backup: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      calls.push("Backup");
      call.write(Buffer.from(pb.SnapshotChunk.encode({ data: Buffer.from("abc"), len: 3 }).finish()));
      call.end();
    },
  });
  return listen(server, "http://127.0.0.1:0");
}

test("the tool falls back to the reference service names when the armada.v1 names are UNIMPLEMENTED", async () => {
  // Proves §2.2: armada.v1 first, then regatta.v1 / maintenance.v1, so the tools work against Regatta too.
  const calls: string[] = [];
  const address = await referenceOnlyServer(calls);
  const client = new MaintenanceClient({ address, ca: "", token: "", deadline: new Date(Date.now() + 10_000) });
  try {
    assert.deepEqual(Object.keys((await client.status()).tables), ["t"]);
    const data: Uint8Array[] = [];
    for await (const piece of client.backup("t")) data.push(piece);
    assert.equal(Buffer.concat(data).toString(), "abc");
    assert.deepEqual(calls, ["Status", "Backup"]);
  } finally {
    client.close();
  }
});

test("a token is refused over plaintext and a bare host:port means TLS", () => {
  // Proves §6.1's client rule and §11.6's address rule.
  const deadline = new Date();
  assert.throws(() => new MaintenanceClient({ address: "http://127.0.0.1:1", ca: "", token: "x", deadline }), /token requires a TLS connection/);
  assert.throws(() => new MaintenanceClient({ address: "unix:///tmp/x.sock", ca: "", token: "x", deadline }), /token requires a TLS connection/);
  new MaintenanceClient({ address: "127.0.0.1:1", ca: "", token: "x", deadline }).close();
});
