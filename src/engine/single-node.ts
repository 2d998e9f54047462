/**
 * The single-node engine: every table's proposals are applied in process by its state machine, the
 * registry lives in a small durable store. The multi-Raft engine replaces it behind the same interface.
 *
 * Layout on disk:
 *   <metadataDir>/registry/          table registry (LMDB)
 *   <stateMachineDir>/<shard id>/    one LMDB environment per table (named by id: table names stay out of paths)
 *   <stateMachineDir>/trash/         deleted tables, purged after a grace period
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { TableStateMachine } from "../fsm/index.js";
import type { Engine, TableHandle, TableInfo, WaitOptions } from "./engine.js";
import { EngineClosedError, InvalidTableNameError, TableExistsError, TableNotFoundError } from "./errors.js";
import { LocalTable } from "./local-table.js";
import { TableRegistry } from "./registry.js";
import { tableNameProblem } from "./table-name.js";
import { moveToTrash, startTrashSweeper } from "./trash.js";

export interface SingleNodeEngineOptions {
  readonly nodeId: number;
  readonly metadataDir: string;
  readonly stateMachineDir: string;
  readonly maxInMemoryLogBytes: number;
  /** Reports events worth an operator's attention (table started, fatal apply errors). */
  readonly log?: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

export class SingleNodeEngine implements Engine {
  private registry: TableRegistry | null = null;
  private readonly tables = new Map<string, LocalTable>();
  private stopSweeper: (() => void) | null = null;
  private closed = false;

  constructor(private readonly options: SingleNodeEngineOptions) {}

  get nodeId(): number {
    return this.options.nodeId;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.stateMachineDir, { recursive: true });
    this.registry = TableRegistry.open(join(this.options.metadataDir, "registry"));
    for (const info of this.registry.list()) this.startTable(info);
    this.stopSweeper = startTrashSweeper(this.options.stateMachineDir, (path) => this.options.log?.("info", "deleted table data purged", { path }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSweeper?.();
    const tables = [...this.tables.values()];
    this.tables.clear();
    await Promise.all(tables.map((table) => table.close()));
    await Promise.all(tables.map((table) => table.stateMachine.close()));
    await this.registry?.close();
  }

  async createTable(name: string, _options: WaitOptions = {}): Promise<TableInfo> {
    const registry = this.openRegistry();
    const problem = tableNameProblem(name);
    if (problem) throw new InvalidTableNameError(name, problem);
    const info = await registry.create(name);
    if (!info) throw new TableExistsError(name);
    this.startTable(info);
    return info;
  }

  async deleteTable(name: string, _options: WaitOptions = {}): Promise<void> {
    const registry = this.openRegistry();
    const info = await registry.remove(name);
    if (!info) throw new TableNotFoundError(name);
    const table = this.tables.get(name);
    this.tables.delete(name);
    if (table) {
      await table.close();
      await table.stateMachine.close();
    }
    moveToTrash(this.options.stateMachineDir, this.tableDir(info), info.shardId);
  }

  listTables(): TableInfo[] {
    return this.openRegistry().list();
  }

  table(name: string): TableHandle {
    if (this.closed) throw new EngineClosedError();
    const table = this.tables.get(name);
    if (!table) throw new TableNotFoundError(name);
    return table;
  }

  private openRegistry(): TableRegistry {
    if (this.closed || !this.registry) throw new EngineClosedError();
    return this.registry;
  }

  private tableDir(info: TableInfo): string {
    return join(this.options.stateMachineDir, String(info.shardId));
  }

  private startTable(info: TableInfo): void {
    const stateMachine = TableStateMachine.open(this.tableDir(info), { table: info.name });
    const table = new LocalTable(info, stateMachine, {
      nodeId: this.options.nodeId,
      maxInMemoryLogBytes: this.options.maxInMemoryLogBytes,
      onFatal: (failed, error) =>
        this.options.log?.("error", "table stopped after a failed apply", { table: failed.name, error: error.message }),
    });
    this.tables.set(info.name, table);
    this.options.log?.("info", "table started", { table: info.name, shard_id: info.shardId, applied_index: stateMachine.appliedIndex });
  }
}
