/**
 * `--tables.token` on a real leader: every Tables method needs `authorization: Bearer <token>`, checked
 * before the handler; KV and Cluster stay open; the typed client refuses to send a token in plaintext.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ArmadaClient, pb } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

let dataDir: string;
let leader: LeaderProcess;

before(async () => {
  dataDir = tempDir();
  leader = await LeaderProcess.start(dataDir, ["--tables.token=s3cret token"]);
});

after(async () => {
  await leader?.stop("SIGKILL");
  removeDir(dataDir);
});

function listTables(authorization?: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(leader.apiAddress.replace("http://", ""), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  const request = Buffer.from(pb.ListTablesRequest.encode({}).finish());
  return new Promise((resolve) =>
    client.makeUnaryRequest("/regatta.v1.Tables/List", (b: Buffer) => b, (b: Buffer) => b, request, metadata, (error) => {
      client.close();
      resolve(error);
    }),
  );
}

test("Tables calls without the right bearer token are refused with the spec's texts", async () => {
  // Proves the four refusal cases of spec §6.1 and acceptance with any scheme case.
  const details = async (authorization?: string) => {
    const error = await listTables(authorization);
    if (error) assert.equal(error.code, grpc.status.UNAUTHENTICATED);
    return error?.details ?? "OK";
  };
  assert.equal(await details(undefined), "Request unauthenticated with bearer");
  assert.equal(await details("Bearer"), "Bad authorization string");
  assert.equal(await details("Basic s3cret token"), "Request unauthenticated with bearer");
  assert.equal(await details("Bearer wrong"), "Invalid token");
  assert.equal(await details("bearer s3cret token"), "OK");
});

test("KV and Cluster are not token-protected, and the client keeps tokens off plaintext", async () => {
  // Proves the token guards Tables only, and that ArmadaClient refuses to leak a token without TLS.
  const client = new ArmadaClient(leader.apiAddress);
  try {
    await assert.rejects(client.range("t", "k"), /table not found/);
    assert.equal((await client.memberList()).members.length, 1);
  } finally {
    client.close();
  }
  const withToken = new ArmadaClient(leader.apiAddress, { token: "s3cret token" });
  try {
    await assert.rejects(withToken.listTables(), /token requires a TLS connection/);
  } finally {
    withToken.close();
  }
});
