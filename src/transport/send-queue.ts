/**
 * The bytes waiting to be sent to one peer, already encoded as complete RAFT_BATCH frames.
 *
 * Messages are encoded once, when queued, straight into one growable buffer: flushing is then a checksum per
 * frame and a single copy into the buffer handed to the socket, so everything queued during one event-loop turn
 * leaves in one write. A frame is closed and a new one opened whenever the next message would push it past
 * FRAME_PAYLOAD_BYTES_MAX.
 */
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { FRAME_HEADER_BYTES, FrameKind, frameChecksum, writeFrameHeader } from "./frame.js";
import { FRAME_PAYLOAD_BYTES_MAX, SEND_BUFFER_RETAIN_BYTES_MAX } from "./limits.js";
import { MESSAGE_CODEC_VERSION, encodeGroupMessage, type GroupMessage } from "./message-codec.js";

/** Frame header plus the codec version byte that starts every RAFT_BATCH payload. */
const FRAME_OPENING_BYTES = FRAME_HEADER_BYTES + 1;

/** Encoded messages for one peer, bounded by the caller's byte limit. */
export class SendQueue {
  readonly #writer = new ByteWriter();
  /** Offset of the open frame's header, or -1 when no frame is open. */
  #frameStart = -1;
  #messages = 0;
  readonly #framePayloadBytesMax: number;

  /** `framePayloadBytesMax` is lowered only by tests, to exercise frame splitting without 64 MiB of data. */
  constructor(framePayloadBytesMax: number = FRAME_PAYLOAD_BYTES_MAX) {
    this.#framePayloadBytesMax = framePayloadBytesMax;
  }

  /** Bytes queued, frame headers included. */
  get bytes(): number {
    return this.#writer.length;
  }

  /** Messages queued. */
  get messages(): number {
    return this.#messages;
  }

  /**
   * Encodes and queues `item` unless that would take the queue beyond `limitBytes`. An empty queue always takes
   * one message, so a message larger than the limit is still sent rather than starved forever.
   * @returns false when the message was not queued because of the limit.
   * @throws TransportProtocolError when the message cannot be encoded or exceeds the frame size limit.
   */
  tryAppend(item: GroupMessage, limitBytes: number): boolean {
    const writer = this.#writer;
    const before = writer.length;
    const openedFrame = this.#frameStart < 0;
    if (openedFrame) this.#openFrame();
    const messageStart = writer.length;
    try {
      encodeGroupMessage(writer, item);
    } catch (error) {
      this.#rollback(before, openedFrame);
      throw error;
    }
    const messageBytes = writer.length - messageStart;
    if (messageBytes > this.#framePayloadBytesMax - 1) {
      this.#rollback(before, openedFrame);
      throw new TransportProtocolError(
        `Cannot send a ${item.message.type} message of ${messageBytes} bytes: at most ${this.#framePayloadBytesMax - 1} fit in a frame`,
      );
    }
    if (this.#messages > 0 && writer.length > limitBytes) {
      this.#rollback(before, openedFrame);
      return false;
    }
    if (messageStart + messageBytes - (this.#frameStart + FRAME_HEADER_BYTES) > this.#framePayloadBytesMax) {
      this.#moveToNewFrame(messageStart, messageBytes);
    }
    this.#messages++;
    return true;
  }

  /** Closes the open frame and returns every queued frame in one buffer the caller owns, or undefined if empty. */
  take(): Buffer | undefined {
    if (this.#messages === 0) return undefined;
    this.#sealFrame(this.#writer.length);
    const out = this.#writer.copyOut();
    this.clear();
    return out;
  }

  /** Drops everything queued. */
  clear(): void {
    this.#writer.reset(SEND_BUFFER_RETAIN_BYTES_MAX);
    this.#frameStart = -1;
    this.#messages = 0;
  }

  #openFrame(): void {
    this.#frameStart = this.#writer.length;
    this.#writer.skip(FRAME_HEADER_BYTES);
    this.#writer.u8(MESSAGE_CODEC_VERSION);
  }

  #rollback(length: number, openedFrame: boolean): void {
    this.#writer.truncate(length);
    if (openedFrame) this.#frameStart = -1;
  }

  /** The message at [start, start + bytes) overflowed the open frame: close the frame before it, open one for it. */
  #moveToNewFrame(start: number, bytes: number): void {
    this.#writer.move(start + FRAME_OPENING_BYTES, start, start + bytes);
    this.#sealFrame(start);
    this.#frameStart = start;
    this.#writer.setU8At(start + FRAME_HEADER_BYTES, MESSAGE_CODEC_VERSION);
  }

  /** Fills in the header of the open frame, which ends at `end`. */
  #sealFrame(end: number): void {
    const start = this.#frameStart;
    const payloadStart = start + FRAME_HEADER_BYTES;
    const checksum = frameChecksum(FrameKind.RAFT_BATCH, this.#writer.view(payloadStart, end));
    writeFrameHeader(this.#writer.view(), start, FrameKind.RAFT_BATCH, end - payloadStart, checksum);
    this.#frameStart = -1;
  }
}
