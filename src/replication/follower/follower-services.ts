/**
 * The follower variants of the Tables and Maintenance services (spec §6.5, §11.1, §11.4): tables are
 * managed by replication, so Create and Delete are refused; Backup and Restore belong to the leader
 * cluster; Reset makes a table re-replicate from the leader.
 */
import type { armada } from "../../proto/index.js";
import type { Engine } from "../../engine/engine.js";
import { pb } from "../../proto/index.js";
import type { CallContext, Handler } from "../../api/bind.js";
import { lookupTable } from "../../api/kv.js";
import { tablesHandlers } from "../../api/tables.js";
import { Code, invalidArgument, StatusError } from "../../api/status.js";

/** Deadline of each table's reset proposal when the caller set none (spec §11.4). */
export const RESET_TABLE_TIMEOUT_MS = 5000;

export function followerTablesHandlers(engine: Engine): Record<string, Handler> {
  return {
    Create: async () => {
      throw new StatusError(Code.UNIMPLEMENTED, "method Create not implemented for follower");
    },
    Delete: async () => {
      throw new StatusError(Code.UNIMPLEMENTED, "method Delete not implemented for follower");
    },
    List: tablesHandlers(engine).List!,
  };
}

export function followerMaintenanceHandlers(engine: Engine): Record<string, Handler> {
  const resetTable = async (name: Uint8Array, signal: AbortSignal) => {
    const table = lookupTable(engine, name);
    // Leader index 0: the next poll starts over, by snapshot when the table holds data (spec §11.4 [FIX]).
    await table.propose({ table: name, type: pb.Command.CommandType.DUMMY, leaderIndex: 0 }, { signal: AbortSignal.any([signal, AbortSignal.timeout(RESET_TABLE_TIMEOUT_MS)]) });
  };
  return {
    Backup: async () => {
      throw new StatusError(Code.UNIMPLEMENTED, "method Backup not implemented");
    },
    Restore: async () => {
      throw new StatusError(Code.UNIMPLEMENTED, "method Restore not implemented");
    },
    Reset: async (request: armada.v1.ResetRequest, context: CallContext) => {
      if (request.resetAll) {
        for (const table of engine.listTables()) await resetTable(Buffer.from(table.name, "utf8"), context.signal);
        return {};
      }
      if (request.table.length === 0) throw invalidArgument("table must be set");
      await resetTable(request.table, context.signal);
      return {};
    },
  };
}
