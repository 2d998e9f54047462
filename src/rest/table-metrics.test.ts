import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { EngineClosedError, TransientError } from "../engine/errors.js";
import { registerTableMetrics, type TableStatusSource } from "./table-metrics.js";

function engine(state: { closed: boolean }): TableStatusSource {
  const status = { shardId: 10001, replicaId: 1, term: 3, leaderId: 2, commitIndex: 9, appliedIndex: 8 };
  return {
    listTables: () => {
      if (state.closed) throw new EngineClosedError();
      return [{ name: "live", shardId: 10001 }, { name: "starting", shardId: 10002 }];
    },
    table: (name) => {
      if (name === "starting") throw new TransientError(`table "${name}" is not running on this node yet`);
      return { status: () => status, dataSizeBytes: () => 4096, raftStats: () => ({ proposals: 12, snapshots: 2, logEntries: 30 }) };
    },
    metadataStatus: () => ({ ...status, shardId: 1000 }),
  };
}

test("table gauges are read from the engine at scrape time, for running replicas only", async () => {
  // Proves the values, the labels, that a replica not yet started is skipped, and that a closed engine
  // yields no table series instead of a failed scrape.
  const registry = new Registry();
  const state = { closed: false };
  registerTableMetrics(registry, engine(state));
  const text = await registry.metrics();
  const labels = '{table="live",shard_id="10001"}';
  for (const line of [`armada_raft_has_leader${labels} 1`, `armada_raft_term${labels} 3`, `armada_raft_commit_index${labels} 9`,
    `armada_applied_index${labels} 8`, `armada_table_storage_disk_usage_bytes${labels} 4096`, `armada_raft_log_entries${labels} 30`,
    `armada_raft_proposals_total${labels} 12`, `armada_raft_snapshots_total${labels} 2`]) {
    assert.ok(text.split("\n").includes(line), line);
  }
  assert.doesNotMatch(text, /table="starting"/);
  assert.match(text, /^# TYPE armada_raft_proposals_total counter$/m);
  state.closed = true;
  assert.doesNotMatch(await registry.metrics(), /table="live"/);
});
