/**
 * The replication manager of a follower node (spec §9.5–9.6): mirrors the leader cluster's table set
 * (creating and deleting local tables) and runs one worker per local table. Every node of the follower
 * cluster runs a manager; the table leases decide which node's worker actually pulls a table.
 */
import type { Engine } from "../../engine/engine.js";
import { TableExistsError, TableNotFoundError } from "../../engine/errors.js";
import type { LeaderConnection } from "./leader-connection.js";
import type { ReplicationMetrics } from "./metrics.js";
import { RecoverySlots, TableWorker, type ReplicaEngine, type WorkerLog, type WorkerSettings } from "./worker.js";

/** Deadline of the local create and delete proposals of a reconciliation. */
const TABLE_CHANGE_TIMEOUT_MS = 10_000;

export interface ManagerSettings extends WorkerSettings {
  readonly maxRecoveryInFlight: number;
}

export type FollowerEngine = ReplicaEngine & Pick<Engine, "createTable" | "deleteTable" | "listTables">;

export class ReplicationManager {
  private readonly workers = new Map<string, TableWorker>();
  /** The leader's shard id of each table as last seen, to notice replaced tables (spec §9.10 [EXT]). */
  private readonly leaderTableIds = new Map<string, string>();
  private readonly slots: RecoverySlots;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private reconciledOnce = false;
  private stopped = false;

  constructor(
    private readonly engine: FollowerEngine,
    private readonly leader: LeaderConnection,
    private readonly settings: ManagerSettings,
    private readonly metrics: ReplicationMetrics,
    private readonly log: WorkerLog,
  ) {
    this.slots = new RecoverySlots(Math.max(1, settings.maxRecoveryInFlight));
  }

  /** Reconciles at once (the reference waits one interval first), then every reconcile interval. */
  start(): void {
    const run = () => {
      if (this.stopped || this.running) return;
      this.running = this.reconcile().finally(() => { this.running = null; });
    };
    run();
    this.timer = setInterval(run, this.settings.reconcileIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await Promise.all([...this.workers.values()].map((worker) => worker.stop()));
    this.workers.clear();
    this.leader.close();
  }

  /** Someone waits for `table` to catch up: wake its worker (a no-op where this node does not pull it). */
  hint(table: string): void {
    this.workers.get(table)?.poke();
  }

  /**
   * Readiness of the follower side (spec §13.3): the table set was reconciled with the leader once, and
   * every table this node pulls has caught up once.
   */
  problems(): string[] {
    if (!this.reconciledOnce) return ["tables not yet reconciled with the leader cluster"];
    const problems: string[] = [];
    for (const worker of this.workers.values()) {
      if (worker.holdsLease() && !worker.caughtUpOnce) problems.push(`table "${worker.name}" has not caught up with the leader cluster yet`);
    }
    return problems;
  }

  /** One reconciliation: tables first, then workers. Failures are logged and retried next time. */
  async reconcile(): Promise<void> {
    try {
      await this.reconcileTables();
      this.reconciledOnce = true;
    } catch (error) {
      this.log.warn("table reconciliation with the leader cluster failed", { error: error instanceof Error ? error.message : String(error) });
    }
    if (!this.stopped) await this.reconcileWorkers();
  }

  private async reconcileTables(): Promise<void> {
    const response = await this.leader.metadata();
    const leaderTables = new Map(response.tables.map((table) => [table.name ?? "", table.id ?? ""]));
    for (const local of this.engine.listTables()) {
      if (leaderTables.has(local.name)) continue;
      this.log.info("deleting table the leader cluster no longer has", { table: local.name });
      await this.engine.deleteTable(local.name, { signal: AbortSignal.timeout(TABLE_CHANGE_TIMEOUT_MS) }).catch((error: unknown) => {
        if (!(error instanceof TableNotFoundError)) throw error;
      });
      this.leaderTableIds.delete(local.name);
    }
    const present = new Set(this.engine.listTables().map((table) => table.name));
    for (const [name, id] of leaderTables) {
      if (!present.has(name)) {
        this.log.info("creating table of the leader cluster", { table: name });
        await this.engine.createTable(name, { signal: AbortSignal.timeout(TABLE_CHANGE_TIMEOUT_MS) }).catch((error: unknown) => {
          if (!(error instanceof TableExistsError)) throw error;
        });
      }
      const known = this.leaderTableIds.get(name);
      if (id && known && known !== id) {
        this.log.warn("the leader cluster replaced the table; re-synchronising it", { table: name, old_id: known, new_id: id });
        this.workers.get(name)?.requestRecovery(`the leader's table was replaced (id ${known} → ${id})`);
      }
      if (id) this.leaderTableIds.set(name, id);
    }
  }

  private async reconcileWorkers(): Promise<void> {
    const local = new Set(this.engine.listTables().map((table) => table.name));
    for (const [name, worker] of this.workers) {
      if (local.has(name)) continue;
      this.workers.delete(name);
      await worker.stop();
    }
    for (const name of local) {
      if (this.workers.has(name) || this.stopped) continue;
      const worker = new TableWorker(name, { engine: this.engine, leader: this.leader, settings: this.settings, metrics: this.metrics, log: this.log, slots: this.slots });
      this.workers.set(name, worker);
      worker.start();
    }
  }
}
