/**
 * `--replication.log-cache-size` (spec §9.3): the most recent replicated commands of each table, decoded,
 * so that followers tailing the log do not make the leader decode the same entries once per follower.
 * A committed entry never changes within a shard, so entries are keyed by shard id and index; a shard
 * that is deleted or replaced simply stops being asked for and ages out.
 */
import type { armada } from "../../proto/index.js";
import type { TableLogEntry } from "../../engine/engine.js";

/** Shards whose entries are kept at once; the least recently used shard is dropped beyond it. */
const SHARDS_MAX = 1024;

export class LogCache {
  private readonly shards = new Map<number, Map<number, armada.v1.ICommand>>();

  constructor(private readonly entriesPerShard: number) {}

  /** The command of `entry`, from the cache or made by `make` (and cached). */
  command(shardId: number, entry: TableLogEntry, make: (entry: TableLogEntry) => armada.v1.ICommand): armada.v1.ICommand {
    if (this.entriesPerShard <= 0) return make(entry);
    let entries = this.shards.get(shardId);
    if (entries) {
      // Refresh the shard's recency.
      this.shards.delete(shardId);
      this.shards.set(shardId, entries);
    } else {
      entries = new Map();
      this.shards.set(shardId, entries);
      if (this.shards.size > SHARDS_MAX) this.shards.delete(this.shards.keys().next().value!);
    }
    const cached = entries.get(entry.index);
    if (cached) return cached;
    const command = make(entry);
    entries.set(entry.index, command);
    // Maps iterate in insertion order: the oldest inserted index goes first.
    while (entries.size > this.entriesPerShard) entries.delete(entries.keys().next().value!);
    return command;
  }

  /** Entries cached for `shardId` (for tests and metrics). */
  size(shardId: number): number {
    return this.shards.get(shardId)?.size ?? 0;
  }
}
