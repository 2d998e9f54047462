/**
 * Named bounds and default timings of the peer transport. Byte limits are checked at the edge (decoding a frame,
 * admitting a message to a send queue) so that a misbehaving or malicious peer can never make this node allocate
 * more than these sizes.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

/** Largest frame payload accepted or produced. A single Raft message (e.g. a snapshot descriptor) must fit in one frame. */
export const FRAME_PAYLOAD_BYTES_MAX = 64 * MIB;
/** Before the handshake completes only tiny frames are accepted, so an unauthenticated socket cannot make us buffer 64 MiB. */
export const HANDSHAKE_FRAME_BYTES_MAX = 4 * KIB;
/** Longest cluster name carried in a handshake (the spec's `--memberlist.cluster-name`). */
export const CLUSTER_NAME_BYTES_MAX = 256;
/** Longest human-readable reason in a handshake rejection or a snapshot result. */
export const REASON_BYTES_MAX = 1 * KIB;
/** Most voters or learners a snapshot's ConfState may list. */
export const CONF_STATE_MEMBERS_MAX = 1024;

/**
 * Send queue bound applied when `maxSendQueueBytes` is 0 ("unlimited" in the spec): every queue has a bound,
 * this one is simply large enough never to matter for a healthy peer.
 */
export const SEND_QUEUE_BYTES_UNLIMITED = 256 * MIB;
/** Receive queue bound applied when `maxRecvQueueBytes` is 0 ("unlimited"), for the same reason. */
export const RECV_QUEUE_BYTES_UNLIMITED = 256 * MIB;
/**
 * While a peer is not connected its queue holds at most this much: Raft retries everything, so piling up stale
 * heartbeats and appends for a dead peer only floods it when it comes back.
 */
export const DISCONNECTED_SEND_QUEUE_BYTES_MAX = 4 * MIB;
/** A send queue's scratch buffer above this size is released after a flush instead of being kept for reuse. */
export const SEND_BUFFER_RETAIN_BYTES_MAX = 1 * MIB;

/** Largest snapshot header (the engine's descriptor of the snapshot that follows). */
export const SNAPSHOT_HEADER_BYTES_MAX = 1 * MIB;
/** Snapshot chunks larger than this are split into several frames. */
export const SNAPSHOT_CHUNK_FRAME_BYTES_MAX = 1 * MIB;
/** The receiver stops reading a snapshot socket while this many bytes wait for the consumer. */
export const SNAPSHOT_RECV_BUFFER_BYTES_MAX = 4 * MIB;
/** Concurrent incoming snapshot transfers; more are refused (the leader retries later). */
export const SNAPSHOT_RECEIVES_MAX = 4;
/** Requests awaiting an answer per peer and direction; more are refused at once (tooManyRequests / a "busy" answer). */
export const REQUESTS_IN_FLIGHT_MAX = 1024;
/** Inbound connections, handshaking or established, the listener holds at once. */
export const INBOUND_CONNECTIONS_MAX = 1024;

/** Default timings; tests shorten them through `PeerTransportOptions.timing`. */
export interface TransportTiming {
  /** First reconnection delay. */
  readonly backoffBaseMs: number;
  /** Reconnection delays double up to this. */
  readonly backoffMaxMs: number;
  /** A connection that stayed up this long resets the backoff to its base. */
  readonly backoffResetAfterMs: number;
  /** Connecting plus exchanging handshakes must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** The dialing side pings this often; the accepting side answers. */
  readonly keepaliveIntervalMs: number;
  /** A connection on which nothing arrived for this long is considered dead and closed. */
  readonly peerSilenceTimeoutMs: number;
  /** A snapshot transfer with no progress in either direction for this long fails. */
  readonly snapshotIdleTimeoutMs: number;
  /** Repeated identical warnings about one peer are logged at most this often. */
  readonly logRepeatIntervalMs: number;
}

/** Production timings: backoff 50 ms → 2 s (spec-sized for `--raft.rtt` = 50 ms), keepalive 1 s. */
export const TIMING_DEFAULTS: TransportTiming = {
  backoffBaseMs: 50,
  backoffMaxMs: 2_000,
  backoffResetAfterMs: 1_000,
  handshakeTimeoutMs: 5_000,
  keepaliveIntervalMs: 1_000,
  peerSilenceTimeoutMs: 5_000,
  snapshotIdleTimeoutMs: 30_000,
  logRepeatIntervalMs: 30_000,
};
