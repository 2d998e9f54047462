import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import { encodeHeaderBlock, HeaderListTooLargeError, HpackDecoder, HpackError } from "./hpack.js";
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from "./huffman-table.js";

type Field = [string, string];

/** Hex as the RFC prints it (groups of four digits, line breaks) to bytes. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const fields: Field[] = [];
  decoder.decode(block, (name, value) => fields.push([name, value]));
  return fields;
}

/** An HPACK integer (RFC 7541 §5.1), written independently of the codec under test. */
function int(flags: number, prefixBits: number, value: number): number[] {
  const max = 2 ** prefixBits - 1;
  if (value < max) return [flags | value];
  const bytes = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** Huffman-encodes octets bit by bit from the code table, padding with the EOS prefix (§5.2). */
function huffmanEncode(octets: Uint8Array | string, extraSymbols: number[] = []): Buffer {
  const bits: number[] = [];
  const input = typeof octets === "string" ? Buffer.from(octets, "latin1") : octets;
  for (const sym of [...input, ...extraSymbols]) {
    for (let i = HUFFMAN_LENGTHS[sym]! - 1; i >= 0; i--) bits.push(Math.floor(HUFFMAN_CODES[sym]! / 2 ** i) % 2);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bits.length; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

/** A literal field without indexing, new name "x", whose value is the given Huffman-coded bytes. */
function huffmanValueBlock(coded: Uint8Array): Buffer {
  return Buffer.from([0x00, 0x01, 0x78, ...int(0x80, 7, coded.length), ...coded]);
}

const size = (fields: Field[]) => fields.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);

// ---------------------------------------------------------------------------------------------------------------
// RFC 7541 Appendix C

test("C.1 integers: 10 and 1337 with a 5-bit prefix decode as table size updates", () => {
  // Proves the §5.1 prefix/continuation arithmetic on the RFC's own examples (the size update has a 5-bit prefix).
  const decoder = new HpackDecoder();
  assert.deepEqual(decodeAll(decoder, hex("2a")), []);
  assert.equal(decoder.dynamicTableCapacity, 10);
  assert.deepEqual(decodeAll(decoder, hex("3f9a0a")), []);
  assert.equal(decoder.dynamicTableCapacity, 1337);
});

test("C.2 literal field representations", () => {
  // Proves each literal form decodes, and that only incremental indexing adds a table entry.
  const c21 = new HpackDecoder();
  assert.deepEqual(decodeAll(c21, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")), [["custom-key", "custom-header"]]);
  assert.deepEqual(c21.dynamicTableEntries(), [["custom-key", "custom-header"]]);
  assert.equal(c21.dynamicTableBytes, 55);

  const c22 = new HpackDecoder();
  assert.deepEqual(decodeAll(c22, hex("040c 2f73 616d 706c 652f 7061 7468")), [[":path", "/sample/path"]]);
  assert.deepEqual(c22.dynamicTableEntries(), []);

  const c23 = new HpackDecoder();
  assert.deepEqual(decodeAll(c23, hex("1008 7061 7373 776f 7264 0673 6563 7265 74")), [["password", "secret"]]);
  assert.deepEqual(c23.dynamicTableEntries(), []);

  const c24 = new HpackDecoder();
  assert.deepEqual(decodeAll(c24, hex("82")), [[":method", "GET"]]);
  assert.equal(c24.dynamicTableBytes, 0);
});

const REQUESTS: Field[][] = [
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"]],
  [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]],
];
const REQUEST_TABLES: Field[][] = [
  [[":authority", "www.example.com"]],
  [["cache-control", "no-cache"], [":authority", "www.example.com"]],
  [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
];
const REQUEST_TABLE_BYTES = [57, 110, 164];

function checkRequests(blocks: Buffer[]): void {
  const decoder = new HpackDecoder();
  for (let i = 0; i < blocks.length; i++) {
    assert.deepEqual(decodeAll(decoder, blocks[i]!), REQUESTS[i], `request ${i + 1}`);
    assert.deepEqual(decoder.dynamicTableEntries(), REQUEST_TABLES[i], `table after request ${i + 1}`);
    assert.equal(decoder.dynamicTableBytes, REQUEST_TABLE_BYTES[i]);
  }
}

test("C.3 three requests without Huffman share one dynamic table", () => {
  // Proves indexed references into entries added by earlier blocks (0xbe, 0xbf) resolve across blocks.
  checkRequests([
    hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
    hex("8286 84be 5808 6e6f 2d63 6163 6865"),
    hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"),
  ]);
});

test("C.4 the same requests with Huffman-coded strings", () => {
  // Proves the Huffman decoder on real encoder output; the table ends identical to C.3's.
  const blocks = [
    hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
    hex("8286 84be 5886 a8eb 1064 9cbf"),
    hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
  ];
  checkRequests(blocks);
  // The test's own encoder agrees with the RFC's bytes, so it is fit to generate the other Huffman cases below.
  assert.deepEqual(huffmanEncode("www.example.com"), blocks[0]!.subarray(5));
  assert.deepEqual(huffmanEncode("custom-value"), blocks[2]!.subarray(blocks[2]!.length - 9));
});

const DATE_1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSES: Field[][] = [
  [[":status", "302"], ["cache-control", "private"], ["date", DATE_1], ["location", LOCATION]],
  [[":status", "307"], ["cache-control", "private"], ["date", DATE_1], ["location", LOCATION]],
  [[":status", "200"], ["cache-control", "private"], ["date", DATE_2], ["location", LOCATION], ["content-encoding", "gzip"], ["set-cookie", COOKIE]],
];
const RESPONSE_TABLES: Field[][] = [
  [["location", LOCATION], ["date", DATE_1], ["cache-control", "private"], [":status", "302"]],
  // ":status: 302" is evicted to make room for ":status: 307".
  [[":status", "307"], ["location", LOCATION], ["date", DATE_1], ["cache-control", "private"]],
  // Adding date, content-encoding and set-cookie (215 bytes together) leaves room for nothing older.
  [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE_2]],
];
const RESPONSE_TABLE_BYTES = [222, 222, 215];

function checkResponses(blocks: Buffer[]): void {
  const decoder = new HpackDecoder({ maxTableBytes: 256 });
  for (let i = 0; i < blocks.length; i++) {
    assert.deepEqual(decodeAll(decoder, blocks[i]!), RESPONSES[i], `response ${i + 1}`);
    assert.deepEqual(decoder.dynamicTableEntries(), RESPONSE_TABLES[i], `table after response ${i + 1}`);
    assert.equal(decoder.dynamicTableBytes, RESPONSE_TABLE_BYTES[i]);
    assert.equal(decoder.dynamicTableBytes, size(RESPONSE_TABLES[i]!));
  }
}

test("C.5 three responses without Huffman in a 256-byte table evict as the RFC shows", () => {
  // Proves §4.4 eviction order and sizes against the RFC's table dumps.
  checkResponses([
    hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120
         474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`),
    hex("4803 3330 37c1 c0bf"),
    hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738
         666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33
         3630 303b 2076 6572 7369 6f6e 3d31`),
  ]);
});

test("C.6 the same responses with Huffman-coded strings", () => {
  // Proves Huffman decoding of longer strings (dates, the cookie) together with eviction.
  checkResponses([
    hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718
         63c7 8f0b 97c8 e9ae 82ae 43d3`),
    hex("4883 640e ffc1 c0bf"),
    hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7
         b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
  ]);
});

// ---------------------------------------------------------------------------------------------------------------
// Huffman

test("every octet 0..255 Huffman-decodes, alone and all in one string", () => {
  // Proves the byte-at-a-time automaton covers all 256 symbols, including the 30-bit ones that span four states.
  const decoder = new HpackDecoder();
  for (let octet = 0; octet < 256; octet++) {
    const fields = decodeAll(decoder, huffmanValueBlock(huffmanEncode(Buffer.from([octet]))));
    assert.deepEqual(fields, [["x", String.fromCharCode(octet)]], `octet ${octet}`);
  }
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const reversed = Buffer.from(all).reverse();
  for (const octets of [all, reversed, Buffer.concat([all, reversed, all])]) {
    const fields = decodeAll(decoder, huffmanValueBlock(huffmanEncode(octets)));
    assert.equal(fields[0]![1], octets.toString("latin1"));
  }
});

test("Huffman strings ending exactly on a byte boundary and the empty Huffman string decode", () => {
  // Proves the no-padding case (eight 5-bit '0' symbols = 40 bits) and a zero-length H=1 string are accepted.
  const decoder = new HpackDecoder();
  assert.equal(huffmanEncode("00000000").length, 5);
  assert.deepEqual(decodeAll(decoder, huffmanValueBlock(huffmanEncode("00000000"))), [["x", "00000000"]]);
  assert.deepEqual(decodeAll(decoder, huffmanValueBlock(Buffer.alloc(0))), [["x", ""]]);
  // Seven bits of padding is the most allowed: '0' is 5 bits, '00' 10 bits -> 6 bits of padding.
  assert.deepEqual(decodeAll(decoder, huffmanValueBlock(hex("003f"))), [["x", "00"]]);
});

// ---------------------------------------------------------------------------------------------------------------
// Malformed blocks

const MALFORMED: Array<[string, Buffer, RegExp, number?]> = [
  ["integer truncated after its prefix", hex("ff"), /ends inside an integer/],
  ["integer truncated inside its continuation", hex("ff80"), /ends inside an integer/],
  ["integer with six continuation bytes", hex("ff 8080808080 00"), /too many continuation bytes/],
  ["integer above 2^31-1", hex("ff ffffffff 0f"), /exceeds 2\^31-1/],
  ["string length above 2^31-1", hex("00 7f ffffffff 0f"), /exceeds 2\^31-1/],
  ["index 0", hex("80"), /index 0/],
  ["indexed field past the static table when the dynamic table is empty", hex("be"), /index 62 is past/],
  ["indexed field far past the tables", hex("ff 8001"), /index 255 is past/],
  ["literal name index past the tables", hex("7e 0161"), /index 62 is past/],
  ["literal without indexing, name index past the tables", hex("0f 2f 0161"), /index 62 is past/],
  ["missing name string", hex("00"), /ends before a string literal/],
  ["missing value string", hex("40 0161"), /ends before a string literal/],
  ["name running past the end", hex("00 05 6162"), /runs past the end/],
  ["value running past the end", hex("00 0161 02 61"), /runs past the end/],
  ["Huffman value running past the end", hex("00 0161 85 1f"), /runs past the end/],
  // 'a' is 00011: one byte of padding on top of 3 bits is 11 bits of padding.
  ["Huffman padding longer than 7 bits", Buffer.from([0x00, 0x01, 0x61, 0x82, 0x1f, 0xff]), /invalid padding/],
  ["Huffman padding not all ones", Buffer.from([0x00, 0x01, 0x61, 0x81, 0x18]), /invalid padding/],
  // Eight 5-bit '0' symbols end on a byte boundary, so a further 0xff is a full byte of padding.
  ["Huffman padding of a whole byte of ones", huffmanValueBlock(Buffer.concat([huffmanEncode("00000000"), hex("ff")])), /invalid padding/],
  ["Huffman string that is only EOS", huffmanValueBlock(huffmanEncode("", [HUFFMAN_EOS])), /contains EOS/],
  ["Huffman EOS between symbols", huffmanValueBlock(huffmanEncode("a", [HUFFMAN_EOS, 0x61])), /contains EOS/],
  ["Huffman EOS at the end", huffmanValueBlock(huffmanEncode("abc", [HUFFMAN_EOS])), /contains EOS/],
  ["Huffman name with bad padding", Buffer.from([0x00, 0x81, 0x18, 0x01, 0x61]), /invalid padding/],
  ["table size update above the announced maximum", hex("3fe21f"), /4097 exceeds the announced 4096/],
  ["table size update above a small announced maximum", hex("3f02"), /33 exceeds the announced 32/, 32],
  ["table size update after a field", hex("82 20"), /after the start of the header block/],
  ["table size update after a literal field", hex("00 0161 0162 3f01"), /after the start of the header block/],
];

for (const [what, block, message, maxTableBytes] of MALFORMED) {
  test(`malformed: ${what} throws HpackError`, () => {
    // Proves each §5/§6 violation is reported as a COMPRESSION_ERROR, not as a crash or a silent misdecode.
    const decoder = new HpackDecoder({ maxTableBytes: maxTableBytes ?? 4096 });
    const seen: Field[] = [];
    assert.throws(() => decoder.decode(block, (n, v) => seen.push([n, v])), (e) => e instanceof HpackError && message.test(e.message));
  });
}

test("integers at the limits: 2^31-1 and five continuation bytes are accepted", () => {
  // Proves the cap rejects only what it should: 2^31-1 is an acceptable table size announcement.
  const decoder = new HpackDecoder({ maxTableBytes: 2 ** 31 - 1 });
  decodeAll(decoder, Buffer.from(int(0x20, 5, 2 ** 31 - 1)));
  assert.equal(decoder.dynamicTableCapacity, 2 ** 31 - 1);
  // Redundant zero continuation bytes are legal in §5.1 up to the cap.
  decodeAll(decoder, hex("3f 8180808000"));
  assert.equal(decoder.dynamicTableCapacity, 32);
});

test("a table size update of exactly the announced maximum is accepted", () => {
  // 0x3f e1 1f = 31 + 97 + 31 * 128 = 4096.
  const decoder = new HpackDecoder();
  decodeAll(decoder, hex("3fe11f"));
  assert.equal(decoder.dynamicTableCapacity, 4096);
});

// ---------------------------------------------------------------------------------------------------------------
// Dynamic table

/** A literal with incremental indexing and a new name. */
function indexedLiteral(name: string, value: string): number[] {
  return [0x40, ...int(0, 7, name.length), ...Buffer.from(name, "latin1"), ...int(0, 7, value.length), ...Buffer.from(value, "latin1")];
}

test("eviction drops the oldest entries and renumbers the rest", () => {
  // Proves §4.4 in a 100-byte table: each 34..35-byte entry pushes the oldest out once a third would not fit.
  const decoder = new HpackDecoder({ maxTableBytes: 100 });
  decodeAll(decoder, Buffer.from([...indexedLiteral("a", "1"), ...indexedLiteral("b", "2")]));
  assert.deepEqual(decoder.dynamicTableEntries(), [["b", "2"], ["a", "1"]]);
  assert.equal(decoder.dynamicTableBytes, 68);
  decodeAll(decoder, Buffer.from(indexedLiteral("c", "3")));
  assert.deepEqual(decoder.dynamicTableEntries(), [["c", "3"], ["b", "2"]]);
  assert.deepEqual(decodeAll(decoder, hex("be bf")), [["c", "3"], ["b", "2"]]);
  assert.throws(() => decoder.decode(hex("c0"), () => {}), HpackError);
});

test("an entry larger than the table empties it without being added", () => {
  // Proves §4.4's last paragraph: not an error, the table just ends up empty, and the field is still emitted.
  const decoder = new HpackDecoder({ maxTableBytes: 100 });
  decodeAll(decoder, Buffer.from(indexedLiteral("a", "1")));
  const big = "v".repeat(100);
  assert.deepEqual(decodeAll(decoder, Buffer.from(indexedLiteral("big", big))), [["big", big]]);
  assert.deepEqual(decoder.dynamicTableEntries(), []);
  assert.equal(decoder.dynamicTableBytes, 0);
  // An entry of exactly the table's size fits.
  decodeAll(decoder, Buffer.from(indexedLiteral("n", "v".repeat(100 - 32 - 1))));
  assert.equal(decoder.dynamicTableBytes, 100);
});

test("a new entry may take its name from the entry its insertion evicts", () => {
  // Proves §4.4's note: the name is resolved before eviction, so it survives its entry's removal.
  const decoder = new HpackDecoder({ maxTableBytes: 80 });
  decodeAll(decoder, Buffer.from(indexedLiteral("long-header-name", "x")));
  // 0x7e: incremental indexing with name index 62 (the entry just added), then a value too big to coexist with it.
  const value = "y".repeat(20);
  assert.deepEqual(decodeAll(decoder, Buffer.from([0x7e, ...int(0, 7, value.length), ...Buffer.from(value)])), [["long-header-name", value]]);
  assert.deepEqual(decoder.dynamicTableEntries(), [["long-header-name", value]]);
});

test("the dynamic table keeps order and indices across ring growth and wrap-around", () => {
  // Proves the ring under many inserts and evictions: every live entry is found at 62 + its age.
  const decoder = new HpackDecoder({ maxTableBytes: 4096 });
  const expected: Field[] = [];
  for (let i = 0; i < 500; i++) {
    const field: Field = [`h${i}`, "v".repeat(i % 50)];
    decodeAll(decoder, Buffer.from(indexedLiteral(...field)));
    expected.unshift(field);
    while (size(expected) > 4096) expected.pop();
    if (i % 37 === 0 || i === 499) {
      assert.deepEqual(decoder.dynamicTableEntries(), expected);
      const indices = expected.flatMap((_, k) => int(0x80, 7, 62 + k));
      assert.deepEqual(decodeAll(decoder, Buffer.from(indices)), expected);
    }
  }
  assert.equal(decoder.dynamicTableBytes, size(expected));
});

test("table size updates shrink, empty and regrow the table, and may come in pairs", () => {
  // Proves §6.3/§4.3: a smaller size evicts at once, 0 empties, and the new size then governs insertion.
  const decoder = new HpackDecoder();
  decodeAll(decoder, Buffer.from([...indexedLiteral("a", "1"), ...indexedLiteral("b", "2"), ...indexedLiteral("c", "3")]));
  assert.equal(decoder.dynamicTableBytes, 102);
  decodeAll(decoder, Buffer.from(int(0x20, 5, 70)));
  assert.deepEqual(decoder.dynamicTableEntries(), [["c", "3"], ["b", "2"]]);
  // Two updates at the start of one block (shrink to 0, then grow to 40), then a field using the new size.
  assert.deepEqual(decodeAll(decoder, Buffer.from([0x20, ...int(0x20, 5, 40), ...indexedLiteral("d", "4"), ...indexedLiteral("e", "5")])), [["d", "4"], ["e", "5"]]);
  assert.equal(decoder.dynamicTableCapacity, 40);
  assert.deepEqual(decoder.dynamicTableEntries(), [["e", "5"]]);
  // The update cannot resurrect evicted entries.
  assert.throws(() => decoder.decode(hex("3fe11f bf"), () => {}), HpackError);
});

// ---------------------------------------------------------------------------------------------------------------
// Header list limit

test("an over-limit header list throws HeaderListTooLargeError after keeping the table in sync", () => {
  // Proves the fields past the limit are withheld but still indexed, so the next block's references resolve.
  const decoder = new HpackDecoder({ maxHeaderListBytes: 100 });
  const fields: Field[] = [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]; // 34 bytes each in list terms
  const block = Buffer.from(fields.flatMap(([n, v]) => indexedLiteral(n, v)));
  const seen: Field[] = [];
  assert.throws(() => decoder.decode(block, (n, v) => seen.push([n, v])), HeaderListTooLargeError);
  assert.deepEqual(seen, fields.slice(0, 2));
  assert.deepEqual(decoder.dynamicTableEntries(), [...fields].reverse());
  // 0xbe is "d", 0xc1 is "a": both only correct if all four entries were inserted.
  assert.deepEqual(decodeAll(decoder, hex("be c1")), [["d", "4"], ["a", "1"]]);
});

test("a list exactly at the limit is accepted and a malformed tail still wins over the limit", () => {
  const decoder = new HpackDecoder({ maxHeaderListBytes: 68 });
  assert.deepEqual(decodeAll(decoder, Buffer.from([...indexedLiteral("a", "1"), ...indexedLiteral("b", "2")])), [["a", "1"], ["b", "2"]]);
  // Over the limit and then malformed: the connection-level error is the one reported.
  assert.throws(() => decoder.decode(hex("be bf be 80"), () => {}), HpackError);
});

// ---------------------------------------------------------------------------------------------------------------
// Encoder

test("encodeHeaderBlock emits the hand-computed bytes", () => {
  // Proves the three representation choices and the 4-bit name-index prefix (content-type is 31 = 0x0f 0x10).
  assert.deepEqual(encodeHeaderBlock([[":status", "200"]]), hex("88"));
  assert.deepEqual(encodeHeaderBlock([["accept-charset", ""]]), hex("8f"));
  assert.deepEqual(
    encodeHeaderBlock([[":status", "302"], ["content-type", "text/plain"], ["x-id", "7"], ["accept-encoding", "gzip, deflate"]]),
    Buffer.concat([hex("08 03"), Buffer.from("302"), hex("0f10 0a"), Buffer.from("text/plain"), hex("00 04"), Buffer.from("x-id"), hex("01"), Buffer.from("7"), hex("90")]),
  );
  // www-authenticate (61) needs the continuation byte of a 4-bit prefix: 0x0f then 61 - 15 = 46.
  assert.deepEqual(encodeHeaderBlock([["www-authenticate", "Basic"]]), Buffer.concat([hex("0f2e 05"), Buffer.from("Basic")]));
  assert.deepEqual(encodeHeaderBlock([]), Buffer.alloc(0));
});

test("encodeHeaderBlock output round-trips through the decoder and leaves its table empty", () => {
  // Proves lengths above 127 (multi-byte integers), tabs, empty values and static-name fields decode back exactly.
  const headers: Field[] = [
    [":status", "404"], [":status", "500"], ["content-length", "0"], ["server", "armada"], ["x-empty", ""],
    ["x-tab", "a\tb"], ["x-long", "z".repeat(5000)], ["x-" + "n".repeat(200), "~!#$%&'*+-.^_`|"], ["set-cookie", "a=b; Path=/"],
    ["cache-control", "no-store"], ["vary", "accept-encoding"],
  ];
  const decoder = new HpackDecoder({ maxHeaderListBytes: 1 << 20 });
  assert.deepEqual(decodeAll(decoder, encodeHeaderBlock(headers)), headers);
  assert.equal(decoder.dynamicTableBytes, 0);
});

test("encoded blocks are independent buffers that can be reused", () => {
  // Proves the encoder's scratch space is never handed out: a later call does not change an earlier block.
  const first = encodeHeaderBlock([["x-a", "1"]]);
  const copy = Buffer.from(first);
  encodeHeaderBlock([["x-b", "2".repeat(10_000)]]);
  encodeHeaderBlock([["x-c", "3"]]);
  assert.deepEqual(first, copy);
});

test("encodeHeaderBlock rejects invalid names and values with TypeError", () => {
  // Proves no byte that would corrupt the block or smuggle a header (CR, LF, NUL, non-latin1) gets through.
  const bad: Field[] = [
    ["Content-Type", "x"], ["x-A", "x"], ["x y", "x"], ["x\ny", "x"], ["", "x"], ["x\u00e9", "x"],
    ["x-v", "a\r\nb"], ["x-v", "a\0b"], ["x-v", "caf\u00e9"], ["x-v", "\u0100"], ["x-v", "\x7f"],
    ["content-type", "text/plain\n"], [":status", "2\r0"],
  ];
  for (const header of bad) {
    assert.throws(() => encodeHeaderBlock([[":status", "200"], header]), TypeError, JSON.stringify(header));
  }
  assert.doesNotThrow(() => encodeHeaderBlock([["x-v", "\ta b~"]]));
});

test("the decoder accepts a Uint8Array view that is not a Buffer", () => {
  const backing = new Uint8Array([0xff, 0xff, 0x82, 0x84, 0xff]);
  assert.deepEqual(decodeAll(new HpackDecoder(), backing.subarray(2, 4)), [[":method", "GET"], [":path", "/"]]);
});

// ---------------------------------------------------------------------------------------------------------------
// Interoperability with Node's HPACK (nghttp2), over raw HTTP/2 frames

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

test("Node's HTTP/2 server decodes our blocks to the same header list", async () => {
  // Proves our encoder's output is valid HPACK to an independent decoder, in order.
  const server = http2.createServer();
  server.on("sessionError", () => {});
  const received = new Promise<string[]>((resolve) => {
    server.on("stream", (stream: http2.ServerHttp2Stream, _headers: unknown, _flags: number, rawHeaders: string[]) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 204 }, { endStream: true });
      resolve(rawHeaders);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  const headers: Field[] = [
    [":method", "POST"], [":scheme", "https"], [":path", "/v1/kv/range"], [":authority", "armada.example:8443"],
    ["accept-encoding", "gzip, deflate"], ["content-type", "application/json"], ["user-agent", "armada-test/1"],
    ["x-request-id", "r".repeat(300)], ["x-tabbed", "a\tb"], ["x-empty", ""],
  ];
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("data", () => {});
  try {
    socket.write(Buffer.concat([PREFACE, frame(0x4, 0, 0), frame(0x1, 0x4 | 0x1, 1, encodeHeaderBlock(headers))]));
    const raw = await received;
    const pairs: Field[] = [];
    for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
    assert.deepEqual(pairs, headers);
  } finally {
    socket.destroy();
    server.close();
  }
});

test("our decoder reads Node's HTTP/2 client requests, Huffman and dynamic table included", async () => {
  // Proves the decoder against nghttp2's encoder, which indexes repeated headers and Huffman-codes strings.
  const blocks: Buffer[] = [];
  const want = 3;
  let done!: () => void;
  const allBlocks = new Promise<void>((resolve) => (done = resolve));
  const sockets: net.Socket[] = [];
  const rawServer = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.write(frame(0x4, 0, 0));
    let pending = Buffer.alloc(0);
    let prefaceSeen = false;
    let fragments: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE.length) return;
        assert.deepEqual(pending.subarray(0, PREFACE.length), PREFACE);
        pending = pending.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === 0x4 && (flags & 0x1) === 0) socket.write(frame(0x4, 0x1, 0));
        if (type !== 0x1 && type !== 0x9) continue;
        if (type === 0x1) {
          const padding = flags & 0x8 ? payload[0]! : 0;
          payload = payload.subarray(flags & 0x8 ? 1 : 0, payload.length - padding);
          if (flags & 0x20) payload = payload.subarray(5);
        }
        fragments.push(Buffer.from(payload));
        if (flags & 0x4) {
          blocks.push(Buffer.concat(fragments));
          fragments = [];
          if (blocks.length === want) done();
        }
      }
    });
  });
  rawServer.listen(0, "127.0.0.1");
  await once(rawServer, "listening");
  const { port } = rawServer.address() as net.AddressInfo;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on("error", () => {});
  const requests: Array<Record<string, string>> = [];
  try {
    for (let i = 0; i < want; i++) {
      const headers = {
        ":method": "GET", ":path": `/v1/kv/get?key=user/${i}`, "user-agent": "grpc-node-js/1.14.7 armada",
        authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature", "x-armada-table": "sessions", accept: "*/*",
      };
      requests.push(headers);
      const req = client.request(headers, { endStream: true });
      req.on("error", () => {});
    }
    await allBlocks;
    const decoder = new HpackDecoder();
    for (let i = 0; i < want; i++) {
      const decoded = new Map(decodeAll(decoder, blocks[i]!));
      const expected = new Map<string, string>([...Object.entries(requests[i]!), [":scheme", "http"], [":authority", `127.0.0.1:${port}`]]);
      assert.deepEqual(decoded, expected, `request ${i + 1}`);
    }
    // Without these entries the later blocks' indexed references would not have resolved to the right fields.
    const table = decoder.dynamicTableEntries();
    assert.ok(table.some(([n, v]) => n === "x-armada-table" && v === "sessions"), JSON.stringify(table));
    assert.ok(blocks[1]!.length < blocks[0]!.length, `second block (${blocks[1]!.length}B) reuses the first's (${blocks[0]!.length}B) entries`);
  } finally {
    client.destroy();
    for (const socket of sockets) socket.destroy();
    rawServer.close();
  }
});
