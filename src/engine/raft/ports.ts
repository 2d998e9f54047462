/**
 * What the multi-Raft engine needs from the durable log (src/logdb) and the peer transport
 * (src/transport), stated as small interfaces so the engine can be tested with fakes.
 */
import type { Entry, HardState, Message, RaftStorage, Snapshot } from "../../raft/index.js";

/** Everything one group's Ready asks to persist; `snapshot` is one received from the leader (it replaces the log). */
export interface GroupUpdate {
  readonly groupId: number;
  readonly hardState?: HardState;
  readonly entries?: readonly Entry[];
  readonly snapshot?: Snapshot;
}

/** The node's write-ahead log for all groups. */
export interface LogStorePort {
  /**
   * Persists all updates with one sync (or none when `sync` is false: only commit indices changed; default true);
   * rejects (and refuses later calls) if the disk fails.
   */
  save(updates: readonly GroupUpdate[], sync?: boolean): Promise<void>;
  /** Whether the group has any persisted state (false → bootstrap it). */
  hasGroup(groupId: number): boolean;
  /** The group's log as the Raft core reads it. */
  storage(groupId: number): RaftStorage;
  /** Records a snapshot the local state machine took at its applied index (entries stay until compact). */
  createSnapshot(groupId: number, snapshot: Snapshot): Promise<void>;
  /** Drops entries up to `index` (they are covered by a snapshot). */
  compact(groupId: number, index: number): Promise<void>;
  /** Forgets the group entirely (its table was deleted). */
  removeGroup(groupId: number): Promise<void>;
}

/** A Raft message addressed within a group. */
export interface GroupMessage {
  readonly groupId: number;
  readonly message: Message;
}

/** The connections to the other nodes of the cluster. */
export interface NetworkPort {
  /** Sends without blocking; messages to unreachable peers are dropped (Raft retries). */
  send(batch: readonly GroupMessage[]): void;
  /** Streams a table snapshot to `to`; resolves once the receiver installed it. */
  sendSnapshot(to: number, groupId: number, header: Uint8Array, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * A request/response exchange with a peer (proposal forwarding, node info). A failure whose `reason` is
   * `notConnected`, `tooManyRequests` or `remoteError` means the peer's handler did not act on the request;
   * any other failure (timeout, connection lost) leaves that unknown.
   */
  request(to: number, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Which peers are connected now. */
  connectedPeers(): ReadonlySet<number>;
}

/** Callbacks the network delivers to the engine. */
export interface NetworkHandlers {
  onMessages(batch: readonly GroupMessage[]): void;
  onSnapshot(from: number, groupId: number, header: Uint8Array, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  onRequest(from: number, payload: Uint8Array): Promise<Uint8Array>;
}
