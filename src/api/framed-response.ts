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
  constructor(readonly frame: Buffer) {}

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
