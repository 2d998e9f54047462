/**
 * The gRPC services of Armada as data: each service's Armada name, its Regatta name, and its methods
 * with their message types and streaming kinds. The server registers every service under both names
 * from this table; the client builds its calls from it.
 */
import { pb } from "./index.js";

/** A protobufjs message class: what a method needs to encode and decode its messages. */
export interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

export type MethodKind = "unary" | "serverStream" | "clientStream";

export interface MethodSpec {
  readonly kind: MethodKind;
  readonly request: MessageType<object>;
  readonly response: MessageType<object>;
}

export interface ServiceSpec {
  /** Name under which Armada serves the service, e.g. "armada.v1.KV". */
  readonly armadaName: string;
  /** Regatta's name for the same service, e.g. "regatta.v1.KV". */
  readonly referenceName: string;
  readonly methods: Readonly<Record<string, MethodSpec>>;
}

function method(kind: MethodKind, request: MessageType<object>, response: MessageType<object>): MethodSpec {
  return { kind, request, response };
}

export const KV_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.KV",
  referenceName: "regatta.v1.KV",
  methods: {
    Range: method("unary", pb.RangeRequest, pb.RangeResponse),
    IterateRange: method("serverStream", pb.RangeRequest, pb.RangeResponse),
    Put: method("unary", pb.PutRequest, pb.PutResponse),
    DeleteRange: method("unary", pb.DeleteRangeRequest, pb.DeleteRangeResponse),
    Txn: method("unary", pb.TxnRequest, pb.TxnResponse),
  },
};

export const CLUSTER_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Cluster",
  referenceName: "regatta.v1.Cluster",
  methods: {
    MemberList: method("unary", pb.MemberListRequest, pb.MemberListResponse),
    Status: method("unary", pb.StatusRequest, pb.StatusResponse),
  },
};

export const TABLES_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Tables",
  referenceName: "regatta.v1.Tables",
  methods: {
    Create: method("unary", pb.CreateTableRequest, pb.CreateTableResponse),
    Delete: method("unary", pb.DeleteTableRequest, pb.DeleteTableResponse),
    List: method("unary", pb.ListTablesRequest, pb.ListTablesResponse),
  },
};

export const METADATA_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Metadata",
  referenceName: "replication.v1.Metadata",
  methods: { Get: method("unary", pb.MetadataRequest, pb.MetadataResponse) },
};

export const SNAPSHOT_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Snapshot",
  referenceName: "replication.v1.Snapshot",
  methods: { Stream: method("serverStream", pb.SnapshotRequest, pb.SnapshotChunk) },
};

export const LOG_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Log",
  referenceName: "replication.v1.Log",
  methods: { Replicate: method("serverStream", pb.ReplicateRequest, pb.ReplicateResponse) },
};

export const MAINTENANCE_SERVICE: ServiceSpec = {
  armadaName: "armada.v1.Maintenance",
  referenceName: "maintenance.v1.Maintenance",
  methods: {
    Backup: method("serverStream", pb.BackupRequest, pb.SnapshotChunk),
    Restore: method("clientStream", pb.RestoreMessage, pb.RestoreResponse),
    Reset: method("unary", pb.ResetRequest, pb.ResetResponse),
  },
};
