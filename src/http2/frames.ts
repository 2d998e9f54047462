/**
 * HTTP/2 framing (RFC 9113 §4 and §6): the constants a server needs and a reader that cuts a byte stream
 * into frames. Nothing here knows about streams or state; connection.ts does.
 */

/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER_BYTES = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value, and the largest frame this server accepts. */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
/** SETTINGS_INITIAL_WINDOW_SIZE's initial value, and the initial connection window. */
export const DEFAULT_WINDOW_BYTES = 65_535;
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;

export const enum FrameType {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
}

export const enum Flag {
  EndStream = 0x1,
  /** ACK of SETTINGS and PING: the same bit as END_STREAM, which those frames do not have. */
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values
  Ack = 0x1,
  EndHeaders = 0x4,
  Padded = 0x8,
  Priority = 0x20,
}

/** Error codes (RFC 9113 §7). */
export const enum ErrorCode {
  NoError = 0x0,
  ProtocolError = 0x1,
  InternalError = 0x2,
  FlowControlError = 0x3,
  SettingsTimeout = 0x4,
  StreamClosed = 0x5,
  FrameSizeError = 0x6,
  RefusedStream = 0x7,
  Cancel = 0x8,
  CompressionError = 0x9,
  ConnectError = 0xa,
  EnhanceYourCalm = 0xb,
  InadequateSecurity = 0xc,
  Http11Required = 0xd,
}

export const enum Setting {
  HeaderTableSize = 0x1,
  EnablePush = 0x2,
  MaxConcurrentStreams = 0x3,
  InitialWindowSize = 0x4,
  MaxFrameSize = 0x5,
  MaxHeaderListSize = 0x6,
}

/** A protocol violation that ends the connection with GOAWAY(code). */
export class ConnectionError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** Writes a frame header into `target` at `offset`. */
export function writeFrameHeader(target: Buffer, offset: number, length: number, type: FrameType, flags: number, streamId: number): void {
  target[offset] = length >>> 16;
  target[offset + 1] = (length >>> 8) & 0xff;
  target[offset + 2] = length & 0xff;
  target[offset + 3] = type;
  target[offset + 4] = flags;
  target.writeUInt32BE(streamId, offset + 5);
}

/** One whole frame with its payload (a view into the reader's buffer, valid until the next push). */
export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Cuts the bytes of a connection into frames. Partial frames are kept until the rest arrives; a frame
 * longer than `maxFrameBytes` is refused before its payload is buffered.
 */
export class FrameReader {
  #pending: Buffer | null = null;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Calls `onFrame` for every complete frame in what has arrived so far.
   * @throws ConnectionError(FRAME_SIZE_ERROR) for a frame over the limit.
   */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    let data = chunk;
    if (this.#pending !== null) {
      data = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let offset = 0;
    const end = data.length;
    while (end - offset >= FRAME_HEADER_BYTES) {
      const length = (data[offset]! << 16) | (data[offset + 1]! << 8) | data[offset + 2]!;
      if (length > this.maxFrameBytes) {
        throw new ConnectionError(ErrorCode.FrameSizeError, `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (end - offset < FRAME_HEADER_BYTES + length) break;
      const type = data[offset + 3]!;
      const flags = data[offset + 4]!;
      const streamId = data.readUInt32BE(offset + 5) & 0x7fffffff;
      const start = offset + FRAME_HEADER_BYTES;
      offset = start + length;
      onFrame(type, flags, streamId, data.subarray(start, offset));
    }
    // A partial frame is copied so that the socket's chunk is not kept alive by a small tail.
    if (offset < end) this.#pending = Buffer.from(data.subarray(offset));
  }
}
