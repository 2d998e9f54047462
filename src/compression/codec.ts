/**
 * The shape shared by the gRPC message codecs (gzip, deflate, snappy, zstd) and the typed errors they
 * raise. A codec works on whole messages: gRPC compresses each length-prefixed message on its own.
 */

/** One `grpc-encoding`: compresses and decompresses whole messages. */
export interface MessageCodec {
  /** The `grpc-encoding` name, lower case. */
  readonly name: string;
  /** Compresses on the calling thread; meant for small messages, where a thread hop costs more than the work. */
  compressSync(data: Uint8Array): Buffer;
  /** Compresses off the event loop where the codec library can (zlib, zstd). */
  compress(data: Uint8Array): Promise<Buffer>;
  /**
   * Decompresses `data`, producing at most `maxBytes` bytes: the work stops as soon as the output would
   * pass the limit, so a small "zip bomb" costs little memory or time.
   * @throws DecompressedTooLargeError when the output would exceed `maxBytes`.
   * @throws CorruptCompressedDataError when `data` is not valid data of this encoding.
   */
  decompress(data: Uint8Array, maxBytes: number): Promise<Buffer>;
}

/** The decompressed message would be larger than the receiver accepts. */
export class DecompressedTooLargeError extends Error {
  override readonly name = "DecompressedTooLargeError";
  constructor(readonly encoding: string, readonly maxBytes: number) {
    super(`${encoding} message decompresses to more than ${maxBytes} bytes`);
  }
}

/** The bytes are not valid compressed data of the encoding (truncated, bad checksum, not that format). */
export class CorruptCompressedDataError extends Error {
  override readonly name = "CorruptCompressedDataError";
  constructor(readonly encoding: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`invalid ${encoding} data: ${detail}`, options);
  }
}

/** Concatenates decompressed pieces, throwing as soon as their total passes `maxBytes`. */
export class BoundedOutput {
  readonly #pieces: Uint8Array[] = [];
  #length = 0;

  constructor(readonly encoding: string, readonly maxBytes: number) {}

  /** Keeps a copy of `piece` (decoders may reuse their buffers). */
  add(piece: Uint8Array): void {
    this.#length += piece.length;
    if (this.#length > this.maxBytes) throw new DecompressedTooLargeError(this.encoding, this.maxBytes);
    this.#pieces.push(Buffer.from(piece));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#pieces, this.#length);
  }
}
