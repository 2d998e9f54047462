/**
 * Typed errors of the snapshot byte format.
 *
 * Every decoding failure is an {@link InvalidSnapshotStreamError}: the input is untrusted (it comes from a
 * leader over the network or from a backup file), so a bad byte must surface as a clear, typed error that
 * the API layer maps to INVALID_ARGUMENT (`invalid backup stream: <detail>`), never as a crash.
 */

/** Prefix of every message, kept stable so logs and tests can match it. */
const MESSAGE_PREFIX = "invalid snapshot stream: ";

/** The byte stream is not a valid Snappy-framed record stream (bad checksum, truncation, bad record). */
export class InvalidSnapshotStreamError extends Error {
  override readonly name = "InvalidSnapshotStreamError";
  /** Stable machine-readable code. */
  readonly code = "INVALID_SNAPSHOT_STREAM";
  /** What is wrong, without the common prefix (for `invalid backup stream: <detail>`). */
  readonly detail: string;
  /** Byte offset of the offending chunk (framed stream) or record (decompressed stream), when known. */
  readonly offset: number | undefined;

  constructor(detail: string, options: { offset?: number; cause?: unknown } = {}) {
    super(MESSAGE_PREFIX + detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.detail = detail;
    this.offset = options.offset;
  }
}
