/**
 * Replication over mutual TLS (spec §12.1–12.2): a follower with a client certificate from the replication
 * CA (and the allowed CN) replicates from a leader whose replication listener requires one; a follower without
 * a client certificate, and one whose certificate comes from another CA, cannot replicate, and the leader
 * keeps serving the good follower.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArmadaClient } from "../../client/index.js";
import { freePort, LeaderProcess, removeDir, tempDir } from "../../test-support/process.js";
import { generateCertificates, type CertificateDir } from "../../security/testkit.js";
import { dump, eventually, FAST_FOLLOWER_FLAGS, retry } from "./support.js";

describe("replication over mutual TLS", () => {
  let certs: CertificateDir;
  const dirs: string[] = [];
  const nodes: LeaderProcess[] = [];
  const clients: ArmadaClient[] = [];
  let leader: LeaderProcess;
  let leaderAddress: string;

  const startFollower = async (tlsArgs: string[]) => {
    const dir = tempDir();
    dirs.push(dir);
    const node = await LeaderProcess.start(dir, [`--replication.leader-address=${leaderAddress}`, ...FAST_FOLLOWER_FLAGS, ...tlsArgs], { command: "follower" });
    nodes.push(node);
    return node;
  };

  before(async () => {
    certs = generateCertificates();
    const dir = tempDir();
    dirs.push(dir);
    leaderAddress = `https://127.0.0.1:${await freePort()}`;
    leader = await LeaderProcess.start(dir, [
      `--replication.address=${leaderAddress}`,
      `--replication.cert-filename=${certs.file("replication/server.crt")}`,
      `--replication.key-filename=${certs.file("replication/server.key")}`,
      `--replication.ca-filename=${certs.file("replication/ca.crt")}`,
      "--replication.client-cert-auth",
      "--replication.allowed-cn=armada-follower",
      "--dev-mode",
    ]);
    nodes.push(leader);
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    for (const dir of dirs) removeDir(dir);
    certs?.remove();
  });

  test("a follower with the replication client certificate replicates; one without, or from another CA, cannot", async () => {
    const writer = new ArmadaClient(leader.apiAddress, { timeoutMs: 10_000 });
    clients.push(writer);
    await retry(() => writer.createTable("secure"));
    await writer.put("secure", "k", "v");
    const good = await startFollower([
      `--replication.ca-filename=${certs.file("replication/ca.crt")}`,
      `--replication.cert-filename=${certs.file("replication/client.crt")}`,
      `--replication.key-filename=${certs.file("replication/client.key")}`,
    ]);
    const anonymous = await startFollower([`--replication.ca-filename=${certs.file("replication/ca.crt")}`]);
    const stranger = await startFollower([
      `--replication.ca-filename=${certs.file("replication/ca.crt")}`,
      `--replication.cert-filename=${certs.file("test/other-ca-client.crt")}`,
      `--replication.key-filename=${certs.file("test/other-ca-client.key")}`,
    ]);
    const onGood = new ArmadaClient(good.apiAddress, { timeoutMs: 10_000 });
    clients.push(onGood);
    await eventually("data on the follower with a client certificate", async () => (await dump(onGood, "secure")).includes("k=v"), 30_000);
    // Writes forwarded over the same mTLS connection work too.
    await onGood.put("secure", "from-follower", "ok");
    assert.equal((await writer.range("secure", "from-follower", { linearizable: true })).kvs.length, 1);
    for (const refused of [anonymous, stranger]) {
      await refused.waitForLog(/table reconciliation with the leader cluster failed/, 20_000);
      const client = new ArmadaClient(refused.apiAddress, { timeoutMs: 5000 });
      clients.push(client);
      assert.deepEqual(await client.listTables(), [], "a refused follower holds no table");
    }
    assert.match(anonymous.logs, /client certificate required/);
    assert.match(stranger.logs, /client certificate verification failed/);
    // The leader kept serving its good follower throughout.
    await writer.put("secure", "later", "1");
    await eventually("later write on the good follower", async () => (await dump(onGood, "secure")).includes("later=1"));
  });
});
