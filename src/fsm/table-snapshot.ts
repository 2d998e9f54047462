/**
 * Producing a table snapshot (spec §9.4): one PUT record per user key in ascending order, then a DUMMY
 * trailer carrying the applied index of the same view, all Snappy-framed.
 */
import { pb } from "../proto/index.js";
import { SnappyFrameEncoder, chunkBytes, encodeCommandRecord } from "../snapshot/index.js";
import { SNAPSHOT_YIELD_BYTES_MAX } from "./constants.js";
import { StateMachineClosedError } from "./errors.js";
import { toKeyValue } from "./response-size.js";
import type { ReadSnapshot } from "./store.js";
import { TableReader } from "./view.js";

const CommandType = pb.Command.CommandType;
/** The scan start that includes every user key, the empty key too. */
const FIRST_KEY = new Uint8Array(0);

/**
 * Which index the trailer carries: "applied" (the view's applied index: what a leader serves to followers
 * and writes into backups, spec §9.4) or "leader" (the stored leader-cluster index: what a replica of the
 * same cluster must inherit so a follower cluster's node keeps its replication position).
 */
export type SnapshotTrailer = "applied" | "leader";

/** A consistent snapshot of a table, streamed lazily. */
export interface SnapshotStream {
  /** Applied index of the view (also carried by the trailer). */
  readonly index: number;
  /** Leader-cluster index stored with the view. */
  readonly leaderIndex: number;
  /**
   * The Snappy-framed record stream, in pieces of at most 1 MiB (ready for `SnapshotChunk.data`). Can be
   * iterated once; stopping early releases the view.
   */
  chunks(): AsyncIterable<Uint8Array>;
  /** Releases the view without (or before finishing) reading it (idempotent). */
  close(): void;
}

/** Streams the contents of one read view; owns the view and releases it when done or closed. */
export class TableSnapshotStream implements SnapshotStream {
  readonly #snapshot: ReadSnapshot;
  readonly #table: Uint8Array;
  readonly #onDone: (stream: TableSnapshotStream) => void;
  #started = false;
  #closed = false;
  #revoked = false;

  readonly #trailer: SnapshotTrailer;

  constructor(snapshot: ReadSnapshot, table: Uint8Array, onDone: (stream: TableSnapshotStream) => void, trailer: SnapshotTrailer = "applied") {
    this.#snapshot = snapshot;
    this.#table = table;
    this.#onDone = onDone;
    this.#trailer = trailer;
  }

  get index(): number {
    return this.#snapshot.system.index;
  }

  /** The leader-cluster index stored with the view (0 on leader clusters). */
  get leaderIndex(): number {
    return this.#snapshot.system.leaderIndex;
  }

  chunks(): AsyncIterable<Uint8Array> {
    if (this.#started) throw new Error("a snapshot stream can be read only once");
    if (this.#closed) throw new StateMachineClosedError("snapshot stream already closed");
    this.#started = true;
    return chunkBytes(this.#frames(), SNAPSHOT_YIELD_BYTES_MAX);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#snapshot.release();
    this.#onDone(this);
  }

  /** Called by the owner on shutdown: an unfinished stream fails instead of ending short. */
  revoke(): void {
    this.#revoked = true;
    this.close();
  }

  /** The framed stream, produced one record at a time so memory stays bounded by one value plus a frame. */
  *#frames(): Generator<Uint8Array, void, undefined> {
    try {
      this.#checkOpen();
      const encoder = new SnappyFrameEncoder();
      const reader = new TableReader(this.#snapshot.data, this.#snapshot.txn);
      for (const { key, value } of reader.scan(FIRST_KEY, null)) {
        this.#checkOpen();
        yield* encoder.write(encodeCommandRecord({ table: this.#table, type: CommandType.PUT, kv: toKeyValue(key, value) }));
      }
      this.#checkOpen();
      yield* encoder.write(encodeCommandRecord({ table: this.#table, type: CommandType.DUMMY, leaderIndex: this.#trailer === "applied" ? this.index : this.leaderIndex }));
      yield* encoder.end();
    } finally {
      this.close();
    }
  }

  #checkOpen(): void {
    if (this.#revoked) throw new StateMachineClosedError("state machine closed while a snapshot was being read");
    if (this.#closed) throw new StateMachineClosedError("snapshot stream closed while being read");
  }
}
