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

/**
 * A catalogue command, carried as JSON in a metadata-group log entry. A restore (spec §11.3) allocates a
 * fresh shard with `restore-begin` (recorded as the table's pending replacement, so every node starts it),
 * then `restore-finish` switches the table to it, or `restore-abort` drops it; all decided at apply time.
 */
export type MetadataCommand =
  | { readonly op: "create"; readonly name: string }
  | { readonly op: "delete"; readonly name: string }
  | { readonly op: "restore-begin"; readonly name: string }
  | { readonly op: "restore-finish"; readonly name: string; readonly shardId: number; readonly fence?: LeaseFence }
  | { readonly op: "restore-abort"; readonly name: string; readonly shardId: number }
  | LeaseCommand;

/**
 * Replication leases of a follower cluster (spec §9.7.1): which node pulls a table from the leader cluster.
 * The proposer's wall clock travels in the command (`nowMs`), so every replica decides alike whether the
 * current lease has expired.
 */
export type LeaseCommand =
  | { readonly op: "lease-acquire"; readonly name: string; readonly nodeId: number; readonly nowMs: number; readonly durationMs: number }
  | { readonly op: "lease-release"; readonly name: string; readonly nodeId: number };

/** The holder of a table's replication lease, until `expiresAtMs` (wall clock). */
export interface TableLease {
  readonly name: string;
  readonly nodeId: number;
  readonly expiresAtMs: number;
  /**
   * When the holder's current tenure began: the `nowMs` of the acquire that took the lease from nobody or
   * from another node; renewals keep it (absent in leases written by older versions until renewed).
   */
  readonly acquiredAtMs?: number;
}

/**
 * One tenure of a lease: a restore fenced by it (a follower's snapshot recovery) switches the table only if
 * that tenure is still the current one. Otherwise another node may have pulled newer data into the table
 * meanwhile, and switching to the older snapshot would take the table back in time.
 */
export interface LeaseFence {
  readonly nodeId: number;
  readonly acquiredAtMs: number;
}

const OPS: ReadonlySet<string> = new Set(["create", "delete", "restore-begin", "restore-finish", "restore-abort", "lease-acquire", "lease-release"]);

/** The outcome of one command, identical on every replica. */
export type MetadataResult =
  | { readonly ok: true; readonly table: TableInfo }
  | { readonly ok: true; readonly lease: TableLease | null }
  | { readonly ok: false; readonly error: "exists" | "not found" | "leased" };

/** The table a successful catalogue command returned (create, delete, restore-*). */
export function resultTable(result: MetadataResult): TableInfo {
  if (!result.ok || !("table" in result)) throw new Error("metadata command returned no table");
  return result.table;
}

/** The whole catalogue, as carried by a metadata snapshot. */
export interface MetadataState {
  readonly index: number;
  readonly sequence: number;
  readonly tables: readonly TableInfo[];
  /** Shards being loaded by restores, by table name (absent in snapshots of older versions). */
  readonly restores?: readonly TableInfo[];
  /** Replication leases of a follower cluster (absent in snapshots of older versions). */
  readonly leases?: readonly TableLease[];
}

const INDEX_KEY = "sys/index";
const SEQUENCE_KEY = "sys/idseq";
const TABLE_PREFIX = "tables/";
const RESTORE_PREFIX = "restores/";
const LEASE_PREFIX = "leases/";

export function encodeMetadataCommand(command: MetadataCommand): Uint8Array {
  return Buffer.from(JSON.stringify(command), "utf8");
}

export function decodeMetadataCommand(data: Uint8Array): MetadataCommand {
  const parsed = JSON.parse(Buffer.from(data).toString("utf8")) as MetadataCommand;
  const shardOk = !("shardId" in parsed) || Number.isSafeInteger(parsed.shardId);
  const numbersOk = ["nodeId", "nowMs", "durationMs"].every((field) => !(field in parsed) || Number.isSafeInteger((parsed as unknown as Record<string, unknown>)[field]));
  const fence = (parsed as { fence?: Partial<LeaseFence> }).fence;
  const fenceOk = fence === undefined || (Number.isSafeInteger(fence.nodeId) && Number.isSafeInteger(fence.acquiredAtMs));
  if (!OPS.has(parsed.op) || typeof parsed.name !== "string" || !shardOk || !numbersOk || !fenceOk) {
    throw new Error(`invalid metadata command: ${Buffer.from(data).toString("utf8").slice(0, 200)}`);
  }
  return parsed;
}

/** The catalogue replica of one node. */
export class MetadataStateMachine {
  private readonly tables = new Map<string, TableInfo>();
  private readonly restores = new Map<string, TableInfo>();
  private readonly leases = new Map<string, TableLease>();
  private sequence = TABLE_SHARD_ID_BASE;
  private index = 0;

