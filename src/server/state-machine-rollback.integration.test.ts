/**
 * A table's LMDB commit syncs its data but not its meta page (TableStore.open), so an operating-system
 * crash may undo the last commit. What the Raft log still holds must then be applied again at restart.
 * The test stands in for such a crash with something stronger: the table's LMDB file is put back to a copy
 * taken several acknowledged writes earlier, after the process was killed with SIGKILL.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

const dataDir = tempDir();
let leader: LeaderProcess | null = null;

after(async () => {
  await leader?.stop("SIGKILL");
  removeDir(dataDir);
});

/** The LMDB data file of the only table replica under the node's state machine directory. */
function tableDataFile(): string {
  const root = join(dataDir, "state-machine");
  const tables = readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, "data.mdb")));
  assert.equal(tables.length, 1, `expected one table directory in ${root}, found ${tables.join(", ")}`);
  return join(root, tables[0]!, "data.mdb");
}

test("writes undone in a table's LMDB file by a crash come back from the Raft log at restart", async () => {
  leader = await LeaderProcess.start(dataDir);
  const apiPort = Number(new URL(leader.apiAddress).port);
  let client = new ArmadaClient(leader.apiAddress);
  await client.createTable("rollback");
  for (let i = 0; i < 20; i++) await client.put("rollback", `before-${i}`, `v${i}`);

  // The process is stopped between commits: every acknowledged commit is complete in the file.
  process.kill(leader.pid, "SIGSTOP");
  const file = tableDataFile();
  const copy = join(dataDir, "table-at-20.mdb");
  copyFileSync(file, copy);
  process.kill(leader.pid, "SIGCONT");

  // Written one at a time, so each is its own commit, all of which the copy lacks.
  for (let i = 0; i < 30; i++) await client.put("rollback", `after-${i}`, `v${i}`);
  client.close();
  assert.equal(await leader.stop("SIGKILL"), null);
  copyFileSync(copy, file);

  leader = await LeaderProcess.start(dataDir, [], { apiPort });
  client = new ArmadaClient(leader.apiAddress);
  try {
    const keys = (await client.range("rollback", "\0", { rangeEnd: "\0", keysOnly: true })).kvs.map((kv) => kv.key.toString());
    const expected = [...Array.from({ length: 30 }, (_, i) => `after-${i}`), ...Array.from({ length: 20 }, (_, i) => `before-${i}`)];
    assert.deepEqual(keys.sort(), expected.sort());
    assert.equal((await client.range("rollback", "after-29")).kvs[0]?.value.toString(), "v29");
  } finally {
    client.close();
  }
});
