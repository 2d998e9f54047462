/**
 * Per-table gauges computed at scrape time from the engine (spec §13.4): nothing is recorded on the write
 * path, and a table's series disappear with its replica because every scrape starts from an empty gauge.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { GroupStatus, RaftStats, TableHandle } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";

/** The part of the engine the metrics and readiness read. */
export interface TableStatusSource {
  listTables(): { readonly name: string; readonly shardId: number }[];
  /** The running table; throws an EngineError when its replica does not run here (or the engine closed). */
  table(name: string): RunningTable;
  /** Raft status of the metadata group. */
  metadataStatus(): GroupStatus;
}

/** What the metrics read of a running table. */
export type RunningTable = Pick<TableHandle, "status" | "dataSizeBytes" | "raftStats">;

interface TableGaugeSpec {
  readonly name: string;
  readonly help: string;
  readonly value: (table: RunningTable, status: GroupStatus) => number;
}

interface TableCounterSpec {
  readonly name: string;
  readonly help: string;
  readonly value: (stats: RaftStats) => number;
}

const TABLE_GAUGES: readonly TableGaugeSpec[] = [
  { name: "armada_raft_has_leader", help: "1 when this node knows the leader of the table's Raft group, else 0.", value: (_, s) => (s.leaderId !== 0 ? 1 : 0) },
  { name: "armada_raft_term", help: "Current Raft term of the table's group on this node.", value: (_, s) => s.term },
  { name: "armada_raft_commit_index", help: "Commit index of the table's Raft group on this node.", value: (_, s) => s.commitIndex },
  { name: "armada_applied_index", help: "Applied Raft index of the table on this node.", value: (_, s) => s.appliedIndex },
  { name: "armada_table_storage_disk_usage_bytes", help: "Bytes the table's store takes on disk on this node.", value: (t) => t.dataSizeBytes() },
  { name: "armada_raft_log_entries", help: "Entries in the table's Raft log on this node (since its last compaction).", value: (t) => t.raftStats?.().logEntries ?? 0 },
];

/** Counters kept by the engine since the process started; a scrape copies them. */
const TABLE_COUNTERS: readonly TableCounterSpec[] = [
  { name: "armada_raft_proposals_total", help: "Proposals this node appended to the table's Raft log as its leader.", value: (s) => s.proposals },
  { name: "armada_raft_snapshots_total", help: "Snapshots of the table's Raft group recorded on this node.", value: (s) => s.snapshots },
];

/** Registers the per-table gauges on `registry`, reading `source` on every scrape. */
export function registerTableMetrics(registry: Registry, source: TableStatusSource): void {
  for (const spec of TABLE_GAUGES) {
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: ["table", "shard_id"],
      registers: [registry],
      collect() {
        this.reset();
        for (const info of registeredTables(source)) {
          const table = runningTable(source, info.name);
          if (table) this.set({ table: info.name, shard_id: String(info.shardId) }, spec.value(table, table.status()));
        }
      },
    });
  }
  for (const spec of TABLE_COUNTERS) {
    new Counter({
      name: spec.name,
      help: spec.help,
      labelNames: ["table", "shard_id"],
      registers: [registry],
      collect() {
        this.reset();
        for (const info of registeredTables(source)) {
          const stats = runningTable(source, info.name)?.raftStats?.();
          if (stats) this.inc({ table: info.name, shard_id: String(info.shardId) }, spec.value(stats));
        }
      },
    });
  }
}

/** The registered tables, or none once the engine has closed (a scrape during shutdown). */
function registeredTables(source: TableStatusSource): ReturnType<TableStatusSource["listTables"]> {
  try {
    return source.listTables();
  } catch (error) {
    if (error instanceof EngineError) return [];
    throw error;
  }
}

/**
 * The table's local replica, or undefined when it does not run here: not started yet, being deleted, or
 * the engine closed. These are expected states of a live node, never a reason to fail a scrape.
 */
export function runningTable(source: TableStatusSource, name: string): RunningTable | undefined {
  try {
    return source.table(name);
  } catch (error) {
    if (error instanceof EngineError) return undefined;
    throw error;
  }
}
