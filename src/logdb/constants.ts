/**
 * Named limits and format constants of the logdb. Units are in the names. Changing a format constant
 * (record header, type codes, version) makes existing WAL directories unreadable: bump FORMAT_VERSION.
 */

const MIB = 1024 * 1024;

/** A segment is rotated once it holds at least this many bytes (it may exceed it by one save's records). */
export const SEGMENT_BYTES_TARGET_DEFAULT = 64 * MIB;
/** Smallest segment target accepted (tests use small segments to exercise rotation). */
export const SEGMENT_BYTES_TARGET_MIN = 1024;
/**
 * Largest record body (everything after the 8-byte header). Larger entry batches are split into several
 * records; a single entry must fit in one (the Raft core's ENTRY_BYTES_MAX_DEFAULT is 4 MiB).
 */
export const RECORD_BODY_BYTES_MAX = 8 * MIB;
/**
 * At most this many bytes are written between two fdatasyncs of one file. This bounds how much of a
 * segment's tail can be unsynced, hence torn, at a crash: recovery refuses to truncate more than this.
 */
export const UNSYNCED_BYTES_MAX = 16 * MIB;
/**
 * Bytes that may wait for the next write while one is in flight. Beyond this, save() refuses new work
 * (LogDBOverloadedError, nothing applied) until the disk catches up, instead of growing without bound.
 */
export const PENDING_BYTES_MAX = 256 * MIB;
/** Default bound on the bytes of recent entries kept in memory for all groups together. */
export const CACHE_BYTES_MAX_DEFAULT = 64 * MIB;
/** Largest snapshot descriptor (the engine's small reference to its snapshot files). */
export const DESCRIPTOR_BYTES_MAX = 64 * 1024;
/** Largest number of voters plus learners in a stored membership. */
export const CONF_MEMBERS_MAX = 4096;

/** Version written in every segment's first record (2: batches end with commit records). */
export const FORMAT_VERSION = 2;
/** Record header: body length (u32 LE) then checksum (u32 LE) of the length bytes and the body. */
export const RECORD_HEADER_BYTES = 8;
/** Every body starts with the record type (u8) and the group id (u64 LE). */
export const BODY_PREFIX_BYTES = 9;
/** Segment files are named by their number, zero-padded so names sort like numbers. */
export const SEGMENT_NAME_DIGITS = 16;
export const SEGMENT_FILE_SUFFIX = '.wal';
/** Created exclusively while a LogDB has the directory open; holds the owner's pid. */
export const LOCK_FILE_NAME = 'LOCK';
