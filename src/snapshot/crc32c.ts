/**
 * CRC-32C (Castagnoli), as required by the Snappy framing format, plus the format's checksum masking.
 *
 * Implemented with slicing-by-8 tables: snapshots can be gigabytes, and this runs on the event loop.
 */

/** Reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;
/** Constant added by the Snappy framing format's masking step. */
const MASK_DELTA = 0xa282ead8;
const TABLE_COUNT = 8;
const TABLE_SIZE = 256;

const TABLES = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(TABLE_COUNT * TABLE_SIZE);
  for (let n = 0; n < TABLE_SIZE; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    tables[n] = crc >>> 0;
  }
  for (let n = 0; n < TABLE_SIZE; n++) {
    let crc = tables[n]!;
    for (let t = 1; t < TABLE_COUNT; t++) {
      crc = tables[crc & 0xff]! ^ (crc >>> 8);
      tables[t * TABLE_SIZE + n] = crc >>> 0;
    }
  }
  return tables;
}

/**
 * Computes the CRC-32C of `data`. Pass the previous result as `crc` to continue a checksum over several pieces.
 * @returns the checksum as an unsigned 32-bit number.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const fastEnd = data.length - (data.length % 8);
  while (i < fastEnd) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ c;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[1 * 256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
    i += 8;
  }
  while (i < data.length) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Applies the Snappy framing format's masking to a CRC-32C value: rotate right by 15, add a constant. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** The masked CRC-32C of `data`, as stored in Snappy data chunks. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
