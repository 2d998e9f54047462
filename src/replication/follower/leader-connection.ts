/**
 * The follower's one connection to the leader cluster's replication endpoint (spec §9.5, §2.2): calls use
 * the reference service names, which both a Regatta and an Armada leader serve; gzip on every call; the
 * receive limit and keepalive of the follower flags; Replicate waits for the connection to be ready.
 */
import * as grpc from "@grpc/grpc-js";
import { dialWithClientTls, type ClientDial, type ClientTlsSettings } from "../../security/client-tls.js";
import type { SecurityLog } from "../../security/tls-listener.js";
import { pb, type armada } from "../../proto/index.js";

/** Keepalive pings are never more frequent than this (spec §9.5). */
export const KEEPALIVE_TIME_MIN_MS = 10_000;
/** Deadline of Metadata/Get (spec §9.6). */
export const METADATA_DEADLINE_MS = 5000;
/** grpc-js's number for gzip in `grpc.default_compression_algorithm`. */
const GZIP = 2;
/**
 * The longest wait between two attempts to reach the leader. grpc-js waits 1 s after a failed attempt and
 * 1.6 times longer after each further one, up to 120 s by default: a leader node down for half a minute
 * (killed, restarted, replaying its log) left the follower waiting up to a minute more after it was back,
 * with every poll failing meanwhile. Capped, the follower is pulling again within 5 s of the leader's return,
 * at the cost of one connection attempt per 5 s per follower node while the leader is away.
 */
export const LEADER_RECONNECT_BACKOFF_MAX_MS = 5000;

export interface LeaderConnectionOptions {
  readonly address: string;
  readonly tls: ClientTlsSettings;
  /** Receives the TLS client's reports (a rotated client certificate that cannot be loaded). */
  readonly log?: SecurityLog;
  readonly maxRecvMessageBytes: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

type Serialize = (value: object) => Buffer;
type Deserialize = (bytes: Buffer) => object;

function codec<T extends object>(type: { encode(value: T): { finish(): Uint8Array }; decode(bytes: Uint8Array): T }): { serialize: Serialize; deserialize: Deserialize } {
  return {
    serialize: (value) => Buffer.from(type.encode(value as T).finish()),
    deserialize: (bytes) => type.decode(bytes),
  };
}

const METADATA = codec(pb.MetadataRequest);
const METADATA_RESPONSE = codec(pb.MetadataResponse);
const REPLICATE = codec(pb.ReplicateRequest);
const REPLICATE_RESPONSE = codec(pb.ReplicateResponse);
const SNAPSHOT = codec(pb.SnapshotRequest);
const SNAPSHOT_CHUNK = codec(pb.SnapshotChunk);

/** The KV methods a follower forwards, with their message types (spec §10.2). */
export const FORWARDED_METHODS = {
  Put: { request: codec(pb.PutRequest), response: codec(pb.PutResponse) },
  DeleteRange: { request: codec(pb.DeleteRangeRequest), response: codec(pb.DeleteRangeResponse) },
  Txn: { request: codec(pb.TxnRequest), response: codec(pb.TxnResponse) },
} as const;
export type ForwardedMethod = keyof typeof FORWARDED_METHODS;

/** The options of the follower's channel to the leader (`dialOptions`: the TLS dial's own). */
export function leaderChannelOptions(options: LeaderConnectionOptions, dialOptions: grpc.ChannelOptions = {}): grpc.ChannelOptions {
  return {
    ...dialOptions,
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": options.maxRecvMessageBytes > 0 ? options.maxRecvMessageBytes : -1,
    "grpc.default_compression_algorithm": GZIP,
    "grpc.keepalive_time_ms": Math.max(KEEPALIVE_TIME_MIN_MS, options.keepaliveTimeMs),
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_reconnect_backoff_ms": LEADER_RECONNECT_BACKOFF_MAX_MS,
    // A DNS name with several addresses (a leader cluster behind one name): spread calls over all of them.
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  };
}

export class LeaderConnection {
  private readonly client: grpc.Client;
  private readonly dial: ClientDial;

  constructor(readonly options: LeaderConnectionOptions) {
    // Validates the TLS files at once: a bad client certificate fails startup, not the first poll.
    const target = dialWithClientTls(options.address, options.tls, options.log ? { log: options.log } : {});
    this.dial = target;
    this.client = new grpc.Client(target.target, target.credentials, leaderChannelOptions(options, target.options));
  }

  /** The leader's tables (Metadata/Get, 5 s deadline). */
  metadata(): Promise<armada.v1.MetadataResponse> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        "/replication.v1.Metadata/Get",
        METADATA.serialize,
        METADATA_RESPONSE.deserialize,
        {},
        new grpc.Metadata(),
        { deadline: Date.now() + METADATA_DEADLINE_MS },
        (error, response) => (error ? reject(error) : resolve(response as armada.v1.MetadataResponse)),
      );
    });
  }

  /** Log/Replicate from `leaderIndex` on; waits for the connection until the deadline (spec §9.5). */
  replicate(table: string, leaderIndex: number, deadlineMs: number, signal: AbortSignal): AsyncIterable<armada.v1.ReplicateResponse> {
    const call = this.client.makeServerStreamRequest(
      "/replication.v1.Log/Replicate",
      REPLICATE.serialize,
      REPLICATE_RESPONSE.deserialize,
      { table: Buffer.from(table, "utf8"), leaderIndex },
      new grpc.Metadata({ waitForReady: true }),
      { deadline: Date.now() + deadlineMs },
    );
    return cancellable(call, signal) as AsyncIterable<armada.v1.ReplicateResponse>;
  }

  /** Snapshot/Stream of `table`, bounded by `deadlineMs`. */
  snapshot(table: string, deadlineMs: number, signal: AbortSignal): AsyncIterable<armada.v1.SnapshotChunk> {
    const call = this.client.makeServerStreamRequest(
      "/replication.v1.Snapshot/Stream",
      SNAPSHOT.serialize,
      SNAPSHOT_CHUNK.deserialize,
      { table: Buffer.from(table, "utf8") },
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
    );
    return cancellable(call, signal) as AsyncIterable<armada.v1.SnapshotChunk>;
  }

  /** Sends a write to the leader cluster's KV service (spec §10.2), bounded by the caller's signal and deadline. */
  forward(method: ForwardedMethod, request: object, deadline: Date | number, signal: AbortSignal): Promise<object> {
    const types = FORWARDED_METHODS[method];
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(
        `/regatta.v1.KV/${method}`,
        types.request.serialize,
        types.response.deserialize,
        request,
        new grpc.Metadata(),
        { deadline },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
      signal.addEventListener("abort", () => call.cancel(), { once: true });
    });
  }

  close(): void {
    this.client.close();
    this.dial.close();
  }
}

/** The call's messages; aborting `signal` cancels the call. */
async function* cancellable(call: grpc.ClientReadableStream<object>, signal: AbortSignal): AsyncIterable<object> {
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of call as AsyncIterable<object>) yield message;
  } finally {
    signal.removeEventListener("abort", onAbort);
    call.cancel();
  }
}

/** The gRPC status code of a failed call, or undefined when the failure carries none. */
export function grpcCode(error: unknown): grpc.status | undefined {
  if (error && typeof error === "object" && "code" in error && typeof (error as { code: unknown }).code === "number") {
    return (error as { code: grpc.status }).code;
  }
  return undefined;
}
