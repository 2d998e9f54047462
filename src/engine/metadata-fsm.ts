/**
 * The state machine of the metadata group (shard 1000): the cluster's table catalogue.
 *
 * Commands are applied deterministically on every replica, so the id allocation happens at apply time:
 * "create t" takes the next id of the sequence if t is absent, and fails on every replica alike if t
 * exists. The catalogue, the sequence and the applied index are written in one durable LMDB transaction.
 */
import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import type { TableInfo } from "./engine.js";

/** Shard ids of tables are allocated after this value; lower ids belong to system groups (spec §8.1). */
export const TABLE_SHARD_ID_BASE = 10000;

/** A catalogue command, carried as JSON in a metadata-group log entry. */
export type MetadataCommand = { readonly op: "create"; readonly name: string } | { readonly op: "delete"; readonly name: string };

/** The outcome of one command, identical on every replica. */
export type MetadataResult =
  | { readonly ok: true; readonly table: TableInfo }
  | { readonly ok: false; readonly error: "exists" | "not found" };

/** The whole catalogue, as carried by a metadata snapshot. */
export interface MetadataState {
  readonly index: number;
  readonly sequence: number;
  readonly tables: readonly TableInfo[];
}

const INDEX_KEY = "sys/index";
const SEQUENCE_KEY = "sys/idseq";
const TABLE_PREFIX = "tables/";

export function encodeMetadataCommand(command: MetadataCommand): Uint8Array {
  return Buffer.from(JSON.stringify(command), "utf8");
}

export function decodeMetadataCommand(data: Uint8Array): MetadataCommand {
  const parsed = JSON.parse(Buffer.from(data).toString("utf8")) as MetadataCommand;
  if ((parsed.op !== "create" && parsed.op !== "delete") || typeof parsed.name !== "string") {
    throw new Error(`invalid metadata command: ${Buffer.from(data).toString("utf8").slice(0, 200)}`);
  }
  return parsed;
}

/** The catalogue replica of one node. */
export class MetadataStateMachine {
  private readonly tables = new Map<string, TableInfo>();
  private sequence = TABLE_SHARD_ID_BASE;
  private index = 0;

  private constructor(private readonly db: RootDatabase<string, string>) {
    this.index = Number(db.get(INDEX_KEY) ?? 0);
    this.sequence = Number(db.get(SEQUENCE_KEY) ?? TABLE_SHARD_ID_BASE);
    for (const { value } of db.getRange({ start: TABLE_PREFIX, end: TABLE_PREFIX + "\uffff" })) {
      const table = JSON.parse(value) as TableInfo;
      this.tables.set(table.name, table);
    }
  }

  static open(dir: string): MetadataStateMachine {
    mkdirSync(dir, { recursive: true });
    // overlappingSync off: a resolved commit is on disk (the catalogue decides which tables exist).
    const db = open<string, string>({ path: dir, encoding: "string", compression: false, overlappingSync: false });
    return new MetadataStateMachine(db);
  }

  get appliedIndex(): number {
    return this.index;
  }

  get(name: string): TableInfo | undefined {
    return this.tables.get(name);
  }

  /** Registered tables sorted by name (UTF-8 byte order). */
  list(): TableInfo[] {
    return [...this.tables.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  /** Applies entries (index order) in one durable transaction; `null` data advances the index only. */
  async apply(entries: readonly { index: number; data: Uint8Array | null }[]): Promise<Map<number, MetadataResult>> {
    const results = new Map<number, MetadataResult>();
    const fresh = entries.filter((entry) => entry.index > this.index);
    if (fresh.length === 0) return results;
    const writes: [string, string | null][] = [];
    for (const entry of fresh) {
      if (!entry.data || entry.data.length === 0) continue;
      results.set(entry.index, this.applyCommand(decodeMetadataCommand(entry.data), writes));
    }
    this.index = fresh[fresh.length - 1]!.index;
    writes.push([INDEX_KEY, String(this.index)], [SEQUENCE_KEY, String(this.sequence)]);
    await this.db.transaction(() => {
      for (const [key, value] of writes) {
        if (value === null) this.db.removeSync(key);
        else this.db.putSync(key, value);
      }
    });
    return results;
  }

  private applyCommand(command: MetadataCommand, writes: [string, string | null][]): MetadataResult {
    const existing = this.tables.get(command.name);
    if (command.op === "create") {
      if (existing) return { ok: false, error: "exists" };
      this.sequence += 1;
      const table: TableInfo = { name: command.name, shardId: this.sequence };
      this.tables.set(table.name, table);
      writes.push([TABLE_PREFIX + table.name, JSON.stringify(table)]);
      return { ok: true, table };
    }
    if (!existing) return { ok: false, error: "not found" };
    this.tables.delete(command.name);
    writes.push([TABLE_PREFIX + command.name, null]);
    return { ok: true, table: existing };
  }

  /** The whole catalogue (small: names and ids), for a metadata-group snapshot. */
  state(): MetadataState {
    return { index: this.index, sequence: this.sequence, tables: this.list() };
  }

  /** Replaces the catalogue with a snapshot's, atomically and durably. */
  async install(state: MetadataState): Promise<void> {
    await this.db.transaction(() => {
      for (const name of this.tables.keys()) this.db.removeSync(TABLE_PREFIX + name);
      for (const table of state.tables) this.db.putSync(TABLE_PREFIX + table.name, JSON.stringify(table));
      this.db.putSync(INDEX_KEY, String(state.index));
      this.db.putSync(SEQUENCE_KEY, String(state.sequence));
    });
    this.tables.clear();
    for (const table of state.tables) this.tables.set(table.name, table);
    this.index = state.index;
    this.sequence = state.sequence;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
