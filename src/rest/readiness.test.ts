import { test } from "node:test";
import assert from "node:assert/strict";
import type { GroupStatus } from "../engine/engine.js";
import { EngineClosedError, TableNotFoundError, TransientError } from "../engine/errors.js";
import { readinessProblems } from "./readiness.js";
import type { TableStatusSource } from "./table-metrics.js";

function status(leaderId: number, shardId = 1000): GroupStatus {
  return { shardId, replicaId: 1, term: 2, leaderId, commitIndex: 5, appliedIndex: 5 };
}

/**
 * A fake engine: `tables` maps a name to its leader id, null when it is unknown here, or "starting" when
 * it is registered but its replica has not started (the engine's TransientError).
 */
function source(metadataLeader: number, tables: Record<string, number | null | "starting">): TableStatusSource {
  const names = Object.keys(tables).sort();
  return {
    listTables: () => names.map((name, i) => ({ name, shardId: 10001 + i })),
    table: (name) => {
      const leader = tables[name];
      if (leader === "starting") throw new TransientError(`table "${name}" is not running on this node yet`);
      if (leader === null || leader === undefined) throw new TableNotFoundError(name);
      return { status: () => status(leader), dataSizeBytes: () => 0 };
    },
    metadataStatus: () => status(metadataLeader),
  };
}

test("a node whose groups all know their leader and whose listeners serve is ready", () => {
  // Proves the ready case yields no reasons, with and without tables.
  assert.deepEqual(readinessProblems(source(1, {}), true), []);
  assert.deepEqual(readinessProblems(source(1, { a: 1, b: 2 }), true), []);
});

test("every reason for not being ready is reported, one per line", () => {
  // Proves each condition of spec §13.3 is checked on its own and named with the table and shard.
  assert.deepEqual(readinessProblems(source(0, { a: 0, b: null, c: 3, d: "starting" }), false), [
    "gRPC listeners are not serving",
    "metadata group has no leader",
    'table "a" (shard 10001) has no leader',
    'table "b" (shard 10002) is not running on this node',
    'table "d" (shard 10004) is not running on this node',
  ]);
});

test("an engine that cannot answer makes the node not ready instead of throwing", () => {
  // Proves the health timer and /readyz survive a closed engine (shutdown) without crashing the process.
  const closed: TableStatusSource = {
    listTables: () => { throw new EngineClosedError(); },
    table: () => { throw new EngineClosedError(); },
    metadataStatus: () => status(1),
  };
  const problems = readinessProblems(closed, true);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^engine status unavailable: /);
});
