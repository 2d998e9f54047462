/**
 * The table registry of a single node: table name → shard id, and the shard-id sequence.
 *
 * Kept in a small LMDB environment with durable commits. Ids start after 10000 and are never reused
 * (spec §6.2), so the sequence is stored separately from the entries and only ever grows.
 */
import { open, type RootDatabase } from "lmdb";
import { mkdirSync } from "node:fs";
import type { TableInfo } from "./engine.js";

/** Shard ids of tables are allocated after this value; lower ids belong to system groups. */
export const TABLE_SHARD_ID_BASE = 10000;

const SEQUENCE_KEY = "sys/idseq";
const TABLE_PREFIX = "tables/";

/** A durable name → shard id map with a monotonic id sequence. */
export class TableRegistry {
  private readonly tables = new Map<string, TableInfo>();

  private constructor(private readonly db: RootDatabase<string, string>) {
    for (const { key, value } of db.getRange({ start: TABLE_PREFIX, end: TABLE_PREFIX + "\uffff" })) {
      const entry = JSON.parse(value) as { name: string; shard_id: number };
      this.tables.set(entry.name, { name: entry.name, shardId: entry.shard_id });
      void key;
    }
  }

  /** Opens (or creates) the registry under `dir`. */
  static open(dir: string): TableRegistry {
    mkdirSync(dir, { recursive: true });
    const db = open<string, string>({
      path: dir,
      encoding: "string",
      keyEncoding: "ordered-binary",
      compression: false,
      // A resolved write must already be on disk: the registry is the source of truth for table ids.
      overlappingSync: false,
    });
    return new TableRegistry(db);
  }

  get(name: string): TableInfo | undefined {
    return this.tables.get(name);
  }

  /** Every registered table, sorted by name (byte order of the UTF-8 names). */
  list(): TableInfo[] {
    return [...this.tables.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  /** Allocates the next shard id and registers `name` atomically; returns undefined if the name exists. */
  async create(name: string): Promise<TableInfo | undefined> {
    if (this.tables.has(name)) return undefined;
    const shardId = this.lastShardId() + 1;
    const info: TableInfo = { name, shardId };
    // Reserve the name before awaiting so that a concurrent create of the same name loses.
    this.tables.set(name, info);
    try {
      await this.db.transaction(() => {
        this.db.put(SEQUENCE_KEY, String(shardId));
        this.db.put(TABLE_PREFIX + name, JSON.stringify({ name, shard_id: shardId }));
      });
    } catch (error) {
      this.tables.delete(name);
      throw error;
    }
    return info;
  }

  /** Removes `name`; returns the removed entry or undefined if it was not registered. */
  async remove(name: string): Promise<TableInfo | undefined> {
    const info = this.tables.get(name);
    if (!info) return undefined;
    this.tables.delete(name);
    await this.db.remove(TABLE_PREFIX + name);
    return info;
  }

  private lastShardId(): number {
    const stored = this.db.get(SEQUENCE_KEY);
    const fromEntries = Math.max(TABLE_SHARD_ID_BASE, ...[...this.tables.values()].map((t) => t.shardId));
    return Math.max(stored ? Number(stored) : TABLE_SHARD_ID_BASE, fromEntries);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
