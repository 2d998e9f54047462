import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { crc32c, maskCrc, maskedCrc32c } from "./crc32c.js";

test("crc32c matches the standard check value", () => {
  // Proves the polynomial and reflection are right: CRC-32C("123456789") is 0xE3069283 by definition.
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("crc32c matches published test vectors of RFC 3720", () => {
  // Proves the slicing-by-8 path on 32-byte inputs against iSCSI's published CRC-32C vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test("crc32c can be continued over pieces", () => {
  // Proves the `crc` argument continues a checksum, so split input gives the same result at any split point.
  const data = randomBytes(1000);
  for (const split of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(data.subarray(split), crc32c(data.subarray(0, split))), crc32c(data));
  }
});

test("maskedCrc32c rotates right by 15 and adds 0xA282EAD8", () => {
  // Proves the masking formula of the Snappy framing format on worked values.
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0x00008000), (1 + 0xa282ead8) >>> 0);
  assert.equal(maskCrc(0xe3069283), ((((0xe3069283 >>> 15) | (0xe3069283 << 17)) >>> 0) + 0xa282ead8) >>> 0);
  assert.equal(maskedCrc32c(Buffer.from("123456789")), maskCrc(0xe3069283));
});
