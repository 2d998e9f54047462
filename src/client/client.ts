/**
 * The typed Armada client: every user-API method with plain TypeScript types.
 *
 * Keys, values and table names accept strings (UTF-8) or bytes; results carry Buffers and numbers.
 * Failed calls throw ArmadaError subclasses (errors.ts). Works against Armada and Regatta servers:
 * `serviceNames: "regatta"` calls the regatta.v1.* names.
 */
import * as grpc from "@grpc/grpc-js";
import type { armada } from "../proto/index.js";
import { toNumber } from "../proto/index.js";
import { CLUSTER_SERVICE, KV_SERVICE, TABLES_SERVICE, type ServiceSpec } from "../proto/services.js";
import { dial, type TlsOptions } from "./channel.js";
import { fromGrpcError } from "./errors.js";

export type Bytes = string | Uint8Array;

export interface ClientOptions {
  /** Which service names to call: Armada's (default) or Regatta's. */
  readonly serviceNames?: "armada" | "regatta";
  /** Bearer token for the Tables service; refused over plaintext connections. */
  readonly token?: string;
  readonly tls?: TlsOptions;
  /** Default deadline per call in ms (none by default: the server applies its own 5 s). */
  readonly timeoutMs?: number;
  /**
   * Compress requests with this encoding; Armada answers in the same one. grpc-js, under this client,
   * has only gzip and deflate (snappy and zstd need a grpc-go client). Default: none.
   */
  readonly compression?: "gzip" | "deflate";
}

/** grpc-js's numbers for `grpc.default_compression_algorithm`. */
const COMPRESSION_ALGORITHMS = { deflate: 1, gzip: 2 } as const;

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface Header { shardId: number; replicaId: number; revision: number; raftTerm: number; raftLeaderId: number }
export interface KeyValue { key: Buffer; value: Buffer }
export interface RangeResult { header: Header; kvs: KeyValue[]; more: boolean; count: number }
export interface RangeOptions extends CallOptions {
  /** Exclusive end; omit for a single key, "\0" for no upper bound. */
  readonly rangeEnd?: Bytes;
  readonly limit?: number;
  readonly linearizable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
}
export interface PutResult { header: Header; prevKv?: KeyValue }
export interface DeleteRangeOptions extends CallOptions { readonly rangeEnd?: Bytes; readonly prevKv?: boolean; readonly count?: boolean }
export interface DeleteRangeResult { header: Header; deleted: number; prevKvs: KeyValue[] }
export interface TxnRequest {
  readonly compare?: armada.v1.ICompare[];
  readonly success?: armada.v1.IRequestOp[];
  readonly failure?: armada.v1.IRequestOp[];
}
export interface TxnResult { header: Header; succeeded: boolean; responses: armada.v1.ResponseOp[] }
export interface TableInfo { name: string; id: string }

