/**
 * Put and delete semantics shared by PUT/DELETE commands, their batch forms and transaction ops
 * (spec §4.4, §4.5).
 */
import type { armada } from "../proto/index.js";
import { bytesOrEmpty } from "./bytes.js";
import { RANGE_DELETE_BATCH_KEYS, RESPONSE_SIZE_BUDGET } from "./constants.js";
import { selectKeys } from "./keys.js";
import { keyValueFieldSize, toKeyValue } from "./response-size.js";
import type { Entry, TableWriter } from "./view.js";

/** Options of a delete: report the deleted pairs and/or their number. */
export interface DeleteOptions {
  prevKv: boolean;
  count: boolean;
}

/** Upserts `key`; returns the previous pair when asked for and it existed. */
export function putKey(
  writer: TableWriter,
  key: Uint8Array,
  value: Uint8Array,
  prevKv: boolean,
): armada.v1.ResponseOp.IPut {
  const previous = prevKv ? writer.get(key) : undefined;
  writer.put(key, value);
  return previous === undefined ? {} : { prevKv: toKeyValue(key, previous) };
}

/**
 * Deletes the keys selected by `key`/`rangeEnd` (same selection rules as Range). `deleted` is only
 * computed when `count` or `prevKv` is set ([REF]); when it is, it is the full number of deleted keys
 * ([FIX]), while `prevKvs` stops growing at the response budget.
 */
export function deleteKeys(
  writer: TableWriter,
  key: Uint8Array,
  rangeEnd: Uint8Array | null | undefined,
  options: DeleteOptions,
): armada.v1.ResponseOp.IDeleteRange {
  const selection = selectKeys(key, rangeEnd);
  const report = options.prevKv || options.count;
  if (selection.kind === "empty") return report ? { deleted: 0 } : {};
  if (selection.kind === "single") {
    const previous = options.prevKv ? writer.get(key) : undefined;
    const existed = writer.remove(key);
    if (!report) return {};
    return previous === undefined ? { deleted: existed ? 1 : 0 } : { deleted: 1, prevKvs: [toKeyValue(key, previous)] };
  }
  const { deleted, prevKvs } = deleteRange(writer, selection.start, selection.end, options.prevKv);
  if (!report) return {};
  return options.prevKv ? { deleted, prevKvs } : { deleted };
}

/** Deletes `[start, end)` in bounded batches, collecting deleted pairs within the response budget. */
function deleteRange(
  writer: TableWriter,
  start: Uint8Array,
  end: Uint8Array | null,
  collect: boolean,
): { deleted: number; prevKvs: armada.v1.IKeyValue[] } {
  const prevKvs: armada.v1.IKeyValue[] = [];
  let encodedSize = 0;
  let budgetExhausted = !collect;
  let deleted = 0;
  for (;;) {
    // Read a batch before removing it: LMDB cursors must not run across their own deletions. Removed keys
    // are gone, so each new scan from `start` begins at the first surviving key.
    const batch = takeBatch(writer, start, end, !budgetExhausted);
    if (batch.length === 0) return { deleted, prevKvs };
    for (const entry of batch) {
      writer.remove(entry.key);
      deleted++;
      if (budgetExhausted) continue;
      if (encodedSize + entry.key.length + entry.value.length >= RESPONSE_SIZE_BUDGET) {
        budgetExhausted = true;
        continue;
      }
      prevKvs.push(toKeyValue(entry.key, entry.value));
      encodedSize += keyValueFieldSize(entry.key.length, entry.value.length);
    }
  }
}

const NO_VALUE = new Uint8Array(0);

function takeBatch(writer: TableWriter, start: Uint8Array, end: Uint8Array | null, withValues: boolean): Entry[] {
  const batch: Entry[] = [];
  const source = withValues ? writer.scan(start, end) : writer.scanKeys(start, end);
  for (const item of source) {
    batch.push(item instanceof Uint8Array ? { key: item, value: NO_VALUE } : item);
    if (batch.length === RANGE_DELETE_BATCH_KEYS) break;
  }
  return batch;
}

/** PUT_BATCH: upserts every pair in order, one empty put response each. */
export function putBatch(writer: TableWriter, batch: armada.v1.IKeyValue[]): armada.v1.IResponseOp[] {
  return batch.map((kv) => {
    writer.put(bytesOrEmpty(kv.key), bytesOrEmpty(kv.value));
    return { responsePut: {} };
  });
}

/** DELETE_BATCH: deletes every key (single keys), one delete response each (no count: `deleted` 0). */
export function deleteBatch(writer: TableWriter, batch: armada.v1.IKeyValue[]): armada.v1.IResponseOp[] {
  return batch.map((kv) => {
    writer.remove(bytesOrEmpty(kv.key));
    return { responseDeleteRange: {} };
  });
}
