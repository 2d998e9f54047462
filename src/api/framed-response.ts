/**
 * A response message its handler serialized itself, already in the gRPC message frame (a compressed-flag
 * byte, a 4-byte big-endian length, the message). These bytes are sent as they are: by the fast unary
 * path (bind.ts), and by grpc-js for streams and other calls (server/grpc-compression.ts patches its
 * `serializeMessage`, which otherwise copies every message into a new frame). A call whose answer must be
 * compressed compresses the message part instead.
 *
 * Why: the hottest response, a Range, costs protobufjs a writer, an operation object per field and a
 * LongBits per 64-bit field, then a copy into the frame; encoded by hand into one buffer it costs none of
 * that (docs/performance.md, change 29).
 */
export const GRPC_FRAME_HEADER_BYTES = 5;

export class FramedResponse {
  #frame: Buffer | null;
  #parts: readonly Buffer[] | null;

  /** `frame`: the whole frame, or the pieces a large message was written in (the first starts with the frame header). */
  constructor(frame: Buffer | readonly Buffer[]) {
    if (Buffer.isBuffer(frame)) {
      this.#frame = frame;
      this.#parts = null;
    } else {
      this.#frame = frame.length === 1 ? frame[0]! : null;
      this.#parts = frame;
    }
  }

  /** The whole frame in one buffer (pieces are joined on first use). */
  get frame(): Buffer {
    return (this.#frame ??= Buffer.concat(this.#parts!));
  }

  /** The frame's bytes in order, as written (one buffer for most responses). */
  get parts(): readonly Buffer[] {
    return (this.#parts ??= [this.#frame!]);
  }

  /** Bytes of the whole frame. */
  get length(): number {
    if (this.#parts === null) return this.#frame!.length;
    let length = 0;
    for (const part of this.#parts) length += part.length;
    return length;
  }

  /** `message` (serialized, unprefixed) in a frame of its own; `compressed` sets the frame's flag byte. */
  static of(message: Uint8Array, compressed = false): FramedResponse {
    const framed = FramedResponse.allocate(message.length);
    const frame = framed.frame;
    if (compressed) frame[0] = 1;
    frame.set(message, GRPC_FRAME_HEADER_BYTES);
    return framed;
  }

  /** A frame of `messageBytes` message bytes, its header written; the caller fills the rest. */
  static allocate(messageBytes: number): FramedResponse {
    const frame = Buffer.allocUnsafe(GRPC_FRAME_HEADER_BYTES + messageBytes);
    frame[0] = 0;
    frame.writeUInt32BE(messageBytes, 1);
    return new FramedResponse(frame);
  }

  /** The serialized message, without the frame header. */
  get message(): Buffer {
    return this.frame.subarray(GRPC_FRAME_HEADER_BYTES);
  }
}
