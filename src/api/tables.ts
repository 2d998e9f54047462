/**
 * The Tables service (spec §6): Create, Delete, List, with Regatta's error texts.
 */
import type { armada } from "../proto/index.js";
import type { Engine } from "../engine/engine.js";
import { InvalidTableNameError, TableExistsError, TableNotFoundError } from "../engine/errors.js";
import type { CallContext, Handler } from "./bind.js";
import { invalidArgument } from "./status.js";

export function tablesHandlers(engine: Engine): Record<string, Handler> {
  return {
    Create: async (request: armada.v1.CreateTableRequest, context: CallContext) => {
      if (!request.name) throw invalidArgument("name must be set");
      try {
        const info = await engine.createTable(request.name, { signal: context.signal });
        return { id: String(info.shardId) };
      } catch (error) {
        if (error instanceof InvalidTableNameError || error instanceof TableExistsError) throw invalidArgument(error.message);
        throw error;
      }
    },

    Delete: async (request: armada.v1.DeleteTableRequest, context: CallContext) => {
      if (!request.name) throw invalidArgument("name must be set");
      try {
        await engine.deleteTable(request.name, { signal: context.signal });
        return {};
      } catch (error) {
        // Regatta answers INVALID_ARGUMENT here, not NOT_FOUND; clients may match on it.
        if (error instanceof TableNotFoundError) throw invalidArgument("table not found");
        throw error;
      }
    },

    List: async () => ({
      tables: engine.listTables().map((table) => ({ name: table.name, id: String(table.shardId) })),
    }),
  };
}
