/**
 * HPACK (RFC 7541) for the server side of HTTP/2: a decoder for request header blocks and a stateless encoder
 * for response header blocks.
 *
 * The decoder keeps decoded strings in its tables, so the fields clients index (nearly all of a repeated
 * request's headers) come back as stored strings with no allocation. Strings are decoded as latin1 because
 * HTTP field octets are not UTF-8 text and latin1 maps every octet to one char, so octet lengths (which the
 * table size accounting needs) equal string lengths.
 *
 * The encoder uses neither Huffman nor the dynamic table: response headers are few and mostly static-table
 * hits, and statelessness means a block can be built once and reused on every connection.
 */
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from "./huffman-table.js";

/** A malformed header block: the connection must end with COMPRESSION_ERROR (RFC 7540 §4.3). */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HpackError";
  }
}

/** A header block's decoded list exceeded the limit (the caller answers with a stream/connection error). */
export class HeaderListTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HeaderListTooLargeError";
  }
}

/** RFC 7541 Appendix A; index 0 is a placeholder so that HPACK indices index the arrays directly. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ["", ""],
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_TABLE_LENGTH = STATIC_TABLE.length - 1;
const STATIC_NAMES: readonly string[] = STATIC_TABLE.map(([name]) => name);
const STATIC_VALUES: readonly string[] = STATIC_TABLE.map(([, value]) => value);

/** RFC 7541 §4.1: an entry's size counts this much overhead on top of its octets. */
const ENTRY_OVERHEAD = 32;
// RFC 7541 §5.1 puts no bound on integers; ours keeps every length and index a small integer and stops a
// peer from making us loop over an endless run of continuation bytes.
const MAX_INTEGER = 2 ** 31 - 1;
const MAX_CONTINUATION_BYTES = 5;

// ---------------------------------------------------------------------------------------------------------------
// Huffman decoding automaton.
//
// The code's tree has 257 leaves and therefore 256 internal nodes; the automaton's states are those nodes (state 0
// is the root, i.e. "at a symbol boundary"). One table lookup consumes a whole input octet: it gives the next state
// and the 0..2 symbols completed on the way (codes are at least 5 bits, so a byte finishes at most two).

const HUFF_FAIL = 1 << 26;
const HUFF_COUNT_SHIFT = 24;
/** (state << 8 | octet) -> next state | sym1 << 8 | sym2 << 16 | count << 24, or HUFF_FAIL if EOS is decoded. */
const HUFF_STEP = new Uint32Array(256 * 256);
/** 1 for the states a string may end in: the root, or up to 7 bits into the all-ones (EOS prefix) path (§5.2). */
const HUFF_ACCEPT = new Uint8Array(256);

(function buildHuffmanAutomaton(): void {
  // child[node * 2 + bit]: > 0 an internal node, < 0 the leaf ~symbol; 0 is unset (the root is nobody's child).
  const child = new Int32Array(512);
  let nodes = 1;
  for (let sym = 0; sym <= HUFFMAN_EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const length = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let i = length - 1; i > 0; i--) {
      const slot = node * 2 + (Math.floor(code / 2 ** i) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      node = child[slot]!;
    }
    child[node * 2 + (code & 1)] = ~sym;
  }
  if (nodes !== 256) throw new Error(`huffman table is not a complete code (${nodes} internal nodes)`);

  for (let node = 0, depth = 0; depth <= 7; depth++, node = child[node * 2 + 1]!) HUFF_ACCEPT[node] = 1;

  for (let state = 0; state < 256; state++) {
    for (let octet = 0; octet < 256; octet++) {
      let node = state;
      let count = 0;
      let symbols = 0;
      let failed = false;
      for (let bit = 7; bit >= 0; bit--) {
        const next = child[node * 2 + ((octet >> bit) & 1)]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = ~next;
        if (sym === HUFFMAN_EOS) {
          failed = true;
          break;
        }
        symbols |= sym << (8 * count++);
        node = 0;
      }
      HUFF_STEP[(state << 8) | octet] = failed ? HUFF_FAIL : node | (symbols << 8) | (count << HUFF_COUNT_SHIFT);
    }
  }
})();

