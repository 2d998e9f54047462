/**
 * Framing of the transport's byte stream.
 *
 * Each side of a connection first writes the 4-byte MAGIC, then frames:
 *
 *   u32 BE payload length | u32 BE CRC-32 of (kind byte ‖ payload) | u8 kind | payload
 *
 * The length is checked against the receiver's current limit before any payload is buffered, and the checksum
 * catches corruption that TCP's weak checksum lets through (and garbage from something that is not a peer).
 */
import { crc32 } from "node:zlib";
import { TransportProtocolError } from "./errors.js";

/** First bytes of every transport stream; the non-ASCII first byte makes text protocols (HTTP, ...) fail at once. */
export const MAGIC: Buffer = Buffer.from([0xa7, 0x41, 0x52, 0x54]);
/** Length, checksum and kind. */
export const FRAME_HEADER_BYTES = 9;

/** Frame kinds. Numbers are part of the protocol: never reuse or renumber one. */
export const FrameKind = {
  /** Dialer → acceptor: who I am and what this connection is for (handshake.ts). */
  HELLO: 1,
  /** Acceptor → dialer: handshake accepted. */
  ACCEPT: 2,
  /** Acceptor → dialer: handshake refused, with a reason; the acceptor closes the connection. */
  REJECT: 3,
  /** Dialer → acceptor: Raft messages (message-codec.ts). */
  RAFT_BATCH: 4,
  /** Dialer → acceptor: keepalive; answered by PONG. Empty payload. */
  PING: 5,
  /** Acceptor → dialer: keepalive answer. Empty payload. */
  PONG: 6,
  /** Snapshot sender → receiver: group id and the snapshot header (snapshot-frames.ts). */
  SNAPSHOT_BEGIN: 7,
  /** Snapshot sender → receiver: raw snapshot bytes. */
  SNAPSHOT_CHUNK: 8,
  /** Snapshot sender → receiver: the end of the stream and its total size. */
  SNAPSHOT_END: 9,
  /** Snapshot sender → receiver: the sender failed; the reason follows. */
  SNAPSHOT_ABORT: 10,
  /** Snapshot receiver → sender: success or failure of the install, with a reason. */
  SNAPSHOT_RESULT: 11,
  /** Dialer → acceptor: a request for the acceptor's request handler (request-frames.ts). */
  REQUEST: 12,
  /** Acceptor → dialer: the answer to a REQUEST. */
  RESPONSE: 13,
} as const;

/** One of the FrameKind values. */
export type FrameKindValue = (typeof FrameKind)[keyof typeof FrameKind];
const FRAME_KIND_MAX: number = FrameKind.RESPONSE;

/** A decoded frame; `payload` may be a view into a network buffer. */
export interface Frame {
  readonly kind: FrameKindValue;
  readonly payload: Buffer;
}

/** CRC-32 of the kind byte, precomputed so that a frame's checksum is one pass over its payload. */
const KIND_CRC_SEEDS: readonly number[] = Array.from({ length: FRAME_KIND_MAX + 1 }, (_, kind) => crc32(Uint8Array.of(kind)));

/** Checksum of a frame; `parts` together form the payload. */
export function frameChecksum(kind: FrameKindValue, ...parts: Uint8Array[]): number {
  let crc = KIND_CRC_SEEDS[kind]!;
  for (const part of parts) crc = crc32(part, crc);
  return crc;
}

/** Writes a frame header for a payload of `payloadLength` bytes with checksum `checksum` into `target` at `offset`. */
export function writeFrameHeader(target: Buffer, offset: number, kind: FrameKindValue, payloadLength: number, checksum: number): void {
  target.writeUInt32BE(payloadLength, offset);
  target.writeUInt32BE(checksum, offset + 4);
  target[offset + 8] = kind;
}

/** The header of a frame whose payload is `parts` (sent separately, so large payloads are not copied). */
export function frameHeader(kind: FrameKindValue, ...parts: Uint8Array[]): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  writeFrameHeader(header, 0, kind, length, frameChecksum(kind, ...parts));
  return header;
}

/** A whole frame in one buffer (for small control frames). */
export function encodeFrame(kind: FrameKindValue, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, kind, payload.length, frameChecksum(kind, payload));
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Require MAGIC before the first frame. */
  readonly expectMagic: boolean;
  /** Frames with a larger payload are a protocol error (can be raised after the handshake). */
  readonly maxPayloadBytes: number;
}

interface PendingHeader {
  readonly length: number;
  readonly checksum: number;
  readonly kind: FrameKindValue;
}

/**
 * Splits a byte stream into frames. Feed it with push(), then call next() until it returns undefined.
 * It buffers at most one incomplete frame plus whatever the last push() delivered beyond it.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  /** Read position in #chunks[0]. */
  #offset = 0;
  #buffered = 0;
  #magicPending: boolean;
  #header: PendingHeader | undefined;
  maxPayloadBytes: number;

  constructor(options: FrameDecoderOptions) {
    this.#magicPending = options.expectMagic;
    this.maxPayloadBytes = options.maxPayloadBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds received bytes. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed.
   * @throws TransportProtocolError on bad magic, an unknown kind, an oversized length or a checksum mismatch.
   */
  next(): Frame | undefined {
    if (this.#magicPending) {
      if (this.#buffered < MAGIC.length) return undefined;
      const magic = this.#take(MAGIC.length);
      if (!magic.equals(MAGIC)) throw new TransportProtocolError(`Bad magic bytes ${hex(magic)}, expected ${hex(MAGIC)}`);
      this.#magicPending = false;
    }
    if (this.#header === undefined) {
      if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
      this.#header = this.#parseHeader(this.#take(FRAME_HEADER_BYTES));
    }
    const { length, checksum, kind } = this.#header;
    if (this.#buffered < length) return undefined;
    this.#header = undefined;
    const payload = this.#take(length);
    const actual = frameChecksum(kind, payload);
    if (actual !== checksum) {
      throw new TransportProtocolError(`Frame checksum mismatch (kind ${kind}, ${length} bytes): got ${actual}, header says ${checksum}`);
    }
    return { kind, payload };
  }

  #parseHeader(header: Buffer): PendingHeader {
    const length = header.readUInt32BE(0);
    const checksum = header.readUInt32BE(4);
    const kind = header[8]!;
    if (kind < 1 || kind > FRAME_KIND_MAX) throw new TransportProtocolError(`Unknown frame kind ${kind}`);
    if (length > this.maxPayloadBytes) {
      throw new TransportProtocolError(`Frame of kind ${kind} is ${length} bytes, at most ${this.maxPayloadBytes} allowed here`);
    }
    return { length, checksum, kind: kind as FrameKindValue };
  }

  /** Removes `count` buffered bytes (count <= #buffered); a view when they lie in one chunk, else a copy. */
  #take(count: number): Buffer {
    this.#buffered -= count;
    const first = this.#chunks[0];
    if (count === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length - this.#offset >= count) {
      const view = first.subarray(this.#offset, this.#offset + count);
      this.#offset += count;
      if (this.#offset === first.length) this.#dropFirst();
      return view;
    }
    const out = Buffer.allocUnsafe(count);
    let written = 0;
    while (written < count) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(count - written, chunk.length - this.#offset);
      chunk.copy(out, written, this.#offset, this.#offset + n);
      written += n;
      this.#offset += n;
      if (this.#offset === chunk.length) this.#dropFirst();
    }
    return out;
  }

  #dropFirst(): void {
    this.#chunks.shift();
    this.#offset = 0;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").replace(/(..)(?=.)/g, "$1 ");
}
