/**
 * The KV service (spec §4): Range, IterateRange, Put, DeleteRange, Txn over the engine.
 * Writes become Commands proposed to the table's group; serializable reads go straight to the local
 * replica; linearizable reads and read-only transactions wait on the group's read index first.
 */
import type { armada } from "../proto/index.js";
import { pb, toNumber } from "../proto/index.js";
import type { Engine, TableHandle } from "../engine/engine.js";
import { AbortedError, TableNotFoundError } from "../engine/errors.js";
import { namesOneKey, type RangeQuery } from "../fsm/index.js";
import type { CallContext, Handler } from "./bind.js";
import { checkKeySize, checkValueSize, isReadOnlyTxn, requireTableAndKey, validateRangeRequest, validateTxn } from "./validate.js";
import { invalidArgument } from "./status.js";
import type { FramedResponse } from "./framed-response.js";
import { encodeRangeResponse, RangeResponseWriter, type ResponseHeaderValues } from "./range-response.js";

/** Bound on how long IterateRange may take to open its view when the client set no deadline. */
export const ITERATE_OPEN_TIMEOUT_MS = 5000;
/** The least a Range response over a range of keys starts with: from Node's buffer pool. */
const RANGE_RESPONSE_MIN_BYTES = 2048;
/**
 * Where the next Range response over a range of keys starts: the size of the last one. Reads of ranges
 * tend to repeat their shape, and a buffer that grows by doubling allocates and copies a few times for each.
 */
let rangeResponseBytesHint = RANGE_RESPONSE_MIN_BYTES;
/**
 * The pieces a Range or IterateRange response is written in past its first (RangeResponseWriter): below
 * glibc's mmap threshold, so they come from memory the allocator has had before.
 */
const RESPONSE_PIECE_BYTES = 64 * 1024;

const CommandType = pb.Command.CommandType;

/** Finds the table named by the request's exact bytes. */
export function lookupTable(engine: Engine, tableBytes: Uint8Array): TableHandle {
  return engine.table(tableName(tableBytes));
}

/**
 * The last name decoded and the bytes that spelled it: most calls name the same table as the call before,
 * and reusing the string saves decoding it and hashing it again for the table lookup.
 */
let lastNameBytes: Uint8Array = new Uint8Array(0);
let lastName = "";

/** The table name that `bytes` spell. */
function tableName(bytes: Uint8Array): string {
  if (sameBytes(bytes, lastNameBytes)) return lastName;
  const name = decodeTableName(bytes);
  // A copy: the request's bytes are a view of a buffer that is reused.
  lastNameBytes = Uint8Array.from(bytes);
  lastName = name;
  return name;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes `bytes` without copying them; throws TableNotFoundError for bytes that are not UTF-8. */
function decodeTableName(bytes: Uint8Array): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  // ASCII is valid UTF-8 and decodes the same as Latin-1 (the cheapest decoder).
  if (ascii) return view.toString("latin1");
  const name = view.toString("utf8");
  // Bytes that are not valid UTF-8 cannot name a table; without this check they could alias one.
  if (!Buffer.from(name, "utf8").equals(view)) throw new TableNotFoundError(name);
  return name;
}

/** The response header for `table` on this node; `revision` for writes. */
export function header(table: TableHandle, revision = 0): ResponseHeaderValues {
  const status = table.status();
  return {
    shardId: status.shardId,
    replicaId: status.replicaId,
    revision,
    raftTerm: status.term,
    raftLeaderId: status.leaderId,
  };
}

function rangeQuery(request: armada.v1.IRangeRequest): RangeQuery {
  return {
    key: request.key!,
    rangeEnd: request.rangeEnd && request.rangeEnd.length > 0 ? request.rangeEnd : null,
    limit: toNumber(request.limit),
    keysOnly: !!request.keysOnly,
    countOnly: !!request.countOnly,
  };
}

