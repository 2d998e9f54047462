/**
 * Metadata/Get on the leader cluster (spec §9.2): the tables followers mirror, sorted by name, each with
 * the leader's shard id as an extension (it changes when a table is replaced; spec §9.10).
 */
import type { Engine } from "../../engine/engine.js";
import type { Handler } from "../../api/bind.js";
import { Code, StatusError } from "../../api/status.js";
import { pb } from "../../proto/index.js";

export function metadataHandlers(engine: Engine): Record<string, Handler> {
  return {
    Get: async () => {
      let tables;
      try {
        tables = engine.listTables();
      } catch (error) {
        throw new StatusError(Code.UNAVAILABLE, `unknown err ${error instanceof Error ? error.message : String(error)}`);
      }
      return { tables: tables.map((table) => ({ name: table.name, type: pb.Table.Type.REPLICATED, id: String(table.shardId) })) };
    },
  };
}