// Huffman output is decoded into this scratch buffer and sliced into a string; it is grown on demand but a
// one-off giant string gets its own buffer so a single odd request does not pin memory for the process' life.
const HUFF_SCRATCH_KEEP_BYTES = 64 * 1024;
let huffScratch = Buffer.allocUnsafe(4096);

/** Buffer.prototype.latin1Slice exists at runtime (it is what toString("latin1") ends in) but is not typed. */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

function huffmanDecode(src: Buffer, start: number, end: number): string {
  // The shortest code is 5 bits, so n input octets yield at most 8n/5 symbols.
  const bound = Math.floor(((end - start) * 8) / 5);
  let out = huffScratch;
  if (bound > out.length) {
    out = Buffer.allocUnsafe(bound);
    if (bound <= HUFF_SCRATCH_KEEP_BYTES) huffScratch = out;
  }
  let o = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const step = HUFF_STEP[(state << 8) | src[i]!]!;
    if (step >= HUFF_FAIL) throw new HpackError("huffman string contains EOS");
    const count = step >>> HUFF_COUNT_SHIFT;
    if (count !== 0) {
      out[o++] = (step >>> 8) & 0xff;
      if (count === 2) out[o++] = (step >>> 16) & 0xff;
    }
    state = step & 0xff;
  }
  if (HUFF_ACCEPT[state] === 0) throw new HpackError("huffman string has invalid padding");
  return (out as Latin1Buffer).latin1Slice(0, o);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoder.