  private constructor(private readonly db: RootDatabase<string, string>) {
    this.index = Number(db.get(INDEX_KEY) ?? 0);
    this.sequence = Number(db.get(SEQUENCE_KEY) ?? TABLE_SHARD_ID_BASE);
    for (const { value } of db.getRange({ start: TABLE_PREFIX, end: TABLE_PREFIX + "\uffff" })) {
      const table = JSON.parse(value) as TableInfo;
      this.tables.set(table.name, table);
    }
    for (const { value } of db.getRange({ start: RESTORE_PREFIX, end: RESTORE_PREFIX + "\uffff" })) {
      const pending = JSON.parse(value) as TableInfo;
      this.restores.set(pending.name, pending);
    }
    for (const { value } of db.getRange({ start: LEASE_PREFIX, end: LEASE_PREFIX + "\uffff" })) {
      const lease = JSON.parse(value) as TableLease;
      this.leases.set(lease.name, lease);
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

  /** The replication lease of table `name`, if any (it may have expired). */
  lease(name: string): TableLease | undefined {
    return this.leases.get(name);
  }

  /** Shards allocated by restores in progress (one per table at most), sorted by shard id. */
  pendingRestores(): TableInfo[] {
    return [...this.restores.values()].sort((a, b) => a.shardId - b.shardId);
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
    if (command.op === "lease-acquire" || command.op === "lease-release") return this.applyLeaseCommand(command, writes);
    if (command.op === "restore-begin" || command.op === "restore-finish" || command.op === "restore-abort") {
      return this.applyRestoreCommand(command, writes);
    }
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
    if (this.leases.delete(command.name)) writes.push([LEASE_PREFIX + command.name, null]);
    return { ok: true, table: existing };
  }

  /**
   * `lease-acquire` succeeds when the table has no lease, the lease is the proposer's, or it expired by the
   * proposer's clock; the lease then runs `durationMs` from `nowMs`. `lease-release` drops the proposer's lease.
   */
  private applyLeaseCommand(command: LeaseCommand, writes: [string, string | null][]): MetadataResult {
    const current = this.leases.get(command.name);
    if (command.op === "lease-release") {
      if (!current || current.nodeId !== command.nodeId) return { ok: true, lease: null };
      this.leases.delete(command.name);
      writes.push([LEASE_PREFIX + command.name, null]);
      return { ok: true, lease: null };
    }
    if (!this.tables.has(command.name)) return { ok: false, error: "not found" };
    if (current && current.nodeId !== command.nodeId && current.expiresAtMs > command.nowMs) return { ok: false, error: "leased" };
    const renewal = current !== undefined && current.nodeId === command.nodeId && current.acquiredAtMs !== undefined;
    const lease: TableLease = {
      name: command.name,
      nodeId: command.nodeId,
      expiresAtMs: command.nowMs + command.durationMs,
      acquiredAtMs: renewal ? current.acquiredAtMs : command.nowMs,
    };
    this.leases.set(lease.name, lease);
    writes.push([LEASE_PREFIX + lease.name, JSON.stringify(lease)]);
    return { ok: true, lease };
  }

  /**
   * `restore-begin` allocates the next shard id and records it as the table's pending replacement (a newer
   * begin for the same table supersedes an older one, whose finish then fails). `restore-finish` points the
   * table (created if absent) at its pending shard, unless it is fenced by a lease tenure that has ended
   * ("leased"; the pending shard stays for the proposer's `restore-abort`); `restore-abort` forgets the
   * pending shard.
   */
  private applyRestoreCommand(
    command: Extract<MetadataCommand, { op: "restore-begin" | "restore-finish" | "restore-abort" }>,
    writes: [string, string | null][],
  ): MetadataResult {
    if (command.op === "restore-begin") {
      this.sequence += 1;
      const pending: TableInfo = { name: command.name, shardId: this.sequence };
      this.restores.set(pending.name, pending);
      writes.push([RESTORE_PREFIX + pending.name, JSON.stringify(pending)]);
      return { ok: true, table: pending };
    }
    const pending = this.restores.get(command.name);
    if (!pending || pending.shardId !== command.shardId) return { ok: false, error: "not found" };
    if (command.op === "restore-finish" && command.fence && !this.holdsTenure(command.name, command.fence)) return { ok: false, error: "leased" };
    this.restores.delete(command.name);
    writes.push([RESTORE_PREFIX + command.name, null]);
    if (command.op === "restore-abort") return { ok: true, table: pending };
    this.tables.set(pending.name, pending);
    writes.push([TABLE_PREFIX + pending.name, JSON.stringify(pending)]);
    return { ok: true, table: pending };
  }

  /** Whether `fence` is the current tenure of table `name`'s lease (expired or not: nobody took it over). */
  private holdsTenure(name: string, fence: LeaseFence): boolean {
    const lease = this.leases.get(name);
    return lease !== undefined && lease.nodeId === fence.nodeId && lease.acquiredAtMs === fence.acquiredAtMs;
  }

  /** The whole catalogue (small: names and ids), for a metadata-group snapshot. */
  state(): MetadataState {
    return { index: this.index, sequence: this.sequence, tables: this.list(), restores: this.pendingRestores(), leases: [...this.leases.values()] };
  }

  /** Replaces the catalogue with a snapshot's, atomically and durably. */
  async install(state: MetadataState): Promise<void> {
    await this.db.transaction(() => {
      for (const name of this.tables.keys()) this.db.removeSync(TABLE_PREFIX + name);
      for (const name of this.restores.keys()) this.db.removeSync(RESTORE_PREFIX + name);
      for (const name of this.leases.keys()) this.db.removeSync(LEASE_PREFIX + name);
      for (const lease of state.leases ?? []) this.db.putSync(LEASE_PREFIX + lease.name, JSON.stringify(lease));
      for (const table of state.tables) this.db.putSync(TABLE_PREFIX + table.name, JSON.stringify(table));
      for (const pending of state.restores ?? []) this.db.putSync(RESTORE_PREFIX + pending.name, JSON.stringify(pending));
      this.db.putSync(INDEX_KEY, String(state.index));
      this.db.putSync(SEQUENCE_KEY, String(state.sequence));
    });
    this.tables.clear();
    for (const table of state.tables) this.tables.set(table.name, table);
    this.restores.clear();
    for (const pending of state.restores ?? []) this.restores.set(pending.name, pending);
    this.leases.clear();
    for (const lease of state.leases ?? []) this.leases.set(lease.name, lease);
    this.index = state.index;
    this.sequence = state.sequence;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
