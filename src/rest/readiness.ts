/**
 * Readiness (spec §13.3): the node is ready when the metadata group has a leader, every registered table
 * runs locally and knows its Raft leader, and the gRPC listeners serve. `/readyz` and the gRPC health
 * service share this one definition.
 */
import { runningTable, type TableStatusSource } from "./table-metrics.js";

/**
 * Why the node is not ready, one short reason per entry; empty when it is ready. Never throws: a failure
 * to read the engine is itself a reason (probes and the health timer must not take the process down).
 */
export function readinessProblems(source: TableStatusSource, listenersServing: boolean): string[] {
  try {
    return problemsOf(source, listenersServing);
  } catch (error) {
    return [`engine status unavailable: ${error instanceof Error ? error.message : String(error)}`];
  }
}

function problemsOf(source: TableStatusSource, listenersServing: boolean): string[] {
  const problems: string[] = [];
  if (!listenersServing) problems.push("gRPC listeners are not serving");
  if (source.metadataStatus().leaderId === 0) problems.push("metadata group has no leader");
  for (const info of source.listTables()) {
    const table = runningTable(source, info.name);
    if (!table) problems.push(`table "${info.name}" (shard ${info.shardId}) is not running on this node`);
    else if (table.status().leaderId === 0) problems.push(`table "${info.name}" (shard ${info.shardId}) has no leader`);
  }
  return problems;
}