export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE we announce: the largest dynamic table the peer may make us keep. */
  maxTableBytes?: number;
  /** Limit on the sum over a block's fields of name.length + value.length + 32 (SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderListBytes?: number;
}

const INITIAL_RING_SLOTS = 16;
const EMPTY = Buffer.alloc(0) as Latin1Buffer;

export class HpackDecoder {
  private readonly maxTableBytes: number;
  private readonly maxHeaderListBytes: number;
  /** The table's current maximum size, as last set by a size update (§6.3); never above maxTableBytes. */
  private capacity: number;
  private tableBytes = 0;
  // The dynamic table as a ring: `head` is the slot the next insert takes, the newest entry sits just behind it.
  private names: string[] = new Array<string>(INITIAL_RING_SLOTS).fill("");
  private values: string[] = new Array<string>(INITIAL_RING_SLOTS).fill("");
  private mask = INITIAL_RING_SLOTS - 1;
  private head = 0;
  private count = 0;
  // Parse position, kept on the instance so the integer and string readers can advance it without returning pairs.
  private src: Latin1Buffer = EMPTY;
  private pos = 0;
  private end = 0;

  constructor(options: HpackDecoderOptions = {}) {
    this.maxTableBytes = options.maxTableBytes ?? 4096;
    this.maxHeaderListBytes = options.maxHeaderListBytes ?? 64 * 1024;
    if (!Number.isInteger(this.maxTableBytes) || this.maxTableBytes < 0 || this.maxTableBytes > MAX_INTEGER) {
      throw new RangeError(`maxTableBytes must be an integer in 0..${MAX_INTEGER}, got ${this.maxTableBytes}`);
    }
    if (!(this.maxHeaderListBytes >= 0)) {
      throw new RangeError(`maxHeaderListBytes must be non-negative, got ${this.maxHeaderListBytes}`);
    }
    this.capacity = this.maxTableBytes;
  }

  /** The dynamic table's current size in RFC 7541 §4.1 terms. */
  get dynamicTableBytes(): number {
    return this.tableBytes;
  }

  /** The dynamic table's current maximum size (the last size update, initially maxTableBytes). */
  get dynamicTableCapacity(): number {
    return this.capacity;
  }

  /** The dynamic table, newest entry first (HPACK index 62 first); for tests and diagnostics, it allocates. */
  dynamicTableEntries(): Array<[string, string]> {
    const entries: Array<[string, string]> = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - 1 - i) & this.mask;
      entries.push([this.names[slot]!, this.values[slot]!]);
    }
    return entries;
  }

  /**
   * Decodes one complete header block (all HEADERS+CONTINUATION fragments concatenated) and calls
   * onHeader(name, value) for each field in order. Throws HpackError on malformed input, after which the decoder
   * is unusable (the connection must end). Throws HeaderListTooLargeError after the whole block has been decoded
   * if its list exceeded maxHeaderListBytes; fields past the limit are not reported but still update the table, so
   * the decoder stays usable for the connection's next block. If onHeader throws, the block is abandoned half-way
   * and the table is out of sync with the peer's: the connection must end then too.
   */
  decode(block: Uint8Array, onHeader: (name: string, value: string) => void): void {
    const src = (Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)) as Latin1Buffer;
    this.src = src;
    this.pos = 0;
    this.end = src.length;
    let listBytes = 0;
    let overLimit = false;
    let sawField = false;
    try {
      while (this.pos < this.end) {
        const first = src[this.pos]!;
        let name: string;
        let value: string;
        if (first >= 0x80) {
          // §6.1 indexed field.
          const index = this.readInteger(7);
          if (index <= STATIC_TABLE_LENGTH) {
            if (index === 0) throw new HpackError("indexed field with index 0");
            name = STATIC_NAMES[index]!;
            value = STATIC_VALUES[index]!;
          } else {
            const slot = this.dynamicSlot(index);
            name = this.names[slot]!;
            value = this.values[slot]!;
          }
        } else if (first >= 0x40) {
          // §6.2.1 literal with incremental indexing.
          name = this.readLiteralName(6);
          value = this.readString();
          this.insert(name, value);
        } else if (first >= 0x20) {
          // §6.3 dynamic table size update; §4.2 allows it only before the block's first field.
          if (sawField) throw new HpackError("dynamic table size update after the start of the header block");
          const size = this.readInteger(5);
          if (size > this.maxTableBytes) {
            throw new HpackError(`dynamic table size update to ${size} exceeds the announced ${this.maxTableBytes}`);
          }
          this.capacity = size;
          this.evictTo(size);
          continue;
        } else {
          // §6.2.2 without indexing and §6.2.3 never indexed decode alike; "never" only binds re-encoders (proxies).
          name = this.readLiteralName(4);
          value = this.readString();
        }
        sawField = true;
        if (overLimit) continue;
        listBytes += name.length + value.length + ENTRY_OVERHEAD;
        if (listBytes > this.maxHeaderListBytes) {
          overLimit = true;
          continue;
        }
        onHeader(name, value);
      }
    } finally {
      // Do not keep the caller's block alive between calls.
      this.src = EMPTY;
    }
    if (overLimit) {
      throw new HeaderListTooLargeError(`header list exceeds ${this.maxHeaderListBytes} bytes`);
    }
  }

  /** Reads an integer with an N-bit prefix (§5.1) at this.pos. */
  private readInteger(prefixBits: number): number {
    const src = this.src;
    const max = (1 << prefixBits) - 1;
    let value = src[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (let continuation = 1; ; continuation++) {
      if (this.pos >= this.end) throw new HpackError("header block ends inside an integer");
      if (continuation > MAX_CONTINUATION_BYTES) throw new HpackError("integer has too many continuation bytes");
      const octet = src[this.pos++]!;
      value += (octet & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError("integer exceeds 2^31-1");
      if (octet < 0x80) return value;
      shift += 7;
    }
  }

  /** The name of a literal field: an index into the tables, or 0 followed by a string literal. */
  private readLiteralName(prefixBits: number): string {
    const index = this.readInteger(prefixBits);
    if (index === 0) return this.readString();
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index]!;
    return this.names[this.dynamicSlot(index)]!;
  }

  /** Reads a string literal (§5.2) at this.pos. */
  private readString(): string {
    if (this.pos >= this.end) throw new HpackError("header block ends before a string literal");
    const huffman = this.src[this.pos]! >= 0x80;
    const length = this.readInteger(7);
    const start = this.pos;
    if (length > this.end - start) throw new HpackError("string literal runs past the end of the header block");
    this.pos = start + length;
    return huffman ? huffmanDecode(this.src, start, this.pos) : this.src.latin1Slice(start, this.pos);
  }

  /** Maps an HPACK index past the static table to its ring slot. */
  private dynamicSlot(index: number): number {
    const offset = index - STATIC_TABLE_LENGTH - 1;
    if (offset >= this.count) {
      throw new HpackError(`index ${index} is past the dynamic table's ${this.count} entries`);
    }
    return (this.head - 1 - offset) & this.mask;
  }

  /** §4.4: evict from the old end until the new entry fits; an entry larger than the table just empties it. */
  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.capacity) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - size);
    if (this.count === this.names.length) this.growRing();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) & this.mask;
    this.count++;
    this.tableBytes += size;
  }

  private evictTo(limit: number): void {
    while (this.tableBytes > limit) {
      const slot = (this.head - this.count) & this.mask;
      this.tableBytes -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      // Drop the references so evicted strings can be collected.
      this.names[slot] = "";
      this.values[slot] = "";
      this.count--;
    }
  }

  private growRing(): void {
    const slots = this.names.length * 2;
    const names = new Array<string>(slots).fill("");
    const values = new Array<string>(slots).fill("");
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i) & this.mask;
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.mask = slots - 1;
    this.head = this.count;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoder.

