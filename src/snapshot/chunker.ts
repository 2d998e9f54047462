/**
 * Re-chunks a byte stream into pieces of bounded size, e.g. for `SnapshotChunk.data` (≤ 1 MiB, spec §9.4).
 */

/** Largest `SnapshotChunk.data` sent by Armada (spec §9.4). */
export const SNAPSHOT_CHUNK_BYTES_MAX = 1_048_576;

/**
 * Yields the bytes of `source` in pieces of exactly `maxBytes`, except the last, which may be shorter.
 * Small inputs are coalesced (fewer, fuller messages); inputs larger than `maxBytes` are split. Nothing is
 * yielded for an empty stream. Memory use is bounded by one piece plus the current input.
 */
export async function* chunkBytes(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxBytes = SNAPSHOT_CHUNK_BYTES_MAX,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  let piece: Uint8Array | null = null;
  let filled = 0;
  for await (const data of source) {
    let offset = 0;
    while (offset < data.length) {
      // Pass whole pieces of a large input through without copying them.
      if (filled === 0 && data.length - offset >= maxBytes) {
        yield data.subarray(offset, offset + maxBytes);
        offset += maxBytes;
        continue;
      }
      piece ??= new Uint8Array(maxBytes);
      const take = Math.min(maxBytes - filled, data.length - offset);
      piece.set(data.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === maxBytes) {
        yield piece;
        piece = null;
        filled = 0;
      }
    }
  }
  if (piece !== null && filled > 0) yield piece.subarray(0, filled);
}
