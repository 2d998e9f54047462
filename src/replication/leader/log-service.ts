/**
 * Log/Replicate on the leader cluster (spec §9.3): streams a table's applied log entries from the index a
 * follower asks for, as the commands that were proposed (with their leader index), in messages of bounded
 * size. The leader keeps no state per follower; every call starts from the follower's own position.
 */
import { pb, toNumber, type armada } from "../../proto/index.js";
import type { Engine, TableHandle, TableLogEntry } from "../../engine/engine.js";
import { LogCompactedError } from "../../engine/errors.js";
import type { CallContext, Handler } from "../../api/bind.js";
import { lookupTable } from "../../api/kv.js";
import { failedPrecondition, invalidArgument } from "../../api/status.js";
import { LogCache } from "./log-cache.js";

/** Target size of one Replicate message when the flag is 0 (spec §14.5). */
export const REPLICATE_MESSAGE_BYTES_DEFAULT = 4 * 1024 * 1024;

const CommandType = pb.Command.CommandType;
const LEADER_BEHIND = pb.ReplicateError.LEADER_BEHIND;

export interface LogServiceOptions {
  /** `--replication.max-send-message-size-bytes` (0 = 4 MiB). */
  readonly maxMessageBytes: number;
  /** `--replication.log-cache-size`: recent commands kept per table (0 = no cache). */
  readonly cacheEntries: number;
  /** Logs a read failure that ends a stream early (the follower retries at its next poll). */
  readonly onReadError?: (table: string, error: unknown) => void;
}

/** The Log service handlers over `engine`. */
export function logHandlers(engine: Engine, options: LogServiceOptions): Record<string, Handler> {
  const maxBytes = options.maxMessageBytes > 0 ? options.maxMessageBytes : REPLICATE_MESSAGE_BYTES_DEFAULT;
  const cache = new LogCache(options.cacheEntries);
  return {
    Replicate: async (request: armada.v1.ReplicateRequest, context: CallContext, send: (message: object) => Promise<void>) => {
      const from = toNumber(request.leaderIndex);
      if (from === 0) throw invalidArgument("invalid leaderIndex: leaderIndex must be greater than 0");
      const table = lookupTable(engine, request.table);
      const log = table.log;
      if (!log) throw failedPrecondition("this engine keeps no replication log");
      // Linearizable: a LEADER_BEHIND answer must mean the follower really is ahead (replaced history).
      await table.readIndex({ signal: context.signal });
      const applied = table.stateMachine.appliedIndex;
      if (applied + 1 < from) return send({ errorResponse: { error: LEADER_BEHIND } });
      for (let next = from; ; ) {
        if (context.signal.aborted) return;
        const read = readEntries(table, next, applied, maxBytes);
        if (read === "leader-behind") return send({ errorResponse: { error: LEADER_BEHIND } });
        // USE_SNAPSHOT is the enum's zero value: it travels as an empty error_response (spec §3.3).
        if (read === "use-snapshot") return send({ errorResponse: {} });
        if (read instanceof Error) {
          options.onReadError?.(table.info.name, read);
          return;
        }
        if (read.length === 0) return send({ leaderIndex: table.stateMachine.appliedIndex });
        const commands = read.map((entry) => ({ leaderIndex: entry.index, command: cache.command(table.info.shardId, entry, toReplicated) }));
        await send({ leaderIndex: applied, commandsResponse: { commands } });
        next = read[read.length - 1]!.index + 1;
      }
    },
  };
}

/** Entries [next, applied] up to `maxBytes`, or why there are none to give. */
function readEntries(table: TableHandle, next: number, applied: number, maxBytes: number): TableLogEntry[] | "leader-behind" | "use-snapshot" | Error {
  const log = table.log!;
  try {
    const last = log.lastIndex();
    if (next > applied || last + 1 === next) return [];
    if (last < next) return "leader-behind";
    if (next < log.firstIndex()) return "use-snapshot";
    return log.entries(next, Math.min(applied, last) + 1, maxBytes);
  } catch (error) {
    if (error instanceof LogCompactedError) return "use-snapshot";
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * The command shipped for a log entry (spec §9.3 C(e)): the proposed command with the entry's index as its
 * leader index, or a DUMMY for an entry without a command (leader no-op, membership change).
 */
export function toReplicated(entry: TableLogEntry): armada.v1.ICommand {
  if (entry.command.length === 0) return { type: CommandType.DUMMY, leaderIndex: entry.index };
  const command = pb.Command.decode(entry.command);
  command.leaderIndex = entry.index as unknown as typeof command.leaderIndex;
  return command;
}