/** A Range answered from this replica's state machine. */
function readLocally(table: TableHandle, request: armada.v1.RangeRequest): FramedResponse {
  // The header is read first: nothing may read LMDB between the lent read and its encoding.
  const responseHeader = header(table);
  if (namesOneKey(request.rangeEnd)) {
    return encodeRangeResponse(responseHeader, table.stateMachine.lookupLent(request.key, !!request.keysOnly, !!request.countOnly));
  }
  const response = new RangeResponseWriter(responseHeader, rangeResponseBytesHint, RESPONSE_PIECE_BYTES);
  const framed = response.finish(table.stateMachine.rangeTo(rangeQuery(request), response));
  rangeResponseBytesHint = Math.max(RANGE_RESPONSE_MIN_BYTES, framed.length);
  return framed;
}

/** Creates the KV handlers over `engine`. */
export function kvHandlers(engine: Engine): Record<string, Handler> {
  return {
    // Not async: a serializable read answers at once, without a promise (api/bind.ts).
    Range: (request: armada.v1.RangeRequest, context: CallContext) => {
      validateRangeRequest(request);
      const table = lookupTable(engine, request.table);
      checkKeySize(request.key, request.rangeEnd);
      if (request.linearizable) return table.readIndex({ signal: context.cancellation }).then(() => readLocally(table, request));
      return readLocally(table, request);
    },

    IterateRange: async (request: armada.v1.RangeRequest, context: CallContext, send: (message: object) => Promise<void>) => {
      validateRangeRequest(request);
      const table = lookupTable(engine, request.table);
      if (request.linearizable) await table.readIndex({ signal: openSignal(context.signal) });
      const iterator = table.stateMachine.iterateRange(rangeQuery(request));
      try {
        for (;;) {
          if (context.signal.aborted) throw context.signal.reason;
          const response = new RangeResponseWriter(header(table), RESPONSE_PIECE_BYTES);
          const summary = iterator.nextTo(response);
          if (summary === undefined) break;
          await send(response.finish(summary));
        }
      } finally {
        iterator.close();
      }
    },

    Put: async (request: armada.v1.PutRequest, context: CallContext) => {
      requireTableAndKey(request);
      const table = lookupTable(engine, request.table);
      checkKeySize(request.key);
      checkValueSize(request.value);
      const result = await table.propose(
        { table: request.table, type: CommandType.PUT, kv: { key: request.key, value: request.value }, prevKvs: request.prevKv },
        { signal: context.cancellation },
      );
      const prevKv = result.responses[0]?.responsePut?.prevKv;
      return { header: header(table, result.revision), ...(prevKv ? { prevKv } : {}) };
    },

    DeleteRange: async (request: armada.v1.DeleteRangeRequest, context: CallContext) => {
      requireTableAndKey(request);
      const table = lookupTable(engine, request.table);
      checkKeySize(request.key);
      const command: armada.v1.ICommand = {
        table: request.table,
        type: CommandType.DELETE,
        kv: { key: request.key },
        prevKvs: request.prevKv,
        count: request.count,
      };
      // Presence of range_end is what makes a range delete on every replica: never send an empty one.
      if (request.rangeEnd.length > 0) command.rangeEnd = request.rangeEnd;
      const result = await table.propose(command, { signal: context.cancellation });
      const deleted = result.responses[0]?.responseDeleteRange;
      return { header: header(table, result.revision), deleted: deleted?.deleted ?? 0, prevKvs: deleted?.prevKvs ?? [] };
    },

    Txn: async (request: armada.v1.TxnRequest, context: CallContext) => {
      if (request.table.length === 0) throw invalidArgument("table must be set");
      const table = lookupTable(engine, request.table);
      validateTxn(request);
      const txn: armada.v1.ITxn = { compare: request.compare, success: request.success, failure: request.failure };
      if (isReadOnlyTxn(request)) {
        await table.readIndex({ signal: context.cancellation });
        const result = table.stateMachine.txnReadOnly(txn);
        return { header: header(table), succeeded: result.succeeded, responses: result.responses };
      }
      const result = await table.propose({ table: request.table, type: CommandType.TXN, txn }, { signal: context.cancellation });
      return { header: header(table, result.revision), succeeded: result.succeeded, responses: result.responses };
    },
  };
}

/** The call's signal, additionally bounded by the default open timeout (IterateRange streams are unbounded). */
function openSignal(callSignal: AbortSignal): AbortSignal {
  return AbortSignal.any([callSignal, timeoutSignal(ITERATE_OPEN_TIMEOUT_MS)]);
}

function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new AbortedError("deadline")), ms).unref();
  return controller.signal;
}