/** Encodes a string as UTF-8 bytes; bytes pass through. */
export function bytes(value: Bytes): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The "prefix plus one" end key of a prefix scan (spec §4.2.2). */
export function prefixEnd(prefix: Bytes): Buffer {
  const end = Buffer.from(bytes(prefix));
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function toHeader(header: armada.v1.IResponseHeader | null | undefined): Header {
  return {
    shardId: toNumber(header?.shardId),
    replicaId: toNumber(header?.replicaId),
    revision: toNumber(header?.revision),
    raftTerm: toNumber(header?.raftTerm),
    raftLeaderId: toNumber(header?.raftLeaderId),
  };
}

function toKeyValue(kv: armada.v1.IKeyValue): KeyValue {
  return { key: Buffer.from(kv.key ?? []), value: Buffer.from(kv.value ?? []) };
}

/** A connection to one Armada (or Regatta) API endpoint. */
export class ArmadaClient {
  private readonly client: grpc.Client;
  private readonly secure: boolean;

  constructor(readonly address: string, private readonly options: ClientOptions = {}) {
    const target = dial(address, options.tls);
    this.secure = target.secure;
    const compression = options.compression ? { "grpc.default_compression_algorithm": COMPRESSION_ALGORITHMS[options.compression] } : {};
    this.client = new grpc.Client(target.target, target.credentials, { ...target.options, ...compression });
  }

  close(): void {
    this.client.close();
  }

  async range(table: Bytes, key: Bytes, options: RangeOptions = {}): Promise<RangeResult> {
    const response = (await this.unary(KV_SERVICE, "Range", rangeRequest(table, key, options), options)) as armada.v1.RangeResponse;
    return { header: toHeader(response.header), kvs: response.kvs.map(toKeyValue), more: response.more, count: toNumber(response.count) };
  }

  /** Streams a range from one point-in-time view, one response message at a time. */
  async *iterateRange(table: Bytes, key: Bytes, options: RangeOptions = {}): AsyncGenerator<RangeResult> {
    const call = this.client.makeServerStreamRequest(
      this.path(KV_SERVICE, "IterateRange"),
      (value: object) => Buffer.from(KV_SERVICE.methods.IterateRange!.request.encode(value).finish()),
      (buffer: Buffer) => KV_SERVICE.methods.IterateRange!.response.decode(buffer),
      rangeRequest(table, key, options),
      this.metadata(false),
      this.callOptions(options),
    );
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const message of call as AsyncIterable<armada.v1.RangeResponse>) {
        yield { header: toHeader(message.header), kvs: message.kvs.map(toKeyValue), more: message.more, count: toNumber(message.count) };
      }
    } catch (error) {
      throw fromGrpcError(error);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  async put(table: Bytes, key: Bytes, value: Bytes, options: CallOptions & { prevKv?: boolean } = {}): Promise<PutResult> {
    const request = { table: bytes(table), key: bytes(key), value: bytes(value), prevKv: !!options.prevKv };
    const response = (await this.unary(KV_SERVICE, "Put", request, options)) as armada.v1.PutResponse;
    return { header: toHeader(response.header), ...(response.prevKv ? { prevKv: toKeyValue(response.prevKv) } : {}) };
  }

  async deleteRange(table: Bytes, key: Bytes, options: DeleteRangeOptions = {}): Promise<DeleteRangeResult> {
    const request: armada.v1.IDeleteRangeRequest = { table: bytes(table), key: bytes(key), prevKv: !!options.prevKv, count: !!options.count };
    if (options.rangeEnd !== undefined) request.rangeEnd = bytes(options.rangeEnd);
    const response = (await this.unary(KV_SERVICE, "DeleteRange", request, options)) as armada.v1.DeleteRangeResponse;
    return { header: toHeader(response.header), deleted: toNumber(response.deleted), prevKvs: response.prevKvs.map(toKeyValue) };
  }

  async txn(table: Bytes, txn: TxnRequest, options: CallOptions = {}): Promise<TxnResult> {
    const request = { table: bytes(table), compare: txn.compare ?? [], success: txn.success ?? [], failure: txn.failure ?? [] };
    const response = (await this.unary(KV_SERVICE, "Txn", request, options)) as armada.v1.TxnResponse;
    return { header: toHeader(response.header), succeeded: response.succeeded, responses: response.responses };
  }

  async createTable(name: string, options: CallOptions = {}): Promise<{ id: string }> {
    const response = (await this.unary(TABLES_SERVICE, "Create", { name }, options, true)) as armada.v1.CreateTableResponse;
    return { id: response.id ?? "" };
  }

  async deleteTable(name: string, options: CallOptions = {}): Promise<void> {
    await this.unary(TABLES_SERVICE, "Delete", { name }, options, true);
  }

  async listTables(options: CallOptions = {}): Promise<TableInfo[]> {
    const response = (await this.unary(TABLES_SERVICE, "List", {}, options, true)) as armada.v1.ListTablesResponse;
    return response.tables.map((table) => ({ name: table.name ?? "", id: table.id ?? "" }));
  }

  async memberList(options: CallOptions = {}): Promise<armada.v1.MemberListResponse> {
    return (await this.unary(CLUSTER_SERVICE, "MemberList", {}, options)) as armada.v1.MemberListResponse;
  }

  async status(options: CallOptions & { config?: boolean } = {}): Promise<armada.v1.StatusResponse> {
    return (await this.unary(CLUSTER_SERVICE, "Status", { config: !!options.config }, options)) as armada.v1.StatusResponse;
  }

  private path(service: ServiceSpec, method: string): string {
    const name = this.options.serviceNames === "regatta" ? service.referenceName : service.armadaName;
    return `/${name}/${method}`;
  }

  private metadata(withToken: boolean): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (withToken && this.options.token) {
      if (!this.secure) throw new Error("token requires a TLS connection");
      metadata.set("authorization", `Bearer ${this.options.token}`);
    }
    return metadata;
  }

  private callOptions(options: CallOptions): grpc.CallOptions {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
  }

  private unary(service: ServiceSpec, method: string, request: object, options: CallOptions, withToken = false): Promise<object> {
    const spec = service.methods[method]!;
    return new Promise((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = this.client.makeUnaryRequest(
        this.path(service, method),
        (value: object) => Buffer.from(spec.request.encode(value).finish()),
        (buffer: Buffer) => spec.response.decode(buffer),
        request,
        this.metadata(withToken),
        this.callOptions(options),
        (error, response) => {
          options.signal?.removeEventListener("abort", onAbort);
          if (error) reject(fromGrpcError(error));
          else resolve(response!);
        },
      );
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function rangeRequest(table: Bytes, key: Bytes, options: RangeOptions): armada.v1.IRangeRequest {
  return {
    table: bytes(table),
    key: bytes(key),
    ...(options.rangeEnd !== undefined ? { rangeEnd: bytes(options.rangeEnd) } : {}),
    limit: options.limit ?? 0,
    linearizable: !!options.linearizable,
    keysOnly: !!options.keysOnly,
    countOnly: !!options.countOnly,
  };
}