interface StaticName {
  /** The first static entry with this name, for literal-with-indexed-name. */
  readonly nameIndex: number;
  /** Static entries with this name, by value, for fully indexed fields. */
  readonly byValue: Map<string, number>;
}

const STATIC_BY_NAME = new Map<string, StaticName>();
for (let index = 1; index <= STATIC_TABLE_LENGTH; index++) {
  const [name, value] = STATIC_TABLE[index]!;
  let entry = STATIC_BY_NAME.get(name);
  if (entry === undefined) {
    entry = { nameIndex: index, byValue: new Map() };
    STATIC_BY_NAME.set(name, entry);
  }
  if (!entry.byValue.has(value)) entry.byValue.set(value, index);
}

// Blocks are assembled here and copied out at their exact size; the encoder is synchronous, so one scratch serves all.
let encodeScratch = Buffer.allocUnsafe(4096);

/**
 * Encodes a header list as one header block: static-table full match -> indexed field; static name match ->
 * literal without indexing with indexed name; otherwise literal without indexing, new name. No Huffman, no
 * dynamic table (so the encoder is stateless and any block can be built once and reused). Names must be
 * non-empty and lowercase, made of 0x21..0x7e (RFC 9113 §8.2.1 forbids space and controls in names); values
 * of 0x20..0x7e and tab. Anything else throws TypeError.
 */
export function encodeHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  let out = encodeScratch;
  let pos = 0;
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    const name = header[0];
    const value = header[1];
    // Worst case: a prefix byte, two 5-byte length integers, the name and the value; a 2^31 string is not a concern.
    const worst = pos + 11 + name.length + value.length;
    if (worst > out.length) {
      const grown = Buffer.allocUnsafe(Math.max(worst, out.length * 2));
      out.copy(grown, 0, 0, pos);
      out = encodeScratch = grown;
    }
    const known = STATIC_BY_NAME.get(name);
    if (known !== undefined) {
      const full = known.byValue.get(value);
      if (full !== undefined) {
        pos = writeInteger(out, pos, 0x80, 7, full);
        continue;
      }
      pos = writeInteger(out, pos, 0x00, 4, known.nameIndex);
    } else {
      out[pos++] = 0x00;
      pos = writeName(out, pos, name);
    }
    pos = writeValue(out, pos, name, value);
  }
  const block = Buffer.allocUnsafe(pos);
  out.copy(block, 0, 0, pos);
  return block;
}

// Validation and copying share one pass: header strings are short, and a JS loop beats a native write call there.
function writeName(out: Buffer, pos: number, name: string): number {
  if (name.length === 0) throw new TypeError("header name is empty");
  pos = writeInteger(out, pos, 0x00, 7, name.length);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || (c >= 0x41 && c <= 0x5a)) {
      throw new TypeError(`invalid header name ${JSON.stringify(name)}: character ${i} must be lowercase visible ASCII`);
    }
    out[pos++] = c;
  }
  return pos;
}

function writeValue(out: Buffer, pos: number, name: string, value: string): number {
  pos = writeInteger(out, pos, 0x00, 7, value.length);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) {
      throw new TypeError(`invalid value for header ${JSON.stringify(name)}: character ${i} (0x${c.toString(16)}) not allowed`);
    }
    out[pos++] = c;
  }
  return pos;
}

/** §5.1: `value` with an N-bit prefix, OR-ed into `flags` in the first byte. */
function writeInteger(out: Buffer, pos: number, flags: number, prefixBits: number, value: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | max;
  value -= max;
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}
